#!/usr/bin/env bash
# Installs Debian's chromium when it is missing (the browser tests never
# download a browser of their own). Needs root, as the test machines run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "installing Debian's chromium ..."
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium; then
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi
/usr/bin/chromium --version
