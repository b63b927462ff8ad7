# syntax=docker/dockerfile:1
# Sluice's container image: built with the Swift image's toolchain by scripts/release.sh
# (the Swift runtime linked in, stripped), run on Debian bookworm-slim as a non-root user
# with only the packages in deploy/runtime-packages. scripts/test-release.sh runs the same
# binary, config, user and packages in a minimal Debian root in CI. See docs/deploy.md.
#
#   docker build -t sluice:0.9.0 .
#   docker run -d --name sluice -p 8080:8080 -v sluice-data:/var/lib/sluice \
#       -e SLUICE_ADMIN_KEY -e SLUICE_APP_KEY sluice:0.9.0

FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsqlite3-dev binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The dependencies first, so that a change to the sources does not fetch them again.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts ./scripts
COPY deploy ./deploy
# The commit for BUILD-INFO (the build context has no .git): docker build --build-arg SLUICE_COMMIT=$(git rev-parse --short=12 HEAD) .
ARG SLUICE_COMMIT=unknown
RUN SLUICE_COMMIT=$SLUICE_COMMIT scripts/release.sh --out /out

FROM debian:bookworm-slim
COPY deploy/runtime-packages /tmp/runtime-packages
RUN apt-get update \
    && apt-get install -y --no-install-recommends $(grep -vE '^\s*(#|$)' /tmp/runtime-packages) \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
    && useradd --system --no-create-home --home-dir /var/lib/sluice --shell /usr/sbin/nologin sluice \
    && install -d -m 0755 /etc/sluice \
    && install -d -m 0750 -o sluice -g sluice /var/lib/sluice
COPY --from=build /out/sluice /usr/local/bin/sluice
COPY --from=build /out/BUILD-INFO /usr/local/share/sluice/BUILD-INFO
COPY deploy/sluice.yaml /etc/sluice/sluice.yaml
USER sluice
WORKDIR /var/lib/sluice
# /etc/sluice: the config (and prompt files); /var/lib/sluice: the SQLite database.
VOLUME ["/etc/sluice", "/var/lib/sluice"]
EXPOSE 8080
# SIGTERM: stop accepting, finish in-flight calls, drain the call log, exit 0. Give it
# time: docker stop -t 90 (compose: stop_grace_period), not Docker's default 10 s.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["sluice", "healthcheck", "--config", "/etc/sluice/sluice.yaml"]
ENTRYPOINT ["sluice"]
CMD ["serve", "--config", "/etc/sluice/sluice.yaml"]
