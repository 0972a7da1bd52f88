#!/usr/bin/env bash
# Runs every service as its own process on 127.0.0.1 with embedded defaults,
# until Ctrl-C. Builds the binaries into .run/bin and keeps logs in .run/local.
# (The single all-in-one binary replaces this once every service has landed.)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$root/.run/local"
bin_dir="$root/.run/bin"
mkdir -p "$run_dir" "$bin_dir"

services=(authsvc messagesvc receiptsvc groupsvc mediasvc router gateway)

echo "building ${services[*]} ..."
for s in "${services[@]}"; do
  (cd "$root/$s" && go build -o "$bin_dir/$s" "./cmd/$s")
done

# One secret per run: the processes trust each other, nothing else does.
secret_file="$run_dir/internal-secret"
[ -s "$secret_file" ] || head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$secret_file"
export CHAT_INTERNAL_SECRET
CHAT_INTERNAL_SECRET=$(cat "$secret_file")
export CHAT_LOG_FORMAT=${CHAT_LOG_FORMAT:-text}

# Embedded stores under .run/local/data, so data survives a restart; the
# services find each other on their default loopback ports.
data_dir="$run_dir/data"
export CHAT_AUTH_DATA_DIR="$data_dir/authsvc" CHAT_AUTH_NODE_ID=1
export CHAT_MESSAGES_DATA_DIR="$data_dir/messagesvc" CHAT_MESSAGES_NODE_ID=2
export CHAT_MEDIA_DATA_DIR="$data_dir/mediasvc"
# groupsvc finds authsvc (7101) and messagesvc (7102) on their default ports.
export CHAT_GROUPS_DATA_DIR="$data_dir/groupsvc" CHAT_GROUPS_NODE_ID=3
export CHAT_GATEWAY_GROUPS_URL=http://127.0.0.1:7104 CHAT_MESSAGES_GROUPS_URL=http://127.0.0.1:7104
export CHAT_GATEWAY_MESSAGES_URL=http://127.0.0.1:7102 CHAT_GATEWAY_RECEIPTS_URL=http://127.0.0.1:7103
export CHAT_GATEWAY_MEDIA_URL=http://127.0.0.1:7105
# messagesvc attaches media through mediasvc; mediasvc asks messagesvc who may read it.
export CHAT_MESSAGES_MEDIA_URL=http://127.0.0.1:7105 CHAT_MEDIA_MESSAGES_URL=http://127.0.0.1:7102

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "stopping ..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

for s in "${services[@]}"; do
  "$bin_dir/$s" >"$run_dir/$s.log" 2>&1 &
  pids+=($!)
done

public=${CHAT_PUBLIC_ADDR:-127.0.0.1:8080}
for _ in $(seq 1 100); do
  curl -fsS "http://$public/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "http://$public/healthz" >/dev/null 2>&1; then
  echo "gateway did not come up; logs in $run_dir" >&2
  tail -n 20 "$run_dir"/*.log >&2
  exit 1
fi
echo "platform running: http://$public  (WebSocket ws://$public/v1/ws, API http://$public/api/v1/; logs and data: $run_dir; Ctrl-C to stop)"
echo "first admin: stop, then run $bin_dir/authsvc bootstrap-admin -username <name> (see authsvc/README.md)"
wait -n "${pids[@]}" || true
echo "a service exited; see $run_dir/*.log" >&2
