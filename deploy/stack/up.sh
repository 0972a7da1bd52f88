#!/usr/bin/env bash
# deploy/stack/up.sh [redis] [cluster] [cassandra] [minio]
#
# Brings up the chat platform's backing services as plain processes on 127.0.0.1,
# for integration tests and local runs (default: all four):
#   redis      Redis standalone (Debian redis-server, ephemeral)
#   cluster    3-master Redis Cluster (no replicas)
#   cassandra  Apache Cassandra 5.0 (jars from Maven Central, run on Java 17)
#   minio      MinIO (S3 API), built once with `go install`
# and writes <run dir>/env (CHAT_REDIS_ADDR=..., see README.md), printed at the end.
#
# Idempotent: a service that is already up and healthy is left alone; one that is
# half up (a process died, a probe fails) is stopped and started again. On any
# failure or interrupt, everything this invocation started is stopped again.
# Stop with deploy/stack/down.sh. See README.md for ports, cache and debugging.
set -euo pipefail
# shellcheck source=deploy/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- settings (all overridable through the environment) -----------------------------
# Ports: a number, or "auto" for a random free one. The defaults avoid the well-known
# ports (6379, 9042, 9000) so a developer's own servers do not collide with the stack.
REQ_REDIS_PORT=${CHAT_STACK_REDIS_PORT:-17379}
REQ_CLUSTER_PORTS=${CHAT_STACK_CLUSTER_PORTS:-17381,17382,17383} # bus ports are +10000
REQ_CASSANDRA_PORT=${CHAT_STACK_CASSANDRA_PORT:-19142}
REQ_CASSANDRA_STORAGE_PORT=${CHAT_STACK_CASSANDRA_STORAGE_PORT:-17100}
REQ_MINIO_PORT=${CHAT_STACK_MINIO_PORT:-19100}

CASSANDRA_HEAP=${CHAT_STACK_CASSANDRA_HEAP:-768m}
CASSANDRA_TIMEOUT=${CHAT_STACK_CASSANDRA_TIMEOUT:-240} # JVM start to CQL ready
MAVEN_TIMEOUT=${CHAT_STACK_MAVEN_TIMEOUT:-900}
MINIO_BUILD_TIMEOUT=${CHAT_STACK_MINIO_BUILD_TIMEOUT:-1500} # cold build is ~5 min on 2 cores
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c           # final upstream commit; pinned
S3_ACCESS_KEY=${CHAT_STACK_S3_ACCESS_KEY:-parleytest}
S3_SECRET_KEY=${CHAT_STACK_S3_SECRET_KEY:-parleytest-secret-123} # MinIO wants >= 8 chars
S3_REGION=us-east-1

CASS_LIB=$CACHE_DIR/cassandra/lib
MINIO_BIN=$CACHE_DIR/bin/minio
MINIO_STAMP=$CACHE_DIR/bin/.minio-version

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0"
	exit 0
}

# --- small helpers ------------------------------------------------------------------

# wants SVC: is SVC among the services this run starts?
wants() {
	local s
	for s in "${TO_START[@]}"; do [[ $s == "$1" ]] && return 0; done
	return 1
}

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# new_log NAME: start NAME.log empty, keeping the previous run's as NAME.log.prev.
new_log() {
	local f=$LOGS/$1.log
	if [[ -s $f ]]; then mv -f "$f" "$f.prev"; fi
	: >"$f"
}

# spawn DIR LOGFILE PIDFILE CMD...: start CMD in the background in its own session
# (setsid: a Ctrl-C on up.sh does not reach it, and its process group can be killed
# as a whole), with cwd DIR inside the run dir (see pid_is_ours), stdin closed,
# output appended to LOGFILE, lock fd 9 closed. setsid execs in place here (a
# background child is never a process-group leader), so $! is the server's PID.
spawn() {
	local dir=$1 logf=$2 pidf=$3 old=$PWD
	shift 3
	cd "$dir"
	setsid "$@" </dev/null >>"$logf" 2>&1 9>&- &
	printf '%s\n' "$!" >"$pidf"
	cd "$old"
}

# fail_with_log LOGFILE MESSAGE: report, show the end of the log, exit the job.
fail_with_log() {
	log "ERROR: $2" >&2
	if [[ -s $1 ]]; then
		log "last lines of $1:" >&2
		tail -n 40 "$1" | cut -c1-300 | sed "s/^/    | /" >&2
	fi
	exit 1
}

