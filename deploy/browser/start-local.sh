#!/usr/bin/env bash
# Starts every service as its own process with embedded stores on a block of
# free loopback ports (PARLEY_BASE_PORT, default 18480) and a fresh data
# directory, with an admin account bootstrapped before authsvc starts, then
# prints "platform running: <url>" and waits until SIGTERM/SIGINT.
# The browser tests' "local" mode; it mirrors deploy/run-local.sh without
# its fixed ports, so it can run beside a developer's `make run`.
#   PARLEY_ADMIN_USER / PARLEY_ADMIN_PASSWORD: the admin to create (required)
#   PARLEY_DATA_DIR: where data and logs go (default: a new temp directory)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
base=${PARLEY_BASE_PORT:-18480}
data=${PARLEY_DATA_DIR:-$(mktemp -d /tmp/parley-browser.XXXXXX)}
bin="$root/.run/bin"
mkdir -p "$bin" "$data"

services=(authsvc messagesvc receiptsvc groupsvc mediasvc router gateway)
for s in "${services[@]}"; do
  (cd "$root/$s" && go build -o "$bin/$s" "./cmd/$s")
done

export CHAT_INTERNAL_SECRET
CHAT_INTERNAL_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n=')
export CHAT_LOG_FORMAT=text
gw_pub=127.0.0.1:$base gw_int=127.0.0.1:$((base + 1)) auth=127.0.0.1:$((base + 2))
msgs=127.0.0.1:$((base + 3)) rcpt=127.0.0.1:$((base + 4)) grps=127.0.0.1:$((base + 5))
media=127.0.0.1:$((base + 6)) router=127.0.0.1:$((base + 7))

: "${PARLEY_ADMIN_USER:?}" "${PARLEY_ADMIN_PASSWORD:?}"
CHAT_AUTH_BOOTSTRAP_PASSWORD=$PARLEY_ADMIN_PASSWORD "$bin/authsvc" bootstrap-admin \
  -username "$PARLEY_ADMIN_USER" -auth.data-dir "$data/authsvc" >"$data/bootstrap.log" 2>&1

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT
trap 'exit 0' INT TERM

start() { # name, then env assignments
  local name=$1
  shift
  env "$@" "$bin/$name" >"$data/$name.log" 2>&1 &
  pids+=($!)
}
start router CHAT_INTERNAL_ADDR=$router
start authsvc CHAT_INTERNAL_ADDR=$auth CHAT_AUTH_DATA_DIR="$data/authsvc" CHAT_AUTH_NODE_ID=1
start messagesvc CHAT_INTERNAL_ADDR=$msgs CHAT_MESSAGES_DATA_DIR="$data/messagesvc" CHAT_MESSAGES_NODE_ID=2 \
  CHAT_MESSAGES_ROUTER_URL=http://$router CHAT_MESSAGES_AUTH_URL=http://$auth \
  CHAT_MESSAGES_GROUPS_URL=http://$grps CHAT_MESSAGES_MEDIA_URL=http://$media
start receiptsvc CHAT_INTERNAL_ADDR=$rcpt CHAT_RECEIPTS_MESSAGES_URL=http://$msgs
start groupsvc CHAT_INTERNAL_ADDR=$grps CHAT_GROUPS_DATA_DIR="$data/groupsvc" CHAT_GROUPS_NODE_ID=3 \
  CHAT_GROUPS_AUTH_URL=http://$auth CHAT_GROUPS_MESSAGES_URL=http://$msgs
start mediasvc CHAT_INTERNAL_ADDR=$media CHAT_MEDIA_DATA_DIR="$data/mediasvc" CHAT_MEDIA_NODE_ID=4 \
  CHAT_MEDIA_MESSAGES_URL=http://$msgs
start gateway CHAT_INTERNAL_ADDR=$gw_int CHAT_PUBLIC_ADDR=$gw_pub CHAT_GATEWAY_ROUTER_URL=http://$router \
  CHAT_GATEWAY_AUTH_URL=http://$auth CHAT_GATEWAY_MESSAGES_URL=http://$msgs CHAT_GATEWAY_RECEIPTS_URL=http://$rcpt \
  CHAT_GATEWAY_GROUPS_URL=http://$grps CHAT_GATEWAY_MEDIA_URL=http://$media CHAT_GATEWAY_WEB_DIR="${PARLEY_WEB_DIR:-}"

for _ in $(seq 1 300); do
  curl -fsS "http://$gw_pub/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "http://$gw_pub/readyz" >/dev/null 2>&1; then
  echo "gateway did not become ready; logs in $data" >&2
  tail -n 20 "$data"/*.log >&2
  exit 1
fi
echo "platform running: http://$gw_pub  (logs: $data)"
wait -n "${pids[@]}" || true
echo "a service exited; see $data/*.log" >&2
exit 1
