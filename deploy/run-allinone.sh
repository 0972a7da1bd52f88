#!/usr/bin/env bash
# The all-in-one mode for scripts and tests: builds parley, starts it in the
# background on a known port with its data under a run dir, waits until its
# /readyz answers (every service in the process), writes the URL to
# <run dir>/env and returns. `bash deploy/stop-stack.sh <run dir>` stops it
# by PID. (A person runs `make run` instead: same binary, in the foreground.)
#
# Settings (environment):
#   CHAT_ALLINONE_DIR        run dir: bin/, data/, logs/parley.log, pids/, env (.run/allinone)
#   CHAT_ALLINONE_PORT       public port (8080); "auto" picks a free one
#   CHAT_ALLINONE_ADMIN_USER, CHAT_ALLINONE_ADMIN_PASSWORD  create this admin
#                            before starting (left alone if the name exists)
#   CHAT_ALLINONE_READY_TIMEOUT  seconds to wait for /readyz (60)
# Any other CHAT_* variable reaches parley (CHAT_GATEWAY_WEB_DIR, …), and
# arguments are passed to it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${CHAT_ALLINONE_DIR:-$root/.run/allinone}
mkdir -p "$run_dir/bin" "$run_dir/data" "$run_dir/logs" "$run_dir/pids"
run_dir=$(cd "$run_dir" && pwd)
bin="$run_dir/bin/parley"
pid_file="$run_dir/pids/parley.pid"
die() { echo "run-allinone: $*" >&2; exit 1; }

if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  die "already running (pid $(cat "$pid_file")); stop it with: bash deploy/stop-stack.sh $run_dir"
fi
rm -f "$pid_file" "$run_dir/env"

port=${CHAT_ALLINONE_PORT:-8080}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ "$port" = auto ]; then
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
    port_free "$port" && break
  done
fi
port_free "$port" || die "port $port is taken: set CHAT_ALLINONE_PORT to another port, or auto"

(cd "$root/allinone" && go build -o "$bin" ./cmd/parley)

if [ -n "${CHAT_ALLINONE_ADMIN_USER:-}" ]; then
  [ -n "${CHAT_ALLINONE_ADMIN_PASSWORD:-}" ] || die "CHAT_ALLINONE_ADMIN_USER needs CHAT_ALLINONE_ADMIN_PASSWORD"
  if out=$(CHAT_AUTH_BOOTSTRAP_PASSWORD=$CHAT_ALLINONE_ADMIN_PASSWORD "$bin" bootstrap-admin \
    -username "$CHAT_ALLINONE_ADMIN_USER" -data-dir "$run_dir/data" -log.level=warn </dev/null 2>&1); then
    echo "admin $CHAT_ALLINONE_ADMIN_USER created"
  elif grep -q already_exists <<<"$out"; then
    echo "username $CHAT_ALLINONE_ADMIN_USER exists already: left as it is"
  else
    die "bootstrap-admin failed: $out"
  fi
fi

# Internal listeners on free ports, so this runs beside a `make run`.
setsid "$bin" -data-dir="$run_dir/data" -public.addr="127.0.0.1:$port" -internal.free-ports "$@" \
  >"$run_dir/logs/parley.log" 2>&1 </dev/null &
echo $! >"$pid_file"

url="http://127.0.0.1:$port"
deadline=$((SECONDS + ${CHAT_ALLINONE_READY_TIMEOUT:-60}))
until curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; do
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    tail -n 20 "$run_dir/logs/parley.log" >&2
    rm -f "$pid_file"
    die "parley exited; log: $run_dir/logs/parley.log"
  fi
  if [ $SECONDS -ge $deadline ]; then
    tail -n 20 "$run_dir/logs/parley.log" >&2
    bash "$root/deploy/stop-stack.sh" "$run_dir" >&2 || true
    die "not ready within ${CHAT_ALLINONE_READY_TIMEOUT:-60}s"
  fi
  sleep 0.1
done
{
  echo "PARLEY_URL=$url"
  echo "PARLEY_DATA_DIR=$run_dir/data"
  echo "PARLEY_RUN_DIR=$run_dir"
} >"$run_dir/env"
echo "parley running: $url (pid $(cat "$pid_file"), log $run_dir/logs/parley.log); stop: bash deploy/stop-stack.sh $run_dir"