# wait_until TIMEOUT WHAT PIDFILE CHECK...: poll CHECK until it succeeds. Returns 1 on
# timeout, 2 as soon as the process in PIDFILE is gone (no point waiting for a corpse).
wait_until() {
	local timeout=$1 what=$2 pidf=$3 deadline
	shift 3
	deadline=$((SECONDS + timeout))
	until "$@"; do
		if ! pid_is_ours "$(read_pid "$pidf")"; then
			log "$what: process exited during startup" >&2
			return 2
		fi
		if ((SECONDS >= deadline)); then
			log "$what: not ready after ${timeout}s" >&2
			return 1
		fi
		sleep 0.2
	done
}

# run_task NAME TIMEOUT CMD...: run a build/download tool to completion with a deadline.
# It runs in its own session with a pid file in tasks/, so an interrupted up.sh (or the
# next one) can kill it and its children (go install spawns compilers).
run_task() {
	local name=$1 timeout=$2 pidf=$TASKS/$1.pid pid rc=0 deadline
	shift 2
	new_log "$name"
	spawn "$TASKS" "$LOGS/$name.log" "$pidf" "$@"
	pid=$(read_pid "$pidf")
	deadline=$((SECONDS + timeout))
	while pid_is_ours "$pid"; do
		if ((SECONDS >= deadline)); then
			log "$name: timed out after ${timeout}s" >&2
			stop_pidfiles "$pidf" || true
			return 124
		fi
		sleep 0.5
	done
	wait "$pid" || rc=$?
	rm -f "$pidf"
	return "$rc"
}

record_timing() { # record_timing WHAT SECONDS: print it and keep it in logs/timings.log
	log "$1 in $2 s"
	printf '%s %s %s\n' "$(date -Is)" "$1" "$2" >>"$LOGS/timings.log"
}

# --- health probes ------------------------------------------------------------------

redis_ping() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }
cluster_ok() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
minio_ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/minio/health/ready" 2>/dev/null; }
cassandra_ready() { # the log line comes just before the port opens; want both
	grep -qE 'Starting listening for CQL clients|Startup complete' "$LOGS/cassandra.log" &&
		port_in_use "$1"
}

# env_value SVC KEY: a value from the service's env fragment.
env_value() { sed -n "s/^$2=//p" "$ENVS/$1.env" 2>/dev/null | head -n 1; }

# service_healthy SVC: env fragment present, every process alive, and the probe answers.
service_healthy() {
	local svc=$1 f n=0 addr
	[[ -s $ENVS/$svc.env ]] || return 1
	while read -r f; do
		pid_is_ours "$(read_pid "$f")" || return 1
		n=$((n + 1))
	done < <(pidfiles_of "$svc")
	((n > 0)) || return 1
	case $svc in
	redis)
		addr=$(env_value redis CHAT_REDIS_ADDR)
		redis_ping "${addr##*:}"
		;;
	cluster)
		for addr in $(env_value cluster CHAT_REDIS_CLUSTER_ADDRS | tr ',' ' '); do
			cluster_ok "${addr##*:}" || return 1
		done
		;;
	cassandra)
		addr=$(env_value cassandra CHAT_CASSANDRA_HOSTS)
		port_in_use "${addr##*:}"
		;;
	minio)
		addr=$(env_value minio CHAT_S3_ENDPOINT)
		minio_ready "${addr##*:}"
		;;
	esac
}

# --- preflight: ports and tools, before anything is started ---------------------------

CLAIMED=" "     # ports handed out in this run (so "auto" never picks one twice)
PORT_ERRORS=()

port_usable() { # port_usable PORT [BUS_OFFSET]
	local p=$1 off=${2:-0}
	[[ $CLAIMED != *" $p "* ]] && ! port_in_use "$p" || return 1
	((off == 0)) || { [[ $CLAIMED != *" $((p + off)) "* ]] && ! port_in_use $((p + off)); }
}

