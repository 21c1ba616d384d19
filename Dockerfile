# syntax=docker/dockerfile:1
#
# One image, both binaries: sluice-api (serve, migrate, bots, sources, healthcheck) and
# sluice-worker (run, dlq, healthcheck).
#   docker build -t sluice .
#   docker run --rm sluice                                   # sluice-api serve (needs env)
#   docker run --rm sluice /usr/local/bin/sluice-worker run
# Kubernetes and compose set the command explicitly (deploy/).

# --- build -----------------------------------------------------------------------------------
# Debian 12, like the runtime below: the binaries link against the same glibc.
FROM rust:1-bookworm AS builder
WORKDIR /src

# The image carries no debug info (profile locally for that); keeps the binaries small.
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_TERM_COLOR=never

# The whole workspace (the context is filtered by .dockerignore): cargo needs every member's
# manifest even though only two packages are built.
COPY . .

# The git commit, for the revision label of sluice_build_info (docs/observability.md):
#   docker build --build-arg SLUICE_REVISION=$(git rev-parse --short HEAD) .
# Read at compile time; unset, the label says `unknown`.
ARG SLUICE_REVISION

# Cache mounts keep the registry and target/ between builds; the binaries are copied out of
# the cached target/ because cache mounts are not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p sluice-api -p sluice-worker \
 && install -D -m 0755 -t /out target/release/sluice-api target/release/sluice-worker

# --- runtime ---------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc, CA certificates and tzdata; no shell, no package manager.
# sluice links nothing else (no OpenSSL). Its Postgres, Redis and HTTP clients are built
# without TLS today; the CA certificates are there for when a TLS feature is turned on.
FROM gcr.io/distroless/cc-debian12:nonroot

COPY --from=builder /out/sluice-api /out/sluice-worker /usr/local/bin/

# Numeric, so Kubernetes' runAsNonRoot can verify it (the manifests set the same 65532).
USER 65532:65532

# Container health (Docker, compose): no shell and no curl here, so each binary asks its own
# admin listener (SLUICE_ADMIN_ADDR) and exits 0 or 1: `sluice-api healthcheck` (/healthz;
# `--ready` for /readyz). This one fits the default command; a worker container overrides it
# with ["CMD", "/usr/local/bin/sluice-worker", "healthcheck"]. Kubernetes ignores HEALTHCHECK
# and probes the admin port itself (deploy/k8s).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/sluice-api", "healthcheck"]

# 8080 webhooks (api), 9090 api admin, 9091 worker admin. The admin listeners default to
# loopback: set SLUICE_ADMIN_ADDR=0.0.0.0:9090 (or :9091) for probes and scrapes from outside.
EXPOSE 8080 9090 9091

CMD ["/usr/local/bin/sluice-api", "serve"]
