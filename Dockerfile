# SmartVault image: one static binary in a scratch image (DESIGN.md §1).
#
# The builder stage runs the same ./build.sh as a developer does: it fetches the pinned sources of
# vendor/manifest through a private apt configuration (derived from this stage's own apt sources), checks their
# SHA-256, builds BearSSL and libcurl with musl, then the binary. The final image holds that binary and nothing
# else: the CA bundle is compiled in, it writes no files (a read-only root filesystem is fine), and it runs as
# an unprivileged user.
#
#   ./build.sh image      builds it with buildah (no Docker engine needed) and inspects the result
#   docker build -t smartvault .
FROM debian:trixie-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        musl-tools binutils make gcc xz-utils ca-certificates debian-archive-keyring \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The dependency cache (downloads, private apt indexes, built BearSSL/curl) is kept between builds by the
# builder when it can (BuildKit, buildah); a build without it starts from nothing and gets the same binary.
RUN --mount=type=cache,target=/root/.cache/smartvault ./build.sh

FROM scratch
# VERSION must equal SMARTVAULT_VERSION in src/version.h (tests/image checks it); SOURCE is the repository URL.
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="smartvault" \
      org.opencontainers.image.description="SmartVault: one backup cycle of AWS resources (EBS snapshots, cross-region copies, retention, S3) per container start" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /src/build/smartvault /smartvault
USER 65532:65532
ENTRYPOINT ["/smartvault"]