# pick_port VAR REQUESTED LABEL ENVNAME [BUS_OFFSET]: set VAR to REQUESTED if it (and
# REQUESTED+BUS_OFFSET, the Redis cluster bus port) is free, or to a random free port
# when REQUESTED is "auto". Problems are collected in PORT_ERRORS to report all at once.
pick_port() {
	local var=$1 want=$2 label=$3 envname=$4 off=${5:-0} p i
	if [[ $want == auto ]]; then
		for ((i = 0; i < 200; i++)); do
			p=$((20000 + RANDOM % 20000))
			port_usable "$p" "$off" && break
			p=
		done
		[[ -n $p ]] || {
			PORT_ERRORS+=("no free port found for $label")
			return 0
		}
	elif [[ ! $want =~ ^[0-9]+$ ]] || ((want < 1 || want + off > 65535)); then
		PORT_ERRORS+=("$envname: '$want' is not a usable port for $label")
		return 0
	elif ! port_usable "$want" "$off"; then
		local bus=""
		((off == 0)) || bus=" (or its cluster bus port $((want + off)))"
		PORT_ERRORS+=("$label port $want$bus is already in use on 127.0.0.1: stop what uses it, or set $envname to another port or 'auto'")
		return 0
	else
		p=$want
	fi
	printf -v "$var" '%s' "$p"
	CLAIMED+="$p "
	((off == 0)) || CLAIMED+="$((p + off)) "
}

