#!/usr/bin/env bash
# Offline static checks of everything that deploys the pipeline: Terraform,
# workflows, Dockerfiles, shell scripts and the Rust dependency graph.
#
# Usage: scripts/check-static.sh [CHECK...]     (no argument: all checks)
# Checks: terraform-fmt terraform-policy workflow-policy checkov trivy actionlint
#         zizmor workflow-schema hadolint shellcheck cargo-deny
#
# Prints one PASS/FAIL line per check (a failure's output follows it) and ends
# with "N passed, N failed"; exits non-zero when any check failed.
#
# Environment:
#   PIPELINE_TOOLS_DIR        tools from scripts/install-check-tools.sh
#                             (default $HOME/.cache/pipeline-tools)
#   PIPELINE_SKIP_TOOL_INSTALL=1  do not run the (idempotent) installer first
#   RUSTSEC_DB_TARBALL        RustSec advisory-db snapshot for cargo-deny
#                             (default <repo>/../shared/security/rustsec-advisory-db.tar.gz)
#   PIPELINE_DENY_ONLINE=1    let cargo-deny fetch the advisory database itself
#                             (GitHub's runners, which have no ../shared)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}"
rustsec_tarball="${RUSTSEC_DB_TARBALL:-$repo_root/../shared/security/rustsec-advisory-db.tar.gz}"
all_checks=(terraform-fmt terraform-policy workflow-policy checkov trivy actionlint
  zizmor workflow-schema hadolint shellcheck cargo-deny)

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

cd "$repo_root"

if [[ -z "${PIPELINE_SKIP_TOOL_INSTALL:-}" ]]; then
  "$repo_root/scripts/install-check-tools.sh"
fi
export PATH="$tools_dir/bin:$PATH"
# Trivy keeps its cache (and finds no check bundle there, so it uses the checks
# built into the binary) inside the tools dir, never in the repository.
export TRIVY_CACHE_DIR="$tools_dir/trivy-cache"

# --- the checks --------------------------------------------------------------
# Each runs inside `if`, where set -e does not apply: every command that can fail
# is followed by `|| rc=1` (keep going, report all) or `|| return 1`.

check_terraform_fmt() {
  terraform fmt -check -recursive -diff terraform
}

check_terraform_policy() {
  # Plain python -m pytest: no cache dir in the repo, no plugins from elsewhere.
  "$tools_dir/venv/bin/python" -m pytest -q -p no:cacheprovider tests/terraform
}

check_workflow_policy() {
  # Workflows, Dockerfiles and scripts/rollout.sh (against a fake gcloud): the
  # rules the linters do not know.
  "$tools_dir/venv/bin/python" -m pytest -q -p no:cacheprovider tests/ci
}

check_checkov() {
  local common=(--skip-download --compact --quiet) rc=0
  checkov -d terraform --framework terraform "${common[@]}" || rc=1
  checkov -d .github/workflows --framework github_actions "${common[@]}" || rc=1
  checkov -f Dockerfile.api -f Dockerfile.ingest --framework dockerfile "${common[@]}" || rc=1
  return "$rc"
}

check_trivy() {
  local common=(--skip-check-update --skip-version-check --disable-telemetry
    --severity "HIGH,CRITICAL" --exit-code 1)
  local env rc=0
  # Each env root with its own tfvars, so modules are evaluated with real values.
  for env in terraform/envs/*/; do
    trivy config "${common[@]}" --tf-vars "${env}terraform.tfvars" "$env" || rc=1
  done
  trivy config "${common[@]}" Dockerfile.api || rc=1
  trivy config "${common[@]}" Dockerfile.ingest || rc=1
  return "$rc"
}

check_actionlint() {
  # actionlint also runs shellcheck on every run: block (shellcheck is on PATH).
  actionlint .github/workflows/*.yml
}

check_zizmor() {
  zizmor --offline .github/workflows
}

check_workflow_schema() {
  check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
}

check_hadolint() {
  hadolint Dockerfile.api Dockerfile.ingest
}

check_shellcheck() {
  local files=()
  local f
  while IFS= read -r -d '' f; do
    files+=("$f")
  done < <(find . \( -path ./target -o -path ./.git -o -name node_modules \) -prune \
    -o -type f -name '*.sh' -print0)
  # Scripts without the .sh suffix that CI runs.
  for f in scripts/test .ci/run; do
    [[ -f "$f" ]] && files+=("$f")
  done
  printf 'shellcheck: %s files\n' "${#files[@]}"
  shellcheck -x "${files[@]}"
}

check_cargo_deny() {
  if [[ ! -f Cargo.toml || ! -f Cargo.lock ]]; then
    echo "cargo-deny: no Cargo.toml/Cargo.lock at $repo_root: the Rust workspace is missing"
    return 1
  fi
  # cargo-deny reads the graph through cargo metadata, which needs the crates'
  # manifests locally; fetch them from crates.io only when they are missing.
  if ! cargo metadata --format-version 1 --locked --offline >/dev/null 2>&1; then
    echo "cargo-deny: crates missing locally, cargo fetch --locked"
    cargo fetch --locked || return 1
  fi

  if [[ -n "${PIPELINE_DENY_ONLINE:-}" ]]; then
    cargo-deny --locked check
    return
  fi

  if [[ ! -f "$rustsec_tarball" ]]; then
    echo "cargo-deny: no advisory database at $rustsec_tarball (set RUSTSEC_DB_TARBALL)"
    return 1
  fi
  # cargo-deny looks for the clone in a folder named after the URL's hash; the
  # snapshot is unpacked there and deny.toml's db-path pointed at it.
  local db="$work_dir/advisory-dbs"
  mkdir -p "$db/advisory-db-3157b0e258782691" || return 1
  tar -xzf "$rustsec_tarball" -C "$db/advisory-db-3157b0e258782691" || return 1
  sed "s|^db-path = .*|db-path = \"$db\"|" deny.toml >"$work_dir/deny.toml" || return 1
  cargo-deny --frozen --config "$work_dir/deny.toml" check
}

# --- runner --------------------------------------------------------------------

run_check() {
  local name="$1" log="$work_dir/$1.log" start=$SECONDS
  if "check_${name//-/_}" >"$log" 2>&1; then
    printf 'PASS %-17s %4ss\n' "$name" "$((SECONDS - start))"
    passed+=("$name")
  else
    printf 'FAIL %-17s %4ss\n' "$name" "$((SECONDS - start))"
    # The tail is where tools put their verdict; the full log would drown it.
    tail -n 80 "$log" | sed 's/^/    /'
    failed+=("$name")
  fi
}

main() {
  local checks=("$@")
  [[ ${#checks[@]} -gt 0 ]] || checks=("${all_checks[@]}")
  local c
  for c in "${checks[@]}"; do
    if ! declare -F "check_${c//-/_}" >/dev/null; then
      echo "unknown check: $c (known: ${all_checks[*]})" >&2
      exit 2
    fi
  done

  passed=()
  failed=()
  for c in "${checks[@]}"; do
    run_check "$c"
  done
  printf 'static checks took %ss\n' "$SECONDS"
  printf '%d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
  [[ ${#failed[@]} -eq 0 ]]
}

main "$@"
