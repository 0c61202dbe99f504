# ipcd message broker in a container (docs/operations.md §6).
#
#   docker build -t ipcd .
#   docker run -p 7878:7878 -e IPCD_TOKEN="$(openssl rand -base64 32)" \
#     -v ipcd-data:/var/lib/ipcd ipcd
#
# Secure by default: the image's config (packaging/docker/ipcd.json) lets in only the
# container's own account, over the Unix socket. TCP clients need the token given in
# IPCD_TOKEN or in the file IPCD_TOKEN_FILE names (a mounted secret); or mount a config of
# your own and pass `-c FILE` (docs/security.md, docs/operations.md §6).

# --- build: the release preset, as scripts/run.sh builds it ---------------------------
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/setup.sh release \
 && cmake --install build/release --prefix /opt/ipcd

# --- runtime --------------------------------------------------------------------------
FROM debian:bookworm-slim
# What the binaries link dynamically besides libc and libstdc++: OpenSSL 3, spdlog, fmt.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libspdlog1.10 libfmt9 \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid and gid, so that volumes and clients sharing the socket can rely on them.
RUN groupadd --system --gid 10001 ipcd \
 && useradd --system --uid 10001 --gid ipcd --home-dir /var/lib/ipcd \
      --shell /usr/sbin/nologin ipcd \
 && install -d -o ipcd -g ipcd -m 0755 /run/ipcd \
 && install -d -o ipcd -g ipcd -m 0750 /var/lib/ipcd \
 && install -d -m 0755 /etc/ipcd \
 && install -d -o ipcd -g ipcd -m 0700 /etc/ipcd/generated
COPY --from=build /opt/ipcd/bin/ /opt/ipcd/bin/
COPY packaging/docker/entrypoint.sh /opt/ipcd/bin/docker-entrypoint
COPY packaging/docker/healthcheck.sh /opt/ipcd/bin/docker-healthcheck
COPY packaging/docker/ipcd.json /etc/ipcd/ipcd.json
ENV PATH=/opt/ipcd/bin:$PATH
# /run/ipcd: the Unix socket, to share with other containers; /var/lib/ipcd: durable queues.
VOLUME ["/run/ipcd", "/var/lib/ipcd"]
# The native protocol, and the monitoring endpoint (/metrics, /healthz, the dashboard).
EXPOSE 7878 7880
USER ipcd
# GET /healthz on the monitoring endpoint (open without credentials: http.public).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["docker-healthcheck"]
# A graceful stop: stop accepting, tell clients, flush, exit 0. Give it time with
# `docker stop -t` / --stop-timeout when durable queues hold much unsynced data.
STOPSIGNAL SIGTERM
# No arguments: the image's config, with the token of IPCD_TOKEN / IPCD_TOKEN_FILE if
# one is given; arguments go to ipcd unchanged (`-c /path/to/your.json`).
ENTRYPOINT ["docker-entrypoint"]
CMD []
