#!/usr/bin/env bash
# /data under load, with the page cache on and off: starts `pipeline up` (release) on
# free 127.0.0.1 ports over a temporary store, publishes the first N flights, then runs
# `pipeline-load` (bounded: LOAD_REQUESTS requests at LOAD_CONCURRENCY) for each cache
# setting and prints its SLO verdict. Figures go to docs/benchmarks.md.
#
#   scripts/load-slo.sh            # 20,000 rows, 5,000 requests, 32 clients
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${LOAD_ROWS:-20000}
REQUESTS=${LOAD_REQUESTS:-5000}
CONCURRENCY=${LOAD_CONCURRENCY:-32}
CSV=${FLIGHTS_CSV:-$ROOT/../shared/data/flights_scl_2017.csv}
BIN=$ROOT/target/release
# The services' binary; override to measure another build (e.g. target/debug/pipeline).
PIPELINE=${PIPELINE_BIN:-$BIN/pipeline}

if [[ -z ${LOAD_SKIP_BUILD:-} ]]; then
    cargo build --release --quiet -p pipeline --bins --manifest-path "$ROOT/Cargo.toml"
fi
work=$(mktemp -d)
pid=
stop() {
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    pid=
}
trap 'stop; rm -rf "$work"' EXIT

up() { # $1: cache TTL in ms
    PIPELINE_CACHE_TTL_MS=$1 "$PIPELINE" up --bind 127.0.0.1 --ingest-port 0 \
        --api-port 0 --schema "$ROOT/schemas/flights.json" --data-dir "$work/data" \
        >"$work/up.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do grep -q '^READY ' "$work/up.log" && break; sleep 0.1; done
    ready=$(grep '^READY ' "$work/up.log")
    ingest=$(sed -E 's/.*ingest=([^ ]+).*/\1/' <<<"$ready")
    api=$(sed -E 's/.*data_api=([^ ]+).*/\1/' <<<"$ready")
}

up 2000
"$PIPELINE" publish "$CSV" --url "http://$ingest/pubsub/push" --limit "$ROWS" \
    --mapping "$ROOT/schemas/flights.csv-mapping.json"
status=0
for ttl in 2000 0; do
    stop
    up "$ttl"
    echo "== cache TTL ${ttl} ms: $REQUESTS requests, $CONCURRENCY clients"
    "$BIN/pipeline-load" --url "http://$api" --requests "$REQUESTS" \
        --concurrency "$CONCURRENCY" || status=1
done
exit $status
