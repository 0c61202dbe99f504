#!/usr/bin/env bash
# The container's entry point and config (packaging/docker/, docs/operations.md §6)
# without a container engine: the image's config with this machine's paths, account and
# an ephemeral port, run through the entry point as the image runs it. Without a token
# only the local account gets in (over the Unix socket); IPCD_TOKEN or IPCD_TOKEN_FILE
# let TCP clients in with that token only; arguments go to ipcd unchanged.
#   usage: entrypoint_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
ipcd=$build/broker/ipcd ipcctl=$build/ipcctl/ipcctl
entry=$source/packaging/docker/entrypoint.sh
work=$(mktemp -d /tmp/ipcd-entry-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$work/log" 2>/dev/null || true; exit 1; }

mkdir -p "$work/run" "$work/generated"
sed -e "s|/run/ipcd|$work/run|g" -e "s|/var/lib/ipcd|$work/data|g" \
    -e "s|tcp://0.0.0.0:7878|tcp://127.0.0.1:0|" -e "s|http://0.0.0.0:7880|http://127.0.0.1:0|" \
    -e "s|\"ipcd\": \"local-admin\"|\"$(id -un)\": \"local-admin\"|" \
    "$source/packaging/docker/ipcd.json" > "$work/ipcd.json"
"$ipcd" -c "$work/ipcd.json" --check >/dev/null || fail "the image's config does not check"
"$ipcd" -c "$source/packaging/docker/ipcd.json" --check >/dev/null ||
  fail "the image's config as shipped does not check"

port=""
start() {  # start [VAR=VALUE...]: the entry point as the image runs it, until ready
  env "$@" IPCD_BIN="$ipcd" IPCCTL_BIN="$ipcctl" IPCD_IMAGE_CONFIG="$work/ipcd.json" \
    IPCD_GENERATED_DIR="$work/generated" "$entry" 2>"$work/log" &
  pid=$!
  grep -q -m1 " ready" < <(timeout 10 tail -n +1 -f "$work/log") || fail "no ready line"
  port=$(grep -o 'listening on tcp://127.0.0.1:[0-9]*' "$work/log" | grep -o '[0-9]*$')
  http_port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/log" | grep -o '[0-9]*$')
}
health() {  # the image's HEALTHCHECK against the running broker: its exit code
  IPCD_HEALTH_PORT="$http_port" "$source/packaging/docker/healthcheck.sh" 2>/dev/null &&
    echo 0 || echo $?
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
status() {  # status URL [ipcctl options...]: ipcctl's exit code
  local url=$1; shift
  "$ipcctl" --url "$url" --timeout 5s "$@" status >/dev/null 2>&1 && echo 0 || echo $?
}
unix_url="unix://$work/run/ipcd.sock"

# 1. No token: the local account over the socket only.
start
grep -q "no IPCD_TOKEN or IPCD_TOKEN_FILE" "$work/log" || fail "no word about the missing token"
[ "$(status "$unix_url")" = 0 ] || fail "the local account is refused on the socket"
[ "$(status "tcp://127.0.0.1:$port")" = 2 ] || fail "anonymous TCP is let in"
[ "$(status "tcp://127.0.0.1:$port" --token guessed-token-123456)" = 2 ] || fail "a guess is let in"
# The HEALTHCHECK: /healthz is open while the rest of the endpoint needs credentials.
[ "$(health)" = 0 ] || fail "the healthcheck fails on a healthy broker"
stop
[ "$(health)" = 1 ] || fail "the healthcheck passes with no broker"

# 2. IPCD_TOKEN: that token, and only it, over TCP; the config holds its hash only.
token=tok-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
start IPCD_TOKEN="$token"
[ "$(status "tcp://127.0.0.1:$port" --token "$token")" = 0 ] || fail "the token is refused"
[ "$(status "tcp://127.0.0.1:$port" --token "$token-x")" = 2 ] || fail "a wrong token is let in"
[ "$(status "tcp://127.0.0.1:$port")" = 2 ] || fail "anonymous TCP is let in with a token set"
[ "$(stat -c %a "$work/generated/ipcd.json")" = 600 ] || fail "the generated config is readable"
grep -q "$token" "$work/generated/ipcd.json" && fail "the generated config holds the token"
grep -q 'sha256\$' "$work/generated/ipcd.json" || fail "the generated config has no hash"
stop

# 3. IPCD_TOKEN_FILE: a mounted secret.
printf '%s\n' "$token" > "$work/secret"
start IPCD_TOKEN_FILE="$work/secret"
[ "$(status "tcp://127.0.0.1:$port" --token "$token")" = 0 ] || fail "the secret's token is refused"
stop

# 4. A token too short to be a secret, or an unreadable file: no start.
code=0
env IPCD_TOKEN=short IPCD_BIN="$ipcd" IPCCTL_BIN="$ipcctl" IPCD_IMAGE_CONFIG="$work/ipcd.json" \
  IPCD_GENERATED_DIR="$work/generated" "$entry" 2>"$work/log" || code=$?
[ "$code" = 2 ] || fail "a short token was accepted ($code)"
code=0
env IPCD_TOKEN_FILE="$work/missing" IPCD_BIN="$ipcd" IPCD_IMAGE_CONFIG="$work/ipcd.json" \
  "$entry" 2>"$work/log" || code=$?
[ "$code" = 2 ] || fail "a missing token file was accepted ($code)"

# 5. Arguments go to ipcd as they are.
IPCD_BIN="$ipcd" "$entry" --version | grep -q "^ipcd " || fail "arguments are not passed on"
echo "container entry point: 5 checks passed"
