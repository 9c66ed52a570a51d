#!/usr/bin/env bash
# Install, start and stop the local BigQuery emulator (PyPI local-bigquery 0.4.0).
#
#   scripts/bigquery-emulator.sh install
#   set -a; eval "$(scripts/bigquery-emulator.sh start [--port P] [--grpc-port G]
#           [--data-dir DIR] [--project test-proj] [--dataset D])"; set +a
#   scripts/bigquery-emulator.sh stop [DIR]     # DIR defaults to $BQ_EMULATOR_DATA_DIR
#
# Everything binds to and is aimed at 127.0.0.1 only. `start` prints only
# shell-eval-able KEY=value lines on stdout (set -a exports them to child processes);
# all progress goes to stderr.
# See docs/emulators.md for what the emulator does and where it differs from BigQuery.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIREMENTS="$SCRIPT_DIR/requirements-bq-emulator.txt"
TOOLS_DIR="${PIPELINE_TOOLS_DIR:-$HOME/.cache/pipeline-tools}/bq-emulator"
VENV="$TOOLS_DIR/venv"
# DuckDB looks for extensions under $HOME/.duckdb; a private HOME keeps the emulator's
# extension files (and anything else it writes there) out of the user's real HOME.
PRIVATE_HOME="$TOOLS_DIR/home"
DUCKDB_VERSION="1.5.5"
STAMP="$TOOLS_DIR/installed.stamp"
START_TIMEOUT="${BQ_EMULATOR_START_TIMEOUT:-60}"

log() { printf 'bigquery-emulator: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# DuckDB names its extension directories by platform, not by uname.
duckdb_platform() {
  case "$(uname -m)" in
    x86_64) echo linux_amd64 ;;
    aarch64 | arm64) echo linux_arm64 ;;
    *) die "unsupported machine $(uname -m): no duckdb extension wheels for it" ;;
  esac
}

find_python313() {
  local candidate
  for candidate in "${PYTHON313:-}" \
    "$HOME/.pyenv/versions/3.13.0/bin/python3" \
    "${PYENV_ROOT:-/nonexistent}/versions/3.13.0/bin/python3" \
    "$(command -v python3.13 || true)"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then
      echo "$candidate"
      return 0
    fi
  done
  die "Python 3.13 not found: local-bigquery 0.4.0 needs >=3.13. Set PYTHON313=/path/to/python3.13
  (pyenv: 'pyenv install 3.13.0' gives \$HOME/.pyenv/versions/3.13.0/bin/python3)"
}

# The stamp records what was installed, so a changed lock file or Python reinstalls.
wanted_stamp() {
  local python="$1"
  printf '%s\n%s\n' "$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)" \
    "$("$python" -c 'import sys; print(sys.version)')"
}

ext_dir() { echo "$PRIVATE_HOME/.duckdb/extensions/v$DUCKDB_VERSION/$(duckdb_platform)"; }

cmd_install() {
  local python ext_dir site ext name
  python="$(find_python313)"
  ext_dir="$(ext_dir)"
  if [[ -f "$STAMP" && -x "$VENV/bin/local-bigquery" ]] \
    && [[ "$(cat "$STAMP")" == "$(wanted_stamp "$python")" ]] \
    && [[ -f "$ext_dir/icu.duckdb_extension" ]]; then
    log "already installed in $TOOLS_DIR"
    return 0
  fi
  log "installing into $TOOLS_DIR with $python"
  # Start from an empty venv: a half-finished earlier install must not leak into this one.
  rm -rf "$VENV" "$STAMP"
  mkdir -p "$TOOLS_DIR"
  "$python" -m venv "$VENV"
  # --no-deps: the lock file is complete and deliberately overrides local-bigquery's
  # duckdb>=2.0.0 (see the comment at the top of the requirements file).
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    -r "$REQUIREMENTS" >&2
  # The extension wheels only ship the files; DuckDB loads them from $HOME/.duckdb
  # without network, which is the only way here (autoload would try to download).
  mkdir -p "$ext_dir"
  site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  for name in icu ducklake spatial; do
    ext="$site/duckdb_extension_$name/extensions/v$DUCKDB_VERSION/$name.duckdb_extension"
    [[ -f "$ext" ]] || die "extension file missing after install: $ext"
    cp -f "$ext" "$ext_dir/"
  done
  wanted_stamp "$python" >"$STAMP"
  log "installed local-bigquery $("$VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("local-bigquery"))')"
}

