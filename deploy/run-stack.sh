#!/usr/bin/env bash
# Production on one machine: every service as its own process against the
# real stack (deploy/stack/up.sh must have run): two regions, eu and us,
# each with a router on Redis (peered with the other) and two gateways;
# one authsvc, messagesvc, receiptsvc, groupsvc and mediasvc on Cassandra,
# Redis and MinIO. Waits until every /readyz answers, prints the gateways'
# public URLs, writes them to $CHAT_PROD_DIR/env, and returns; the
# processes keep running until deploy/stop-stack.sh stops them by PID.
#
# Settings (environment):
#   CHAT_PROD_DIR            run dir: logs/, pids/, env, internal-secret (.run/prod)
#   CHAT_PROD_PORT_BASE      first of the ports used (18000); "auto" picks a free range.
#                            gateways' public ports: base+0..3 (eu-1, eu-2, us-1, us-2)
#   CHAT_PROD_NAMESPACE      Cassandra keyspaces <ns>_auth|_messages|_groups|_media,
#                            Redis key prefix <ns>:, S3 bucket <ns>-media (parley_prod)
#   CHAT_PROD_READY_TIMEOUT  seconds to wait for every /readyz (180)
#   CHAT_PROD_ADMIN_USER, CHAT_PROD_ADMIN_PASSWORD  create this admin account once ready
#   CHAT_INTERNAL_SECRET     the service secret; generated once into the run dir if unset
#   CHAT_STACK_ENV / CHAT_STACK_DIR  where the stack's env file is (.run/stack/env)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run_dir=${CHAT_PROD_DIR:-$root/.run/prod}
mkdir -p "$run_dir/logs" "$run_dir/pids" "$run_dir/bin"
run_dir=$(cd "$run_dir" && pwd)
bin_dir="$run_dir/bin"
ns=${CHAT_PROD_NAMESPACE:-parley_prod}
ready_timeout=${CHAT_PROD_READY_TIMEOUT:-180}

die() { echo "run-stack: $*" >&2; exit 1; }

[[ $ns =~ ^[a-z][a-z0-9_]{0,30}$ ]] || die "CHAT_PROD_NAMESPACE=$ns: want [a-z][a-z0-9_]* (it names keyspaces and a bucket)"

