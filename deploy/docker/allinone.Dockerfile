# syntax=docker/dockerfile:1
# parley: the all-in-one binary (every service in one process, embedded
# stores under its data directory, the web client on the gateway's port).
# Build from the repository root:
#   docker build -f deploy/docker/allinone.Dockerfile -t parleychat/parley:dev .
#   docker run -p 8080:8080 -v parley-data:/var/lib/parley -e CHAT_INTERNAL_SECRET=… parleychat/parley:dev
ARG GO_IMAGE=golang:1.26.8
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
WORKDIR /src
# The all-in-one module depends on every service, so it builds in workspace
# mode; the go command then needs the go.mod of every module go.work lists
# (deploy/manifestcheck's TestDockerfilesCopyTheModulesTheyBuild keeps this
# list in step with go.work).
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
COPY go.work ./
COPY shared/go.mod shared/go.sum shared/
COPY authsvc/go.mod authsvc/go.sum authsvc/
COPY gateway/go.mod gateway/go.sum gateway/
COPY groupsvc/go.mod groupsvc/go.sum groupsvc/
COPY mediasvc/go.mod mediasvc/go.sum mediasvc/
COPY messagesvc/go.mod messagesvc/go.sum messagesvc/
COPY receiptsvc/go.mod receiptsvc/go.sum receiptsvc/
COPY router/go.mod router/go.sum router/
COPY allinone/go.mod allinone/go.sum allinone/
COPY deploy/chatload/go.mod deploy/chatload/go.sum deploy/chatload/
COPY deploy/e2e/go.mod deploy/e2e/go.sum deploy/e2e/
COPY deploy/stacktest/go.mod deploy/stacktest/go.sum deploy/stacktest/
COPY deploy/manifestcheck/go.mod deploy/manifestcheck/go.sum deploy/manifestcheck/
COPY deploy/parleyctl/go.mod deploy/parleyctl/go.sum deploy/parleyctl/
COPY shared/ shared/
COPY authsvc/ authsvc/
COPY gateway/ gateway/
COPY groupsvc/ groupsvc/
COPY mediasvc/ mediasvc/
COPY messagesvc/ messagesvc/
COPY receiptsvc/ receiptsvc/
COPY router/ router/
COPY allinone/ allinone/
COPY deploy/parleyctl/ deploy/parleyctl/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
  go build -ldflags="-s -w" -o /out/parley ./allinone/cmd/parley && \
  go build -ldflags="-s -w" -o /out/parleyctl ./deploy/parleyctl
RUN mkdir -p /out/home

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/parley /out/parleyctl /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/home /var/lib/parley
# Relative data directories (the default ./data/…) land in the volume.
WORKDIR /var/lib/parley
USER 65532:65532
ENV CHAT_PUBLIC_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/parleyctl", "health", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["-target=all"]
