# syntax=docker/dockerfile:1
# router: per-region user/device to gateway routing.
# Build from the repository root (the context must hold shared/ and router/):
#   docker build -f deploy/docker/router.Dockerfile -t parleychat/router:dev .
# or deploy/docker/build.sh for every image.
ARG GO_IMAGE=golang:1.26.8
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Each service module builds on its own (replace => ../shared), so the image
# needs only its module, shared, and parleyctl; the workspace stays out.
ENV CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=local GOFLAGS=-trimpath
COPY shared/go.mod shared/go.sum shared/
COPY router/go.mod router/go.sum router/
COPY deploy/parleyctl/go.mod deploy/parleyctl/go.sum deploy/parleyctl/
RUN cd router && go mod download && cd ../deploy/parleyctl && go mod download
COPY shared/ shared/
COPY router/ router/
COPY deploy/parleyctl/ deploy/parleyctl/
RUN --mount=type=cache,target=/root/.cache/go-build cd router && go build -ldflags="-s -w" -o /out/router ./cmd/router
RUN --mount=type=cache,target=/root/.cache/go-build cd deploy/parleyctl && go build -ldflags="-s -w" -o /out/parleyctl .
# An empty working directory the non-root user owns (distroless has no mkdir).
RUN mkdir -p /out/home

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/router /out/parleyctl /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/home /var/lib/parley
WORKDIR /var/lib/parley
USER 65532:65532
# Inside a container the listeners bind every interface; the internal one is
# kept internal by the network (Compose networks, Kubernetes NetworkPolicy).
ENV CHAT_INTERNAL_ADDR=0.0.0.0:7106
EXPOSE 7106
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/parleyctl", "health", "http://127.0.0.1:7106/healthz"]
ENTRYPOINT ["/usr/local/bin/router"]
