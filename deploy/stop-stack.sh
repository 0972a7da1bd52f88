#!/usr/bin/env bash
# Stops what deploy/run-stack.sh (or deploy/run-allinone.sh) started, by the
# PIDs in its run dir: the gateways first (they drain their clients), then
# the services behind them, then the routers and authsvc. Each gets SIGTERM
# and CHAT_PROD_STOP_TIMEOUT seconds (30) to exit before SIGKILL. The stack
# itself keeps running.
#   bash deploy/stop-stack.sh [run dir]    (default: $CHAT_PROD_DIR, else .run/prod)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${1:-${CHAT_PROD_DIR:-$root/.run/prod}}
run_dir=$(cd "$run_dir" 2>/dev/null && pwd) || { echo "nothing to stop: no run dir $1"; exit 0; }
timeout=${CHAT_PROD_STOP_TIMEOUT:-30}
pids_dir="$run_dir/pids"
[ -d "$pids_dir" ] || { echo "nothing to stop in $run_dir"; exit 0; }

# ours reports whether pid still runs one of run-stack's binaries, so a pid
# reused by another process after a crash is never signalled.
ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$run_dir/bin/"* ]]
}

stop_group() {
  local pids=() names=() f pid name
  for f in "$@"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f"); name=$(basename "$f" .pid)
    if ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid") && names+=("$name")
    fi
    rm -f "$f"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  echo "stopping ${names[*]} ..."
  local deadline=$((SECONDS + timeout))
  for pid in "${pids[@]}"; do
    while ours "$pid"; do
      if [ $SECONDS -ge $deadline ]; then
        echo "pid $pid did not exit within ${timeout}s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null
        break
      fi
      sleep 0.2
    done
  done
}

shopt -s nullglob
stop_group "$pids_dir"/gateway-*.pid
stop_group "$pids_dir"/receiptsvc.pid "$pids_dir"/mediasvc.pid "$pids_dir"/groupsvc.pid
stop_group "$pids_dir"/messagesvc.pid
stop_group "$pids_dir"/*.pid
rm -f "$run_dir/env"
echo "stopped (logs kept in $run_dir/logs)"