# The stack's addresses: real environment variables win over the env file,
# as in shared/stackenv. They are read into shell variables, not exported.
stack_env=${CHAT_STACK_ENV:-${CHAT_STACK_DIR:-$root/.run/stack}/env}
[ -f "$stack_env" ] || die "no stack env file at $stack_env: run deploy/stack/up.sh (make stack-up) first"
while IFS='=' read -r key value; do
  [[ $key =~ ^CHAT_[A-Z0-9_]+$ ]] || continue
  value=${value%\"}; value=${value#\"}
  [ -n "${!key:-}" ] || printf -v "$key" '%s' "$value"
done <"$stack_env"
for key in CHAT_REDIS_ADDR CHAT_CASSANDRA_HOSTS CHAT_CASSANDRA_DC CHAT_S3_ENDPOINT CHAT_S3_ACCESS_KEY CHAT_S3_SECRET_KEY CHAT_S3_REGION; do
  [ -n "${!key:-}" ] || die "$key missing from $stack_env: run deploy/stack/up.sh first"
done

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
for f in "$run_dir"/pids/*.pid; do
  if alive "$f"; then
    die "already running ($(basename "$f" .pid), pid $(cat "$f")); stop it with: bash deploy/stop-stack.sh $run_dir"
  fi
done
rm -f "$run_dir"/pids/*.pid "$run_dir/env"

# Ports: a fixed layout from one base, so URLs are predictable.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
range_free() {
  local b=$1 off
  for off in 0 1 2 3 10 11 12 13 20 21 30 31 32 33 34; do port_free $((b + off)) || return 1; done
}
base=${CHAT_PROD_PORT_BASE:-18000}
if [ "$base" = auto ]; then
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
    range_free "$base" && break
    base=
  done
  [ -n "$base" ] || die "no free port range found"
elif ! range_free "$base"; then
  die "a port in $base..$((base + 34)) is taken: set CHAT_PROD_PORT_BASE to another base, or auto"
fi
gw_names=(eu-1 eu-2 us-1 us-2)
declare -A public internal
for i in 0 1 2 3; do
  public[${gw_names[$i]}]=127.0.0.1:$((base + i))
  internal[gateway-${gw_names[$i]}]=127.0.0.1:$((base + 10 + i))
done
internal[router-eu]=127.0.0.1:$((base + 20))
internal[router-us]=127.0.0.1:$((base + 21))
internal[authsvc]=127.0.0.1:$((base + 30))
internal[messagesvc]=127.0.0.1:$((base + 31))
internal[receiptsvc]=127.0.0.1:$((base + 32))
internal[groupsvc]=127.0.0.1:$((base + 33))
internal[mediasvc]=127.0.0.1:$((base + 34))
url() { echo "http://${internal[$1]}"; }

echo "building the services into $bin_dir ..."
for s in authsvc router groupsvc messagesvc mediasvc receiptsvc gateway; do
  (cd "$root/$s" && go build -o "$bin_dir/$s" "./cmd/$s")
done

secret_file="$run_dir/internal-secret"
if [ -z "${CHAT_INTERNAL_SECRET:-}" ]; then
  [ -s "$secret_file" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$secret_file")
  CHAT_INTERNAL_SECRET=$(cat "$secret_file")
fi
export CHAT_INTERNAL_SECRET
export CHAT_LOG_FORMAT=${CHAT_LOG_FORMAT:-json}

cass=(-cassandra.hosts="$CHAT_CASSANDRA_HOSTS" -cassandra.dc="$CHAT_CASSANDRA_DC")
with_prefix() { local p=$1; shift; for a in "$@"; do echo "-$p${a#-}"; done; }
mapfile -t auth_cass < <(with_prefix auth. "${cass[@]}")
mapfile -t msg_cass < <(with_prefix messages. "${cass[@]}")
mapfile -t media_cass < <(with_prefix media. "${cass[@]}")
mapfile -t groups_cass < <(with_prefix groups. "${cass[@]}")

started=()
# start <name> <binary> <args...>: runs it in its own session (a later
# Ctrl-C in this terminal does not reach it), logs and pid under the run dir.
start() {
  local name=$1 bin=$2; shift 2
  [ -f "$run_dir/logs/$name.log" ] && mv -f "$run_dir/logs/$name.log" "$run_dir/logs/$name.log.prev"
  setsid "$bin_dir/$bin" -internal.addr="${internal[$name]}" "$@" >"$run_dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$run_dir/pids/$name.pid"
  started+=("$name")
}
fail() {
  echo "run-stack: $*" >&2
  for name in "${started[@]}"; do
    echo "--- $run_dir/logs/$name.log (last lines)" >&2
    tail -n 5 "$run_dir/logs/$name.log" >&2 || true
  done
  CHAT_PROD_DIR=$run_dir bash "$root/deploy/stop-stack.sh" >&2 || true
  exit 1
}
trap 'fail "interrupted"' INT TERM

start authsvc authsvc -auth.store.backend=cassandra "${auth_cass[@]}" -auth.cassandra.keyspace="${ns}_auth" \
  -auth.ratelimit.backend=redis -auth.redis.addrs="$CHAT_REDIS_ADDR" -auth.redis.key-prefix="$ns:auth:" -auth.node-id=1
for r in eu us; do
  other=us; [ $r = us ] && other=eu
  start router-$r router -router.region=$r -router.store.backend=redis -router.redis.addrs="$CHAT_REDIS_ADDR" \
    -router.redis.key-prefix="$ns:router:" -router.peers="$other=$(url router-$other)"
done
start groupsvc groupsvc -groups.store.backend=cassandra "${groups_cass[@]}" -groups.cassandra.keyspace="${ns}_groups" \
  -groups.node-id=4 -groups.auth-url="$(url authsvc)" -groups.messages-url="$(url messagesvc)"
start messagesvc messagesvc -messages.store.backend=cassandra "${msg_cass[@]}" -messages.cassandra.keyspace="${ns}_messages" \
  -messages.node-id=2 -messages.router-url="$(url router-eu)" -messages.auth-url="$(url authsvc)" \
  -messages.groups-url="$(url groupsvc)" -messages.media-url="$(url mediasvc)"
bucket=${ns//_/-}-media
CHAT_MEDIA_S3_SECRET_KEY=$CHAT_S3_SECRET_KEY start mediasvc mediasvc -media.store.backend=s3 -media.s3.endpoint="$CHAT_S3_ENDPOINT" \
  -media.s3.access-key="$CHAT_S3_ACCESS_KEY" -media.s3.region="$CHAT_S3_REGION" -media.s3.bucket="$bucket" \
  -media.s3.secure=false -media.s3.public-secure=false -media.metadata.backend=cassandra "${media_cass[@]}" \
  -media.cassandra.keyspace="${ns}_media" -media.messages-url="$(url messagesvc)" -media.node-id=3 \
  -media.redis.addrs="$CHAT_REDIS_ADDR" -media.redis.key-prefix="$ns:media:"
start receiptsvc receiptsvc -receipts.messages-url="$(url messagesvc)"
origins=""
for g in "${gw_names[@]}"; do
  p=${public[$g]#*:}
  origins+="${origins:+,}http://127.0.0.1:$p,http://localhost:$p"
done
# Media downloads redirect to presigned MinIO URLs (MinIO answers CORS for
# any origin); the web page's CSP must let it fetch from there.
for g in "${gw_names[@]}"; do
  r=${g%-*}
  start gateway-$g gateway -public.addr="${public[$g]}" -gateway.region=$r -gateway.id=$g \
    -gateway.router-url="$(url router-$r)" -gateway.auth-url="$(url authsvc)" -gateway.messages-url="$(url messagesvc)" \
    -gateway.receipts-url="$(url receiptsvc)" -gateway.groups-url="$(url groupsvc)" -gateway.media-url="$(url mediasvc)" \
    -gateway.allowed-origins="$origins" -gateway.web-media-origins="http://$CHAT_S3_ENDPOINT"
done

# Ready: every internal /readyz, and every gateway's public one.
checks=()
for name in "${started[@]}"; do checks+=("$name=http://${internal[$name]}/readyz"); done
for g in "${gw_names[@]}"; do checks+=("gateway-$g=http://${public[$g]}/readyz"); done
deadline=$((SECONDS + ready_timeout))
echo "waiting for ${#checks[@]} readiness checks (Cassandra migrations on first start take a while) ..."
while :; do
  pending=()
  for c in "${checks[@]}"; do
    name=${c%%=*}
    alive "$run_dir/pids/$name.pid" || fail "$name exited; see $run_dir/logs/$name.log"
    curl -fsS -o /dev/null --max-time 2 "${c#*=}" 2>/dev/null || pending+=("$c")
  done
  [ ${#pending[@]} -eq 0 ] && break
  [ $SECONDS -lt $deadline ] || fail "not ready within ${ready_timeout}s: ${pending[*]%%=*}"
  checks=("${pending[@]}")
  sleep 0.5
done

# An admin account for the web client's admin page, when asked for.
if [ -n "${CHAT_PROD_ADMIN_USER:-}" ]; then
  [ -n "${CHAT_PROD_ADMIN_PASSWORD:-}" ] || fail "CHAT_PROD_ADMIN_USER needs CHAT_PROD_ADMIN_PASSWORD"
  if out=$(CHAT_AUTH_BOOTSTRAP_PASSWORD=$CHAT_PROD_ADMIN_PASSWORD "$bin_dir/authsvc" bootstrap-admin \
    -username "$CHAT_PROD_ADMIN_USER" -auth.store.backend=cassandra "${auth_cass[@]}" \
    -auth.cassandra.keyspace="${ns}_auth" -log.level=warn </dev/null 2>&1); then
    echo "admin $CHAT_PROD_ADMIN_USER created"
  elif grep -q already_exists <<<"$out"; then
    echo "username $CHAT_PROD_ADMIN_USER exists already: left as it is"
  else
    fail "bootstrap-admin failed: $out"
  fi
fi
trap - INT TERM

{
  echo "PARLEY_GATEWAYS=$(for g in "${gw_names[@]}"; do printf 'http://%s ' "${public[$g]}"; done | sed 's/ $//; s/ /,/g')"
  for g in "${gw_names[@]}"; do key=${g^^}; echo "PARLEY_GATEWAY_${key//-/_}_URL=http://${public[$g]}"; done
  for name in "${!internal[@]}"; do
    key=${name^^}; echo "PARLEY_INTERNAL_${key//-/_}_URL=$(url "$name")"
  done | sort
  echo "PARLEY_NAMESPACE=$ns"
  echo "PARLEY_RUN_DIR=$run_dir"
} >"$run_dir/env"

echo
echo "Parley is running as ${#started[@]} processes on the real stack (logs and pids: $run_dir):"
for g in "${gw_names[@]}"; do
  printf '  gateway %-5s region %s  http://%s\n' "$g" "${g%-*}" "${public[$g]}"
done
echo "  URLs and internal addresses: $run_dir/env"
if [ "$run_dir" = "$root/.run/prod" ]; then
  echo "  stop: bash deploy/stop-stack.sh"
else
  echo "  stop: bash deploy/stop-stack.sh $run_dir"
fi
