#!/usr/bin/env bash
# Builds every Parley image from the repository root:
#   deploy/docker/build.sh [tag]          (default tag: dev)
#   REGISTRY=registry.example.com/parleychat PUSH=1 deploy/docker/build.sh 1.4.0
# Needs a Docker engine with BuildKit (Docker 23+, or docker buildx). The
# images are parleychat/<service>:<tag> and parleychat/parley:<tag> (the
# all-in-one binary); deploy/k8s and deploy/compose refer to those names.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tag=${1:-${TAG:-dev}}
registry=${REGISTRY:-parleychat}
services=(gateway authsvc messagesvc receiptsvc groupsvc mediasvc router)

if ! docker info >/dev/null 2>&1; then
  echo "build.sh: no Docker engine reachable (docker info failed); nothing built" >&2
  exit 1
fi

build() { # image dockerfile
  echo "=== $1"
  DOCKER_BUILDKIT=1 docker build -f "$2" -t "$1" .
  if [ "${PUSH:-0}" = 1 ]; then docker push "$1"; fi
}

for svc in "${services[@]}"; do
  build "$registry/$svc:$tag" "deploy/docker/$svc.Dockerfile"
done
build "$registry/parley:$tag" deploy/docker/allinone.Dockerfile
