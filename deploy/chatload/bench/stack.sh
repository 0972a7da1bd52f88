#!/usr/bin/env bash
# Starts the platform for a chatload benchmark, every service as its own
# process on 127.0.0.1, and writes what chatload needs to $DIR/env:
#   GATEWAYS (public URLs), GATEWAY_PIDS, PIDS (router, messagesvc, …, and
#   Cassandra's java pid on the real stack).
#
#   deploy/chatload/bench/stack.sh up      # MODE=embedded|real GATEWAYS=2
#   deploy/chatload/bench/stack.sh down    # stops what up started, by PID
#
# MODE=embedded: router in memory, messagesvc/groupsvc on bbolt (the
# single-machine install). MODE=real: router on the stack's Redis,
# messagesvc on the stack's Cassandra (keyspace $NS, dropped by nothing:
# use a new NS for a clean run). authsvc stays embedded in both: it is off
# the message path (tokens are verified locally by the gateways).
#
# Load settings, on purpose: cheap Argon2id and high sign-in limits so
# thousands of accounts can be provisioned, per-connection rate limits
# raised so a few thousand clients can carry thousands of messages/s,
# max-conns 19,500 per gateway (20,000 open files per process).
set -euo pipefail

root=$(cd "$(dirname "$0")/../../.." && pwd)
DIR=${DIR:-$root/.run/chatload}
MODE=${MODE:-embedded}
GATEWAYS=${GATEWAYS:-2}
NS=${NS:-chatload_bench}
BASE=${BASE:-18500}
mkdir -p "$DIR/pids" "$DIR/logs" "$DIR/bin" "$DIR/data"
export CHAT_INTERNAL_SECRET=${CHAT_INTERNAL_SECRET:-chatload-bench-internal-secret-0123456789}

down() {
  local f
  # gateways first, then the rest
  for f in "$DIR"/pids/gateway-*.pid "$DIR"/pids/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  sleep 1
}

if [ "${1:-up}" = down ]; then
  down
  exit 0
fi
for f in "$DIR"/pids/*.pid; do
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && { echo "stack.sh: already running ($f); run: $0 down" >&2; exit 1; }
done
rm -f "$DIR"/pids/*.pid

(cd "$root" && for s in authsvc router gateway messagesvc receiptsvc groupsvc; do
  go build -o "$DIR/bin/$s" ./$s/cmd/$s
done)

start() { # name args...
  local name=$1
  shift
  "$DIR/bin/${name%%-*}" "$@" >"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/pids/$name.pid"
}
url() { echo "http://127.0.0.1:$1"; }
wait_ready() { # port
  for _ in $(seq 1 600); do
    curl -fsS "$(url "$1")/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "stack.sh: 127.0.0.1:$1 not ready" >&2
  return 1
}

auth=$((BASE)) router=$((BASE + 1)) msgs=$((BASE + 2)) rcpt=$((BASE + 3)) groups=$((BASE + 4))
rm -rf "$DIR/data/messages" "$DIR/data/groups" # accounts and keys survive restarts: chatload caches tokens
start authsvc -internal.addr=127.0.0.1:$auth -auth.data-dir="$DIR/data/auth" -auth.node-id=1 \
  -auth.argon2.memory-kib=1024 -auth.argon2.iterations=1 -auth.ratelimit.addr-limit=100000000 -auth.ratelimit.account-limit=100000000 \
  -auth.access-ttl=2h -log.level=warn
if [ "$MODE" = real ]; then
  # shellcheck disable=SC1091
  . "$root/.run/stack/env"
  start router -internal.addr=127.0.0.1:$router -router.store.backend=redis -router.redis.addrs="$CHAT_REDIS_ADDR" \
    -router.redis.key-prefix="$NS:" -log.level=warn
  start messagesvc -internal.addr=127.0.0.1:$msgs -messages.store.backend=cassandra -messages.cassandra.hosts="$CHAT_CASSANDRA_HOSTS" \
    -messages.cassandra.dc="$CHAT_CASSANDRA_DC" -messages.cassandra.keyspace="$NS" -messages.node-id=2 \
    -messages.router-url="$(url $router)" -messages.auth-url="$(url $auth)" -messages.groups-url="$(url $groups)" -log.level=warn
else
  start router -internal.addr=127.0.0.1:$router -log.level=warn
  start messagesvc -internal.addr=127.0.0.1:$msgs -messages.data-dir="$DIR/data/messages" -messages.node-id=2 \
    -messages.router-url="$(url $router)" -messages.auth-url="$(url $auth)" -messages.groups-url="$(url $groups)" -log.level=warn
fi
start groupsvc -internal.addr=127.0.0.1:$groups -groups.data-dir="$DIR/data/groups" -groups.node-id=3 \
  -groups.auth-url="$(url $auth)" -groups.messages-url="$(url $msgs)" -log.level=warn
start receiptsvc -internal.addr=127.0.0.1:$rcpt -receipts.messages-url="$(url $msgs)" -log.level=warn
gws=() gwpids=()
for i in $(seq 1 "$GATEWAYS"); do
  pub=$((BASE + 10 + i)) int=$((BASE + 50 + i))
  start gateway-$i -public.addr=127.0.0.1:$pub -internal.addr=127.0.0.1:$int -gateway.id=bench-$i \
    -gateway.router-url="$(url $router)" -gateway.auth-url="$(url $auth)" -gateway.messages-url="$(url $msgs)" \
    -gateway.receipts-url="$(url $rcpt)" -gateway.groups-url="$(url $groups)" -gateway.max-conns=19500 \
    -gateway.rate-limits=frames=60000:6000,send=30000:3000,typing=30:5,history=6000:600 -gateway.drain-spread=2s -log.level=warn
  gws+=("$(url $pub)")
  gwpids+=("$(cat "$DIR/pids/gateway-$i.pid")")
done
for p in $auth $router $msgs $rcpt $groups; do wait_ready $p; done
for i in $(seq 1 "$GATEWAYS"); do wait_ready $((BASE + 50 + i)); done
pids="router=$(cat "$DIR/pids/router.pid"),messagesvc=$(cat "$DIR/pids/messagesvc.pid"),receiptsvc=$(cat "$DIR/pids/receiptsvc.pid")"
if [ "$MODE" = real ]; then
  cass=$(pgrep -f CassandraDaemon | head -1 || true)
  redis=$(pgrep -f "redis-server 127.0.0.1:${CHAT_REDIS_ADDR##*:}" | head -1 || true)
  [ -n "$cass" ] && pids="$pids,cassandra=$cass"
  [ -n "$redis" ] && pids="$pids,redis=$redis"
fi
{
  echo "GATEWAYS=$(IFS=,; echo "${gws[*]}")"
  echo "GATEWAY_PIDS=$(IFS=,; echo "${gwpids[*]}")"
  echo "PIDS=$pids"
} >"$DIR/env"
cat "$DIR/env"
