#!/usr/bin/env bash
# Check the monitoring config offline: Prometheus rules, their unit tests, the Grafana
# dashboard, and the formatting of the Terraform monitoring module.
#
# Installs what it needs into a tools dir, once: promtool from Debian's prometheus
# package (unpacked, never installed or started), and a Python venv with pinned pytest
# and PyYAML. Prints every command it runs; exits non-zero on the first failure.
#
#   scripts/check-monitoring.sh
#   PIPELINE_TOOLS_DIR=/some/dir scripts/check-monitoring.sh
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_dir=${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}

# Pinned so that a new release cannot change what passes. promtool is not pinned: Debian
# replaces a package version with its security update, and an old one cannot be fetched.
python_requirements=(pytest==9.2.0 PyYAML==6.0.3)

promtool_dir=$tools_dir/prometheus
promtool=$promtool_dir/usr/bin/promtool
venv=$tools_dir/monitoring-venv

# Scratch dir for the downloaded .deb, removed on any exit.
download=""
trap 'if [[ -n $download ]]; then rm -rf "$download"; fi' EXIT

run() {
    echo "+ $*" >&2
    "$@"
}

install_promtool() {
    if [[ -x $promtool ]]; then
        return
    fi
    download=$(mktemp -d)
    # As root, apt warns that it downloads "unsandboxed" because its _apt user cannot
    # write to this private dir: harmless, and better than a world-writable one.
    # apt-get download fetches the .deb without installing it. With no package lists
    # yet (a fresh machine) it finds nothing, so refresh them once and try again.
    if ! (cd "$download" && run apt-get download prometheus); then
        run apt-get update
        (cd "$download" && run apt-get download prometheus)
    fi
    mkdir -p "$promtool_dir"
    run dpkg-deb -x "$download"/prometheus_*.deb "$promtool_dir"
}

install_python_tools() {
    local marker=$venv/requirements.txt
    # The marker holds the pins the venv was built with: a changed pin rebuilds it.
    if [[ -f $marker ]] && [[ $(cat "$marker") == "${python_requirements[*]}" ]]; then
        return
    fi
    rm -rf "$venv"
    run python3 -m venv "$venv"
    run "$venv/bin/pip" install --quiet --disable-pip-version-check "${python_requirements[@]}"
    echo "${python_requirements[*]}" >"$marker"
}

check_terraform_format() {
    local module=$repo_root/terraform/modules/monitoring
    if ! command -v terraform >/dev/null; then
        # Formatting only; no provider can be downloaded here, so no validate either.
        echo "skip: terraform not installed, $module not format-checked" >&2
        return
    fi
    run terraform fmt -check -diff "$module"
}

main() {
    local started=$SECONDS
    cd "$repo_root"
    install_promtool
    install_python_tools
    run "$promtool" --version

    run "$promtool" check rules monitoring/prometheus/rules.yml
    run "$promtool" test rules monitoring/prometheus/tests/*.yml
    # No cache or bytecode files left in the work tree.
    PROMTOOL=$promtool PYTHONDONTWRITEBYTECODE=1 \
        run "$venv/bin/pytest" -q -p no:cacheprovider monitoring/tests
    check_terraform_format

    echo "check-monitoring: all checks passed in $((SECONDS - started))s" >&2
}

main "$@"