resolve_ports() {
	local reqs i
	if wants redis; then pick_port REDIS_PORT "$REQ_REDIS_PORT" "Redis" CHAT_STACK_REDIS_PORT; fi
	if wants cluster; then
		if [[ $REQ_CLUSTER_PORTS == auto ]]; then
			reqs=(auto auto auto)
		else
			IFS=', ' read -r -a reqs <<<"$REQ_CLUSTER_PORTS"
		fi
		((${#reqs[@]} == 3)) || die "CHAT_STACK_CLUSTER_PORTS must list 3 ports (or be 'auto'), got '$REQ_CLUSTER_PORTS'"
		CLUSTER_PORTS=()
		for i in 0 1 2; do
			pick_port "CLUSTER_PORTS[$i]" "${reqs[$i]}" "Redis Cluster" CHAT_STACK_CLUSTER_PORTS 10000
		done
	fi
	if wants cassandra; then
		pick_port CASSANDRA_PORT "$REQ_CASSANDRA_PORT" "Cassandra CQL" CHAT_STACK_CASSANDRA_PORT
		pick_port CASSANDRA_STORAGE_PORT "$REQ_CASSANDRA_STORAGE_PORT" "Cassandra storage" CHAT_STACK_CASSANDRA_STORAGE_PORT
	fi
	if wants minio; then pick_port MINIO_PORT "$REQ_MINIO_PORT" "MinIO" CHAT_STACK_MINIO_PORT; fi
	if ((${#PORT_ERRORS[@]})); then
		printf '%s\n' "${PORT_ERRORS[@]}" | while read -r line; do log "ERROR: $line" >&2; done
		exit 1
	fi
}

# find_java17 prints a Java 17 binary. Cassandra 5.0 runs on 11 and 17 only, and this
# machine may have a newer JDK first in PATH, so candidates are probed, not trusted.
find_java17() {
	local c
	for c in ${CHAT_STACK_JAVA:+"$CHAT_STACK_JAVA"} ${JAVA17_HOME:+"$JAVA17_HOME/bin/java"} \
		/usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-17-openjdk*/bin/java \
		/usr/lib/jvm/*17*/bin/java ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)"; do
		[[ -x $c ]] || continue
		if "$c" -version 2>&1 | head -n 1 | grep -qE 'version "17[."]'; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}

pom_hash() { sha256sum "$STACK_SRC/cassandra/pom.xml" | cut -c1-16; }
cassandra_jars_cached() { [[ -f $CASS_LIB/.fetched-$(pom_hash) ]]; }
minio_cached() { [[ -x $MINIO_BIN && $(cat "$MINIO_STAMP" 2>/dev/null) == "$MINIO_VERSION" ]]; }

preflight_tools() {
	local missing=()
	command -v flock >/dev/null && command -v setsid >/dev/null || missing+=("flock/setsid (apt-get install -y util-linux)")
	if wants cassandra; then
		JAVA17=$(find_java17) || missing+=("Java 17 for Cassandra 5.0 (apt-get install -y openjdk-17-jre-headless, or set CHAT_STACK_JAVA=/path/to/java17)")
		cassandra_jars_cached || command -v mvn >/dev/null || missing+=("mvn, to fetch Cassandra from Maven Central (apt-get install -y maven)")
	fi
	if wants minio; then
		command -v curl >/dev/null || missing+=("curl (apt-get install -y curl)")
		minio_cached || command -v go >/dev/null || missing+=("go, to build MinIO once (Go >= 1.24)")
	fi
	if wants redis || wants cluster; then
		if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
			command -v apt-get >/dev/null && ((EUID == 0)) ||
				missing+=("redis-server and redis-cli (apt-get install -y redis-server redis-tools)")
		fi
	fi
	if ((${#missing[@]})); then
		local m
		for m in "${missing[@]}"; do log "ERROR: missing $m" >&2; done
		exit 1
	fi
}

# --- Redis (standalone and cluster) -----------------------------------------------------

# fd 9 (the lock) is closed so a daemon a package script might start cannot hold it.
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$LOGS/apt.log" 2>&1 9>&-; }

# ensure_redis installs Debian's Redis when missing; `apt-get update` only if the
# install fails (stale or missing package lists), since update is the slow part.
ensure_redis() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
	log "installing redis-server and redis-tools from Debian (once)"
	: >"$LOGS/apt.log"
	if ! apt_install redis-server redis-tools; then
		log "apt-get install failed; running apt-get update and retrying"
		apt-get update -q >>"$LOGS/apt.log" 2>&1 9>&- || fail_with_log "$LOGS/apt.log" "apt-get update failed"
		apt_install redis-server redis-tools || fail_with_log "$LOGS/apt.log" "apt-get install redis-server redis-tools failed"
	fi
}

# redis_args PORT DIR: an ephemeral server (no RDB, no AOF) that exits at once on SIGTERM.
redis_args() {
	printf '%s\n' --bind 127.0.0.1 --port "$1" --dir "$2" --save '' --appendonly no \
		--shutdown-on-sigterm 'nosave now'
}

start_redis() {
	local dir=$RUN_DIR/redis t0 args
	t0=$(now_s)
	rm -rf "$dir"
	mkdir -p "$dir"
	new_log redis
	mapfile -t args < <(redis_args "$REDIS_PORT" "$dir")
	spawn "$dir" "$LOGS/redis.log" "$PIDS/redis.pid" redis-server "${args[@]}"
	wait_until 20 redis "$PIDS/redis.pid" redis_ping "$REDIS_PORT" ||
		fail_with_log "$LOGS/redis.log" "Redis did not start on 127.0.0.1:$REDIS_PORT"
	printf 'CHAT_REDIS_ADDR=127.0.0.1:%s\n' "$REDIS_PORT" >"$ENVS/redis.env"
	record_timing "redis ready on 127.0.0.1:$REDIS_PORT" "$(elapsed_since "$t0")"
}

start_cluster() {
	local p dir t0 args addrs=()
	t0=$(now_s)
	rm -rf "$RUN_DIR/cluster"
	for p in "${CLUSTER_PORTS[@]}"; do
		dir=$RUN_DIR/cluster/$p
		mkdir -p "$dir"
		new_log "cluster-$p"
		mapfile -t args < <(redis_args "$p" "$dir")
		# node timeout 2 s: failure detection does not matter for tests, start speed does
		spawn "$dir" "$LOGS/cluster-$p.log" "$PIDS/cluster-$p.pid" redis-server "${args[@]}" \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
		addrs+=("127.0.0.1:$p")
	done
	for p in "${CLUSTER_PORTS[@]}"; do
		wait_until 20 "cluster node $p" "$PIDS/cluster-$p.pid" redis_ping "$p" ||
			fail_with_log "$LOGS/cluster-$p.log" "Redis Cluster node did not start on 127.0.0.1:$p"
	done
	new_log cluster-create
	# 3 masters, no replicas: enough to exercise slots, MOVED and CROSSSLOT on 2 cores
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
		>>"$LOGS/cluster-create.log" 2>&1 ||
		fail_with_log "$LOGS/cluster-create.log" "redis-cli --cluster create failed"
	for p in "${CLUSTER_PORTS[@]}"; do # every node must agree, not just the first
		wait_until 30 "cluster node $p" "$PIDS/cluster-$p.pid" cluster_ok "$p" ||
			fail_with_log "$LOGS/cluster-$p.log" "Redis Cluster node 127.0.0.1:$p never reached cluster_state:ok"
	done
	(
		IFS=,
		printf 'CHAT_REDIS_CLUSTER_ADDRS=%s\n' "${addrs[*]}"
	) >"$ENVS/cluster.env"
	record_timing "redis cluster ok on ports ${CLUSTER_PORTS[*]}" "$(elapsed_since "$t0")"
}

redis_job() {
	LOG_TAG=redis
	ensure_redis
	if wants redis; then start_redis; fi
	if wants cluster; then LOG_TAG=cluster start_cluster; fi
}

# --- Cassandra -----------------------------------------------------------------------

# fetch_cassandra copies cassandra-all and its runtime dependencies from Maven Central
# into .cache/cassandra/lib, once (keyed on the pom's hash). It downloads into a temp
# dir and renames, so an interrupted download never looks like a complete one.
fetch_cassandra() {
	local tmp=$CACHE_DIR/cassandra/lib.tmp t0 n
	if cassandra_jars_cached; then
		log "jars cached in $CASS_LIB"
		return 0
	fi
	t0=$(now_s)
	log "fetching Cassandra jars from Maven Central into $CASS_LIB (once)"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	run_task maven "$MAVEN_TIMEOUT" mvn -B -q -f "$STACK_SRC/cassandra/pom.xml" \
		dependency:copy-dependencies "-Dcassandra.lib.dir=$tmp" ||
		fail_with_log "$LOGS/maven.log" "Maven could not fetch Cassandra (is Maven Central reachable? see $LOGS/maven.log)"
	compgen -G "$tmp/cassandra-all-*.jar" >/dev/null ||
		fail_with_log "$LOGS/maven.log" "Maven finished but cassandra-all is not in $tmp"
	touch "$tmp/.fetched-$(pom_hash)"
	rm -rf "$CASS_LIB"
	mv "$tmp" "$CASS_LIB"
	n=$(find "$CASS_LIB" -name '*.jar' | wc -l)
	record_timing "fetched $n jars ($(du -sh "$CASS_LIB" | cut -f1))" "$(elapsed_since "$t0")"
}

# jvm_options prints the flags from cassandra/jvm17.options, minus comments, minus the
# jdk.compiler/jdk.attach ones when this java is a JRE (no javac, no such modules).
jvm_options() {
	local javac
	javac=$(dirname "$JAVA17")/javac
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$STACK_SRC/cassandra/jvm17.options" |
		if [[ -x $javac ]]; then cat; else grep -vE 'jdk\.(compiler|attach)/'; fi
}

start_cassandra() {
	local home=$RUN_DIR/cassandra conf t0 jamm jvm props
	conf=$home/conf
	# A fresh data dir every start: no commit log replay, no leftovers from
	# other runs. CHAT_STACK_KEEP_DATA=1 keeps it, for tests that restart
	# Cassandra and expect their data back (a real restart, not a new node).
	if [[ ${CHAT_STACK_KEEP_DATA:-0} == 1 && -d $home/data ]]; then
		rm -rf "$conf" "$home/tmp"
	else
		rm -rf "$home"
	fi
	mkdir -p "$conf" "$conf/triggers" "$home/data" "$home/logs" "$home/tmp"
	sed -e "s/@NATIVE_PORT@/$CASSANDRA_PORT/" -e "s/@STORAGE_PORT@/$CASSANDRA_STORAGE_PORT/" \
		"$STACK_SRC/cassandra/cassandra.yaml.tmpl" >"$conf/cassandra.yaml"
	cp "$STACK_SRC/cassandra/logback.xml" "$conf/logback.xml"
	jamm=$(compgen -G "$CASS_LIB/jamm-*.jar" | head -n 1) || fail_with_log /dev/null "no jamm jar in $CASS_LIB"
	mapfile -t jvm < <(jvm_options)
	props=(
		"-Dcassandra.config=file://$conf/cassandra.yaml"
		"-Dlogback.configurationFile=file://$conf/logback.xml"
		-Dcassandra-foreground=yes # otherwise CassandraDaemon closes stdout/stderr
		"-Dcassandra.storagedir=$home/data"
		"-Dcassandra.logdir=$home/logs"
		"-Dcassandra.native_transport_port=$CASSANDRA_PORT"
		"-Dcassandra.storage_port=$CASSANDRA_STORAGE_PORT"
		"-Djava.io.tmpdir=$home/tmp" # JNA unpacks its native library here
		"-Dcassandra.triggers_dir=$conf/triggers" # an empty one; avoids a startup warning
		"-XX:HeapDumpPath=$home"
		# Test-only startup speed-ups (see the fact sheet, section 1.4):
		-Dcassandra.skip_wait_for_gossip_to_settle=0 # single node: nothing to settle
		-Dcassandra.initial_token=0                  # with num_tokens: 1, no allocation
		-Dcassandra.load_ring_state=false
		# No cassandra.unsafesystem: it keeps the schema out of the commit log,
		# so a restarted node would forget every keyspace (the e2e restart test).
		-Dcassandra.skip_sync=true # no fsync; the page cache survives a process restart
		-Dcassandra.test.flush_local_schema_changes=false
		-Dcassandra.superuser_setup_delay_ms=0
		-Dcassandra.size_recorder_interval=0
	)
	new_log cassandra
	t0=$(now_s)
	spawn "$home" "$LOGS/cassandra.log" "$PIDS/cassandra.pid" \
		"$JAVA17" "-Xms$CASSANDRA_HEAP" "-Xmx$CASSANDRA_HEAP" "${jvm[@]}" "-javaagent:$jamm" "${props[@]}" \
		-cp "$conf:$CASS_LIB/*" org.apache.cassandra.service.CassandraDaemon
	log "started Cassandra (pid $(read_pid "$PIDS/cassandra.pid"), heap $CASSANDRA_HEAP, $JAVA17); waiting up to ${CASSANDRA_TIMEOUT}s for CQL"
	wait_until "$CASSANDRA_TIMEOUT" cassandra "$PIDS/cassandra.pid" cassandra_ready "$CASSANDRA_PORT" ||
		fail_with_log "$LOGS/cassandra.log" "Cassandra did not become ready on 127.0.0.1:$CASSANDRA_PORT"
	printf 'CHAT_CASSANDRA_HOSTS=127.0.0.1:%s\nCHAT_CASSANDRA_DC=datacenter1\n' "$CASSANDRA_PORT" >"$ENVS/cassandra.env"
	record_timing "cassandra ready (JVM start to CQL) on 127.0.0.1:$CASSANDRA_PORT" "$(elapsed_since "$t0")"
}

cassandra_job() {
	LOG_TAG=cassandra
	fetch_cassandra
	start_cassandra
}

# --- MinIO ---------------------------------------------------------------------------

# build_minio installs the pinned MinIO into .cache/bin once. Upstream is archived and
# ships no binaries we can fetch, so it is built from the Go module proxy.
build_minio() {
	local t0
	if minio_cached; then
		log "binary cached at $MINIO_BIN"
		return 0
	fi
	t0=$(now_s)
	log "building MinIO $MINIO_VERSION with go install (once; about 5 min on 2 cores)"
	mkdir -p "$CACHE_DIR/bin"
	run_task minio-build "$MINIO_BUILD_TIMEOUT" env GOBIN="$CACHE_DIR/bin" GOWORK=off GOTOOLCHAIN=local \
		GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" ||
		fail_with_log "$LOGS/minio-build.log" "go install of MinIO failed"
	printf '%s\n' "$MINIO_VERSION" >"$MINIO_STAMP"
	record_timing "built MinIO" "$(elapsed_since "$t0")"
}

start_minio() {
	local dir=$RUN_DIR/minio t0
	t0=$(now_s)
	rm -rf "$dir"
	mkdir -p "$dir/data"
	new_log minio
	spawn "$dir" "$LOGS/minio.log" "$PIDS/minio.pid" env \
		MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" \
		MINIO_SITE_REGION="$S3_REGION" MINIO_BROWSER=off MINIO_UPDATE=off \
		"$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" "$dir/data"
	wait_until 60 minio "$PIDS/minio.pid" minio_ready "$MINIO_PORT" ||
		fail_with_log "$LOGS/minio.log" "MinIO did not become ready on 127.0.0.1:$MINIO_PORT"
	cat >"$ENVS/minio.env" <<-EOF
		CHAT_S3_ENDPOINT=127.0.0.1:$MINIO_PORT
		CHAT_S3_ACCESS_KEY=$S3_ACCESS_KEY
		CHAT_S3_SECRET_KEY=$S3_SECRET_KEY
		CHAT_S3_REGION=$S3_REGION
	EOF
	record_timing "minio ready on 127.0.0.1:$MINIO_PORT" "$(elapsed_since "$t0")"
}

minio_job() {
	LOG_TAG=minio
	build_minio
	start_minio
}

# --- orchestration ---------------------------------------------------------------------

JOB_PIDS=()
SUCCEEDED=

# cleanup_started stops everything this invocation started: the job subshells, the
# build tools, and the servers of the services it was starting. Services that were
# already healthy before this run are not touched.
cleanup_started() {
	local pid s files=()
	trap - INT TERM EXIT
	LOG_TAG=stack
	log "stopping what this run started"
	for pid in "${JOB_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${JOB_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	for s in "${TO_START[@]}"; do
		mapfile -t -O "${#files[@]}" files < <(pidfiles_of "$s")
		rm -f "$ENVS/$s.env"
	done
	for s in "$TASKS"/*.pid; do
		if [[ -e $s ]]; then files+=("$s"); fi
	done
	((${#files[@]} == 0)) || stop_pidfiles "${files[@]}" || true
	write_env
}

on_exit() {
	local rc=$?
	[[ -n $SUCCEEDED ]] || { cleanup_started; }
	exit "$rc"
}

on_signal() {
	log "interrupted" >&2
	cleanup_started
	exit 130
}

print_env() {
	log "stack env ($RUN_DIR/env):"
	cat "$RUN_DIR/env"
	if [[ $RUN_DIR != "$REPO_ROOT/.run/stack" ]]; then
		printf 'CHAT_STACK_ENV=%s\n' "$RUN_DIR/env"
	fi
}

# launch_jobs starts the slow parts in parallel (apt+Redis, Maven+Cassandra, go
# install+MinIO) and waits; the first failure stops the rest (fail fast).
launch_jobs() {
	local -A names=()
	local done_pid rc
	if wants redis || wants cluster; then
		redis_job &
		names[$!]=redis
	fi
	if wants cassandra; then
		cassandra_job &
		names[$!]=cassandra
	fi
	if wants minio; then
		minio_job &
		names[$!]=minio
	fi
	JOB_PIDS=("${!names[@]}")
	while ((${#names[@]})); do
		rc=0
		wait -n -p done_pid "${!names[@]}" || rc=$?
		if ((rc != 0)); then
			log "ERROR: ${names[$done_pid]:-a job} failed (exit $rc)" >&2
			return 1
		fi
		unset "names[$done_pid]"
	done
}

main() {
	local s t0 files
	[[ ${1:-} == -h || ${1:-} == --help ]] && usage
	parse_services "$@"
	init_run_dir
	take_lock 10
	t0=$(now_s)

	# Build tools left running by an up.sh that was killed hard: nothing waits for them.
	for s in "$TASKS"/*.pid; do
		if [[ -e $s ]]; then stop_pidfiles "$s"; fi
	done

	TO_START=()
	for s in "${SERVICES[@]}"; do
		if service_healthy "$s"; then
			log "$s: already up"
		else
			TO_START+=("$s")
		fi
	done
	if ((${#TO_START[@]} == 0)); then
		write_env
		print_env
		return 0
	fi

	# Repair: whatever is left of a service that is not healthy is stopped first.
	for s in "${TO_START[@]}"; do
		mapfile -t files < <(pidfiles_of "$s")
		if ((${#files[@]})); then
			log "$s: not healthy, restarting it"
			stop_pidfiles "${files[@]}" || die "could not stop the old $s processes"
		fi
		rm -f "$ENVS/$s.env"
	done
	write_env

	resolve_ports
	preflight_tools
	log "starting: ${TO_START[*]} (run dir $RUN_DIR)"

	trap on_exit EXIT
	trap on_signal INT TERM
	launch_jobs || exit 1
	SUCCEEDED=1
	trap - INT TERM EXIT

	write_env
	record_timing "stack up (${TO_START[*]})" "$(elapsed_since "$t0")"
	print_env
}

main "$@"
