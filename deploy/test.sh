#!/usr/bin/env bash
# The project's test command (make test, and so .ci/run): brings the real
# stack up, runs static checks and every test against it, and always takes
# the stack down again, also on failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n=== %s\n' "$*"; }

step "stack up"
trap 'step "stack down"; bash deploy/stack/down.sh' EXIT
bash deploy/stack/up.sh
export CHAT_STACK_ENV="${CHAT_STACK_DIR:-$root/.run/stack}/env"
unset CHAT_TEST_QUICK

bash deploy/checks.sh

step "stack smoke tests (Cassandra, Redis, Redis Cluster, MinIO)"
go test -race -count=1 -v -timeout 10m ./deploy/stacktest/...

step "go test -race (all workspace modules, against the real stack)"
go test -race -count=1 -timeout 20m $(go list work | grep -v -e /deploy/stacktest -e /deploy/e2e)

# The end-to-end tests run real service processes, and one of them stops
# and restarts the stack's Cassandra: they run alone, after everything else.
step "end-to-end tests (service processes against the real stack)"
go test -race -count=1 -p 1 -timeout 20m -v ./deploy/e2e/... 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|_test.go' 

# The web client in headless Chromium (Debian's package, installed if
# missing), against the all-in-one binary and then against run-stack.sh.
step "browser tests of the web client (all-in-one binary, then production on one machine)"
bash deploy/browser/run.sh
