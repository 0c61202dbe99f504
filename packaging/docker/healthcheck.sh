#!/bin/bash
# The container's HEALTHCHECK (docs/operations.md §6, docs/monitoring.md §2): GET /healthz
# from the monitoring endpoint with bash's own /dev/tcp, as the image has no HTTP client.
# Healthy (exit 0) on "200"; otherwise the status line, or why there was none, and exit 1.
host=${IPCD_HEALTH_HOST:-127.0.0.1}
port=${IPCD_HEALTH_PORT:-7880}
if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "ipcd healthcheck: cannot connect to $host:$port" >&2
  exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
if ! IFS= read -r -t 5 status <&3; then
  echo "ipcd healthcheck: no answer from $host:$port" >&2
  exit 1
fi
case "$status" in
  "HTTP/1.1 200 "*) exit 0 ;;
  *) echo "ipcd healthcheck: ${status%$'\r'}" >&2; exit 1 ;;
esac
