#!/usr/bin/env bash
# Start and stop Google's Pub/Sub emulator on 127.0.0.1.
#
#   scripts/pubsub-emulator.sh check                 # is it installed? which package if not
#   set -a; eval "$(scripts/pubsub-emulator.sh start [--port P] [--data-dir DIR])"; set +a
#   scripts/pubsub-emulator.sh stop [DIR]       # DIR defaults to $PUBSUB_EMULATOR_DATA_DIR
#
# The emulator keeps everything in memory; DIR only holds its pid file and log. `start`
# prints only shell-eval-able KEY=value lines on stdout; progress goes to stderr.
set -euo pipefail

DEFAULT_EMULATOR=/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator
EMULATOR="${PUBSUB_EMULATOR_BIN:-$DEFAULT_EMULATOR}"
START_TIMEOUT="${PUBSUB_EMULATOR_START_TIMEOUT:-60}"

log() { printf 'pubsub-emulator: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Nothing is installed here: the emulator comes with the machine image. Say exactly what
# is missing and where it comes from, rather than fail later with a bare "not found".
cmd_check() {
  [[ -x "$EMULATOR" ]] || die "$EMULATOR not found. It is Debian package
  google-cloud-cli-pubsub-emulator from Google's Cloud SDK apt repository (not in
  Debian's own repositories, which are the only ones reachable here): the machine image
  must provide it. Set PUBSUB_EMULATOR_BIN to use another copy."
  command -v java >/dev/null || die "java not found: the emulator needs Java 17 or later
  (apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)"
  [[ "${major:-0}" -ge 17 ]] 2>/dev/null \
    || die "java ${major:-unknown} found; the emulator needs 17 or later (openjdk-17-jre-headless)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1]); s.close()'
}

is_ours() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'pubsub-emulator'
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

cmd_start() {
  local port="" data_dir="" pid
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --data-dir) data_dir="${2:?--data-dir needs a value}"; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  cmd_check
  command -v curl >/dev/null \
    || die "curl is needed to wait for the emulator (apt-get install curl)"
  # A kernel-chosen free port; released before the emulator binds it, so a race loses
  # loudly (the emulator exits and its log is shown), never silently.
  port="${port:-$(free_port)}"
  # Another server already on the port would answer the readiness probe in our place.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "127.0.0.1:$port is already in use"
  if [[ -z "$data_dir" ]]; then
    data_dir="$(mktemp -d "${TMPDIR:-/tmp}/pubsub-emulator.XXXXXX")"
  fi
  mkdir -p "$data_dir"
  data_dir="$(cd "$data_dir" && pwd)"
  if [[ -f "$data_dir/pubsub-emulator.pid" ]] \
    && is_ours "$(cat "$data_dir/pubsub-emulator.pid")"; then
    die "already running for $data_dir (pid $(cat "$data_dir/pubsub-emulator.pid"))"
  fi
  # The launcher script execs java, so $! is the JVM itself. setsid keeps a Ctrl-C for
  # the caller's job away from it; all fds redirected so `$(...)` callers do not hang.
  setsid "$EMULATOR" --host=127.0.0.1 --port="$port" \
    </dev/null >"$data_dir/pubsub-emulator.log" 2>&1 &
  pid=$!
  echo "$pid" >"$data_dir/pubsub-emulator.pid"
  local deadline code
  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$data_dir/pubsub-emulator.log" >&2 || true
      rm -f "$data_dir/pubsub-emulator.pid"
      die "emulator exited during start (log: $data_dir/pubsub-emulator.log)"
    fi
    # The emulator answers "Ok" on / once it serves; --noproxy keeps it on loopback.
    code="$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 2 \
      "http://127.0.0.1:$port/" || true)"
    [[ "$code" != 200 ]] || break
    # A failed bind kills only the JVM's main thread; the process lives on, useless.
    if grep -q 'BindException' "$data_dir/pubsub-emulator.log"; then
      tail -n 30 "$data_dir/pubsub-emulator.log" >&2 || true
      stop_pid "$pid"
      rm -f "$data_dir/pubsub-emulator.pid"
      die "emulator could not bind 127.0.0.1:$port"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$data_dir/pubsub-emulator.log" >&2 || true
      stop_pid "$pid"
      rm -f "$data_dir/pubsub-emulator.pid"
      die "emulator not ready after ${START_TIMEOUT}s (last HTTP status: ${code:-none})"
    fi
    sleep 0.2
  done
  log "ready: 127.0.0.1:$port, pid $pid, dir $data_dir"
  printf 'PUBSUB_EMULATOR_HOST=127.0.0.1:%s\n' "$port"
  printf 'PUBSUB_EMULATOR_PID=%s\n' "$pid"
  printf 'PUBSUB_EMULATOR_DATA_DIR=%q\n' "$data_dir"
}

cmd_stop() {
  local data_dir="${1:-${PUBSUB_EMULATOR_DATA_DIR:-}}" pid_file pid
  [[ "$data_dir" != "--data-dir" ]] || data_dir="${2:-}"
  [[ -n "$data_dir" ]] || die "stop: give the dir (or set PUBSUB_EMULATOR_DATA_DIR)"
  pid_file="$data_dir/pubsub-emulator.pid"
  [[ -f "$pid_file" ]] || { log "no pid file in $data_dir: nothing to stop"; return 0; }
  pid="$(cat "$pid_file")"
  if is_ours "$pid"; then
    stop_pid "$pid"
    log "stopped pid $pid"
  else
    log "pid $pid is not a running Pub/Sub emulator: removing stale pid file"
  fi
  rm -f "$pid_file"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"
  shift
  case "$cmd" in
    check) cmd_check && log "ok: $EMULATOR, $(java -version 2>&1 | head -n 1)" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    -h | --help | help) usage ;;
    *) die "unknown command $cmd (check | start | stop)" ;;
  esac
}

main "$@"
