#!/usr/bin/env bash
# Static checks that need no server: formatting, vet, and that each module
# builds and is tidy on its own (GOWORK=off), as a consumer would build it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "=== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "=== go vet work"
go vet work

echo "=== each module with GOWORK=off: build and go mod tidy -diff"
for mod in $(go list -m -f '{{.Dir}}'); do
  (cd "$mod" && GOWORK=off go build ./... && GOWORK=off go mod tidy -diff) || { echo "module $mod failed" >&2; exit 1; }
  echo "ok  $mod"
done
