# lbauthz's image: static binaries (the sidecar, and the Kubernetes sidecar
# injector beside it) on an empty root, run as uid 65532, with
# no shell. Where a registry is reachable:
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t lbauthz .
#
# `make image` assembles the same final stage without a daemon or a registry
# (cmd/ociimage): the binaries built as below, the CA bundle, the same user,
# entrypoint and labels.

ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -tags grpcnotrace \
      -ldflags "-s -w -X github.com/lbauthz/lbauthz/internal/buildinfo.version=${VERSION}" \
      -o /out/lbauthz ./cmd/lbauthz && \
    CGO_ENABLED=0 go build -trimpath -tags grpcnotrace \
      -ldflags "-s -w -X github.com/lbauthz/lbauthz/internal/buildinfo.version=${VERSION}" \
      -o /out/lbauthz-injector ./cmd/lbauthz-injector

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="lbauthz" \
      org.opencontainers.image.description="Liveblocks authentication in front of an unchanged app" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/lbauthz/lbauthz"
# TLS to Liveblocks needs the CA roots; nothing else comes from the builder.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/lbauthz /lbauthz
# The Kubernetes sidecar injector, run by the Helm chart's webhook Deployment.
COPY --from=build /out/lbauthz-injector /lbauthz-injector
USER 65532:65532
ENTRYPOINT ["/lbauthz"]
