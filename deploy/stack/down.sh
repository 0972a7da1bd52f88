#!/usr/bin/env bash
# deploy/stack/down.sh [redis] [cluster] [cassandra] [minio]
#
# Stops what deploy/stack/up.sh started (default: everything), and nothing else: only
# the PIDs in the run dir's pid files, and only if each still runs inside the run dir.
# All are sent SIGTERM at once, and SIGKILL after CHAT_STACK_STOP_TIMEOUT (20 s).
# Removes the pid files, the env entries and the throwaway data; keeps the logs.
# Safe to run twice, or when nothing is up.
set -euo pipefail
# shellcheck source=deploy/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local s f t0 dir files=() left=()
	if [[ ${1:-} == -h || ${1:-} == --help ]]; then
		sed -n '2,8s/^# \{0,1\}//p' "$0"
		exit 0
	fi
	parse_services "$@"
	dir=${CHAT_STACK_DIR:-$REPO_ROOT/.run/stack}
	if [[ ! -d $dir ]]; then
		log "nothing to stop (no run dir $dir)"
		return 0
	fi
	init_run_dir
	take_lock 30
	t0=$EPOCHREALTIME

	for s in "${SERVICES[@]}"; do
		mapfile -t -O "${#files[@]}" files < <(pidfiles_of "$s")
	done
	# A whole-stack stop also ends build tools of an up.sh that was killed hard.
	if ((${#SERVICES[@]} == ${#ALL_SERVICES[@]})); then
		for f in "$TASKS"/*.pid; do
			if [[ -e $f ]]; then files+=("$f"); fi
		done
	fi

	if ((${#files[@]})); then
		log "stopping ${SERVICES[*]} (${#files[@]} pid files)"
		stop_pidfiles "${files[@]}" || left+=("some processes")
	else
		log "nothing running for: ${SERVICES[*]}"
	fi

	for s in "${SERVICES[@]}"; do
		rm -f "$ENVS/$s.env"
		# throwaway data only; the next up.sh wipes it anyway (unless
		# CHAT_STACK_KEEP_DATA=1 asks for a restart on the same data)
		[[ ${CHAT_STACK_KEEP_DATA:-0} == 1 ]] && continue
		case $s in
		redis) rm -rf "$RUN_DIR/redis" ;;
		cluster) rm -rf "$RUN_DIR/cluster" ;;
		cassandra) rm -rf "$RUN_DIR/cassandra/data" "$RUN_DIR/cassandra/tmp" ;;
		minio) rm -rf "$RUN_DIR/minio" ;;
		esac
	done
	write_env

	# Verify: nothing of ours may be left, whether or not its pid file survived. Every
	# process up.sh starts (and anything those fork) writes its stdout to a log in
	# $LOGS, which a developer's shell or `less` in the run dir does not. One find(1)
	# over /proc, instead of a readlink per process, stays fast on a busy machine.
	while read -r f; do
		pid=${f#/proc/}
		pid=${pid%/fd/1}
		left+=("$pid:$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80 | sed "s/ *$//")")
	done < <(find /proc/[0-9]*/fd/1 -maxdepth 0 -lname "$LOGS/*" 2>/dev/null)
	if ((${#left[@]})); then
		# Only an error for a full stop; a partial stop leaves other services running.
		if ((${#SERVICES[@]} == ${#ALL_SERVICES[@]})); then
			die "still running inside $RUN_DIR: ${left[*]}"
		fi
	fi
	log "down in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s (logs kept in $LOGS)"
}

main "$@"
