#!/usr/bin/env bash
# Property-based API tests: schemathesis generates requests from the OpenAPI documents
# the services serve and checks that no answer is a 5xx and every answer matches the
# document. Starts `pipeline up` itself on free 127.0.0.1 ports over a temporary store.
#
#   scripts/schemathesis.sh                 # 100 examples per operation
#   ST_MAX_EXAMPLES=1000 scripts/schemathesis.sh
#
# schemathesis is installed (pinned) into a venv under
# ${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}.
set -euo pipefail

VERSION=4.32.5
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}
VENV=$TOOLS/schemathesis-$VERSION
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-100}

if [[ ! -x $VENV/bin/st ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$VERSION"
fi

cargo build --quiet -p pipeline --bin pipeline --manifest-path "$ROOT/Cargo.toml"
work=$(mktemp -d)
log=$work/up.log
pipeline_bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/pipeline"
"$pipeline_bin" up --bind 127.0.0.1 --ingest-port 0 --api-port 0 \
    --schema "$ROOT/schemas/example_table.json" --data-dir "$work/data" >"$log" 2>&1 &
pid=$!
# shellcheck disable=SC2317 # run by the EXIT trap below
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 100); do
    grep -q '^READY ' "$log" && break
    sleep 0.1
done
ready=$(grep '^READY ' "$log") || { cat "$log"; echo "pipeline up did not start" >&2; exit 1; }
ingest=$(sed -E 's/.*ingest=([^ ]+).*/\1/' <<<"$ready")
api=$(sed -E 's/.*data_api=([^ ]+).*/\1/' <<<"$ready")

# schemathesis writes a .schemathesis/ cache into its working folder: keep it out of the tree.
cd "$work"
status=0
for target in "$ingest" "$api"; do
    echo "== schemathesis against http://$target/openapi.json ($MAX_EXAMPLES examples)"
    "$VENV/bin/st" run "http://$target/openapi.json" \
        --url "http://$target" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance \
        --max-examples "$MAX_EXAMPLES" \
        --phases examples,coverage,fuzzing \
        --no-color || status=1
done
exit $status
