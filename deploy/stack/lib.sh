# shellcheck shell=bash
# Helpers shared by up.sh and down.sh (sourced, never executed).
#
# Run directory layout (default <repo>/.run/stack, override with CHAT_STACK_DIR):
#   lock              flock(1) file: one up.sh/down.sh at a time
#   env               KEY=VALUE lines for the services that are up (read by shared/stackenv)
#   envs/<svc>.env    the same, per service; env is their concatenation
#   pids/*.pid        one per server process up.sh started
#   tasks/*.pid       build/download tools up.sh is running (mvn, go install)
#   logs/*.log        every server's and tool's output, kept across down.sh
#   redis/ cluster/<port>/ cassandra/ minio/   working and data dirs (wiped on start)
#
# A process counts as "ours" only if its current directory is inside the run dir:
# every process is started with its cwd there (Redis chdirs to its --dir, which is
# there too). That guards against killing an unrelated process that reused a PID,
# and Redis rewrites its argv, so the command line could not be used for this.

STACK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$STACK_SRC/../.." && pwd -P)
# shellcheck disable=SC2034 # used by up.sh
CACHE_DIR=${CHAT_STACK_CACHE:-$REPO_ROOT/.cache}
ALL_SERVICES=(redis cluster cassandra minio)
STOP_TIMEOUT=${CHAT_STACK_STOP_TIMEOUT:-20}   # seconds between SIGTERM and SIGKILL

log() { printf '%s %-9s %s\n' "$(date +%H:%M:%S)" "[${LOG_TAG:-stack}]" "$*"; }
warn() { log "WARNING: $*" >&2; }
die() { log "ERROR: $*" >&2; exit 1; }

# now_s prints a fractional timestamp; elapsed_since T prints seconds since T (1 decimal).
now_s() { printf '%s' "$EPOCHREALTIME"; }
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# init_run_dir creates the run dir and sets RUN_DIR (canonical, for the cwd check) and friends.
init_run_dir() {
	local dir=${CHAT_STACK_DIR:-$REPO_ROOT/.run/stack}
	mkdir -p "$dir" || die "cannot create run dir $dir"
	RUN_DIR=$(cd "$dir" && pwd -P)
	[[ $RUN_DIR != / ]] || die "CHAT_STACK_DIR must not be /"
	LOGS=$RUN_DIR/logs PIDS=$RUN_DIR/pids TASKS=$RUN_DIR/tasks ENVS=$RUN_DIR/envs
	mkdir -p "$LOGS" "$PIDS" "$TASKS" "$ENVS"
}

# take_lock serialises up.sh and down.sh on fd 9. Every process we spawn closes fd 9,
# otherwise a long-lived server would keep the lock forever.
take_lock() {
	exec 9>"$RUN_DIR/lock"
	flock -w "${1:-10}" 9 || die "another deploy/stack/up.sh or down.sh holds $RUN_DIR/lock; wait for it or interrupt it"
}

# parse_services validates service names into SERVICES (default: all).
parse_services() {
	SERVICES=()
	local s ok a
	for s in "$@"; do
		ok=
		for a in "${ALL_SERVICES[@]}"; do [[ $s == "$a" ]] && ok=1; done
		[[ -n $ok ]] || die "unknown service '$s' (choose from: ${ALL_SERVICES[*]})"
		SERVICES+=("$s")
	done
	((${#SERVICES[@]})) || SERVICES=("${ALL_SERVICES[@]}")
}

# pid_is_ours PID: alive (not a zombie) and running inside the run dir.
pid_is_ours() {
	local pid=$1 cwd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
	[[ $cwd == "$RUN_DIR" || $cwd == "$RUN_DIR"/* ]]
}

read_pid() { local p; read -r p <"$1" 2>/dev/null && printf '%s' "$p"; }

# pidfiles_of SVC prints the pid files that belong to a service.
pidfiles_of() {
	local f
	case $1 in
	cluster) for f in "$PIDS"/cluster-*.pid; do [[ -e $f ]] && printf '%s\n' "$f"; done ;;
	*) [[ -e $PIDS/$1.pid ]] && printf '%s\n' "$PIDS/$1.pid" ;;
	esac
	return 0
}

# stop_pidfiles FILE...: SIGTERM every live process (whole process group) at once, wait
# up to STOP_TIMEOUT, SIGKILL the rest, then delete the pid files. Parallel because Redis
# and Cassandra each take a second or more to shut down. Returns 1 if any survived.
stop_pidfiles() {
	local f pid live=() survivors=() deadline
	for f in "$@"; do
		pid=$(read_pid "$f") || true
		if pid_is_ours "$pid"; then
			live+=("$pid")
			# Negative PID: the process group; everything is started with setsid, so the
			# group is the server (or tool) and any children it forked.
			kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	deadline=$((SECONDS + STOP_TIMEOUT))
	while ((${#live[@]})); do
		survivors=()
		for pid in "${live[@]}"; do pid_is_ours "$pid" && survivors+=("$pid"); done
		live=("${survivors[@]}")
		((${#live[@]})) || break
		if ((SECONDS >= deadline)); then
			warn "still running after ${STOP_TIMEOUT}s, sending SIGKILL: ${live[*]}"
			for pid in "${live[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
			sleep 1
			survivors=()
			for pid in "${live[@]}"; do pid_is_ours "$pid" && survivors+=("$pid"); done
			live=("${survivors[@]}")
			break
		fi
		sleep 0.1
	done
	for f in "$@"; do rm -f "$f"; done
	if ((${#live[@]})); then
		warn "could not stop: ${live[*]}"
		return 1
	fi
	return 0
}

# write_env concatenates the per-service env files into RUN_DIR/env (atomically), or
# removes it when nothing is up, so tests fail with "run up.sh" rather than time out.
write_env() {
	local s tmp=$RUN_DIR/env.tmp.$$ any=
	: >"$tmp"
	for s in "${ALL_SERVICES[@]}"; do
		if [[ -s $ENVS/$s.env ]]; then
			cat "$ENVS/$s.env" >>"$tmp"
			any=1
		fi
	done
	if [[ -n $any ]]; then
		mv -f "$tmp" "$RUN_DIR/env"
	else
		rm -f "$tmp" "$RUN_DIR/env"
	fi
}
