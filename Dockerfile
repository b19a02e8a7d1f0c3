# SmartVault image: one static binary in a scratch image (DESIGN.md §1), for linux/amd64 and linux/arm64.
#
# The builder stage always runs on the build machine's own platform (--platform=$BUILDPLATFORM) and
# cross-compiles for the target one (TARGETARCH): no emulation anywhere, and the FROM scratch stage has nothing
# to run. It runs the same ./build.sh as a developer does: musl, BearSSL and libcurl are built from the pinned
# source archives of vendor/manifest (fetched through a private apt configuration derived from this stage's own
# apt sources, SHA-256 checked), the CA certificates come from the pinned ca-certificates package. The builder
# is Debian 12, the same release (hence the same compiler) as the machine that builds and tests build/smartvault,
# so the image holds a byte-identical binary (tests/image checks the hashes).
#
#   ./build.sh image      builds both platforms with buildah into a manifest list and build/oci/ (OCI layout)
#   docker build -t smartvault .                          (the builder's platform only)
#   docker buildx build --platform linux/amd64,linux/arm64 -t REPO/smartvault:TAG --push .
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        binutils make gcc xz-utils ca-certificates debian-archive-keyring \
        gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG TARGETARCH
# The dependency cache (downloads, private apt indexes, built musl/BearSSL/curl) is kept between builds by the
# builder when it can (BuildKit, buildah); a build without it starts from nothing and gets the same binary.
RUN --mount=type=cache,target=/root/.cache/smartvault \
    arch="${TARGETARCH:-amd64}" \
    && ./build.sh "$arch" \
    && mkdir /out \
    && case "$arch" in amd64) cp build/smartvault /out/ ;; *) cp "build/$arch/smartvault" /out/ ;; esac

FROM scratch
# VERSION must equal SMARTVAULT_VERSION in src/version.h (tests/image checks it); SOURCE is the repository URL.
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="smartvault" \
      org.opencontainers.image.description="SmartVault: one backup cycle of AWS resources (EBS snapshots, cross-region copies, retention, S3) per container start" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/smartvault /smartvault
USER 65532:65532
ENTRYPOINT ["/smartvault"]
