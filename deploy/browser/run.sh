#!/usr/bin/env bash
# The browser tests of the web client: installs Debian's chromium if needed,
# playwright-core from the committed lockfile, then runs tests/ with Node's
# own test runner against each mode in PARLEY_BROWSER_MODES (default
# "allinone,stack": the one-binary platform and production-on-one-machine,
# which needs the real stack up). Screenshots: test-output/browser/<mode>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
bash ./install-chromium.sh
# From the lockfile; the npm cache makes later runs work without the registry.
npm ci --prefer-offline --no-audit --no-fund
export PARLEY_BROWSER_MODES=${PARLEY_BROWSER_MODES:-allinone,stack}
exec node --test --test-concurrency=1 --test-timeout=900000 tests/
