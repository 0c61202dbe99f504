#!/bin/sh
# The container's entry point (docs/operations.md §6). With no arguments it serves the
# image's config, which lets in only the container's own account over the Unix socket;
# a token for TCP clients comes from IPCD_TOKEN, or from the file named by
# IPCD_TOKEN_FILE (a mounted secret), and is added — as its hash, for the user
# remote-admin — to a copy of that config written at each start to a directory only the
# broker's account can read (/etc/ipcd/generated, not a volume).
# With arguments it runs `ipcd ARGS` unchanged (a config of your own: `-c FILE`).
set -eu
ipcd=${IPCD_BIN:-ipcd}
ipcctl=${IPCCTL_BIN:-ipcctl}
config=${IPCD_IMAGE_CONFIG:-/etc/ipcd/ipcd.json}
generated_dir=${IPCD_GENERATED_DIR:-/etc/ipcd/generated}

if [ "$#" -gt 0 ]; then
  exec "$ipcd" "$@"
fi

token=${IPCD_TOKEN:-}
if [ -z "$token" ] && [ -n "${IPCD_TOKEN_FILE:-}" ]; then
  if [ ! -r "$IPCD_TOKEN_FILE" ]; then
    echo "ipcd entrypoint: IPCD_TOKEN_FILE $IPCD_TOKEN_FILE cannot be read" >&2
    exit 2
  fi
  token=$(head -n 1 "$IPCD_TOKEN_FILE")
fi
if [ -z "$token" ]; then
  echo "ipcd entrypoint: no IPCD_TOKEN or IPCD_TOKEN_FILE: TCP clients cannot log in;" \
       "the Unix socket serves the container's own account" >&2
  exec "$ipcd" -c "$config"
fi
if [ "${#token}" -lt 16 ]; then
  echo "ipcd entrypoint: the token is shorter than 16 characters; make one with" \
       "'ipcctl passwd --token'" >&2
  exit 2
fi
hash=$(printf '%s\n' "$token" | "$ipcctl" passwd --hash-token)
generated="$generated_dir/ipcd.json"
umask 077
sed "s|\"tokens\": \[\]|\"tokens\": [ { \"hash\": \"$hash\", \"user\": \"remote-admin\" } ]|" \
  "$config" > "$generated.tmp"
if ! grep -q "$hash" "$generated.tmp"; then
  echo "ipcd entrypoint: $config has no '\"tokens\": []' to fill in" >&2
  exit 2
fi
mv "$generated.tmp" "$generated"
exec "$ipcd" -c "$generated"