# Two distinct free loopback ports chosen by the kernel. They are released before the
# emulator binds them, so another process could take one in between; start fails loudly
# then (the emulator exits and its log is shown) rather than talking to a stranger.
free_ports() {
  "$VENV/bin/python" - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  local port="" grpc_port="" data_dir="" project="test-proj" dataset="" pid
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --grpc-port) grpc_port="${2:?--grpc-port needs a value}"; shift 2 ;;
      --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
      --project) project="${2:?--project needs a value}"; shift 2 ;;
      --dataset) dataset="${2:?--dataset needs a value}"; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  command -v curl >/dev/null \
    || die "curl is needed to wait for the emulator (apt-get install curl)"
  cmd_install
  if [[ -z "$port" || -z "$grpc_port" ]]; then
    local ports
    read -r -a ports <<<"$(free_ports)"
    port="${port:-${ports[0]}}"
    grpc_port="${grpc_port:-${ports[1]}}"
  fi
  [[ "$port" != "$grpc_port" ]] || die "--port and --grpc-port must differ"
  # Another server already on a port would answer the readiness probe in our place.
  local p
  for p in "$port" "$grpc_port"; do
    ! port_open "$p" || die "127.0.0.1:$p is already in use"
  done
  if [[ -z "$data_dir" ]]; then
    data_dir="$(mktemp -d "${TMPDIR:-/tmp}/bq-emulator.XXXXXX")"
  fi
  mkdir -p "$data_dir"
  data_dir="$(cd "$data_dir" && pwd)"
  if [[ -f "$data_dir/bq-emulator.pid" ]] && is_ours "$(cat "$data_dir/bq-emulator.pid")"; then
    die "already running for $data_dir (pid $(cat "$data_dir/bq-emulator.pid"))"
  fi
  local -a args=(serve --host 127.0.0.1 --port "$port" --grpc-port "$grpc_port"
    --project "$project" --data-dir "$data_dir")
  [[ -z "$dataset" ]] || args+=(--dataset "$dataset")
  # setsid: its own session, so a Ctrl-C meant for the caller's foreground job does not
  # reach it; stop it with `stop`. All fds redirected so `$(...)` callers do not hang.
  HOME="$PRIVATE_HOME" setsid "$VENV/bin/local-bigquery" "${args[@]}" \
    </dev/null >"$data_dir/bq-emulator.log" 2>&1 &
  pid=$!
  echo "$pid" >"$data_dir/bq-emulator.pid"
  local url="http://127.0.0.1:$port/bigquery/v2/projects/$project/datasets" deadline code
  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$data_dir/bq-emulator.log" >&2 || true
      rm -f "$data_dir/bq-emulator.pid"
      die "emulator exited during start (log: $data_dir/bq-emulator.log)"
    fi
    # --noproxy: an inherited http_proxy must never carry loopback traffic elsewhere.
    code="$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)"
    # Still alive after answering: a process that lost a bind race exits shortly after.
    if [[ "$code" == 200 ]] && port_open "$grpc_port" && sleep 0.2 \
      && kill -0 "$pid" 2>/dev/null; then
      break
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$data_dir/bq-emulator.log" >&2 || true
      stop_pid "$pid"
      rm -f "$data_dir/bq-emulator.pid"
      die "emulator not ready after ${START_TIMEOUT}s (last HTTP status: ${code:-none})"
    fi
    sleep 0.2
  done
  log "ready: REST 127.0.0.1:$port, gRPC 127.0.0.1:$grpc_port, pid $pid, data $data_dir"
  printf 'BQ_EMULATOR_REST=http://127.0.0.1:%s\n' "$port"
  printf 'BQ_EMULATOR_GRPC=http://127.0.0.1:%s\n' "$grpc_port"
  printf 'BQ_EMULATOR_PROJECT=%q\n' "$project"
  printf 'BQ_EMULATOR_PID=%s\n' "$pid"
  printf 'BQ_EMULATOR_DATA_DIR=%q\n' "$data_dir"
}

# A pid file can outlive its process and the pid be reused: only signal our emulator.
is_ours() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'local-bigquery'
}

stop_pid() {
  local pid="$1" _
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "pid $pid ignored SIGTERM for 10s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
  local data_dir="${1:-${BQ_EMULATOR_DATA_DIR:-}}" pid_file pid
  [[ "$data_dir" != "--data-dir" ]] || data_dir="${2:-}"
  [[ -n "$data_dir" ]] || die "stop: give the data dir (or set BQ_EMULATOR_DATA_DIR)"
  pid_file="$data_dir/bq-emulator.pid"
  [[ -f "$pid_file" ]] || { log "no pid file in $data_dir: nothing to stop"; return 0; }
  pid="$(cat "$pid_file")"
  if is_ours "$pid"; then
    stop_pid "$pid"
    log "stopped pid $pid"
  else
    log "pid $pid is not a running local-bigquery: removing stale pid file"
  fi
  rm -f "$pid_file"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown command $cmd (install | start | stop)" ;;
  esac
}

main "$@"
