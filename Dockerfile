# syntax=docker/dockerfile:1
# The stash image for real clusters: the operator, the data-plane Functions
# and the resolver in one static binary, plus restic and the PostgreSQL /
# MariaDB client tools the database Functions run.
#
#   docker build -t stash:v0.1.0 --build-arg VERSION=v0.1.0 .
#
# The recipe is hack/image/ (the suite, the packages, the user), which
# hack/build-images.sh also builds from, without a registry or a Docker
# daemon, for the local cluster's end-to-end tests. A test (hack/lib) keeps
# the values written out below equal to hack/image/stash.env and
# hack/versions.env.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ARG RESTIC_VERSION=0.18.1
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" \
      github.com/restic/restic/cmd/restic@v${RESTIC_VERSION}
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=v0.1.0-dev
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/stash-operator/stash/internal/version.Version=${VERSION}" \
      -o /out/stash ./cmd/stash

FROM debian:trixie-slim
COPY hack/image/stash.env hack/image/stash-rootfs.sh /tmp/image/
RUN . /tmp/image/stash.env \
 && apt-get update \
 && apt-get install -y --no-install-recommends $PACKAGES \
 && rm -rf /var/lib/apt/lists/* \
 && sh /tmp/image/stash-rootfs.sh / \
 && rm -rf /tmp/image
COPY --from=build /out/stash /out/restic /usr/local/bin/
ARG VERSION=v0.1.0-dev
LABEL org.opencontainers.image.title="stash" org.opencontainers.image.version="${VERSION}"
# Non-root by default (config/manager runs the operator as 65532 too); Jobs
# that must keep file owners (restores) run as root through their pod spec.
USER 65532:65532
WORKDIR /home/stash
ENTRYPOINT ["/usr/local/bin/stash"]
