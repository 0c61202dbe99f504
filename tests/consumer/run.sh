#!/usr/bin/env bash
# Installs a build tree into a private prefix, checks the layout, builds tests/consumer
# against it with find_package(ipcd) and with pkg-config, and runs both against the
# installed ipcd.   usage: run.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS]
set -euo pipefail
build=$1 source=$2 flags=${3:-}
work=$(mktemp -d /tmp/ipcd-consumer-XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for file in bin/ipcd bin/ipcctl include/ipc/client.hpp include/ipc/async_client.hpp \
            include/ipc/protocol/errc.hpp include/ipc/message/record.hpp lib/libipcd_client.a \
            lib/libipcd_message.a lib/cmake/ipcd/ipcdConfig.cmake \
            lib/cmake/ipcd/ipcdConfigVersion.cmake lib/pkgconfig/ipcd-client.pc \
            lib/systemd/system/ipcd.service lib/systemd/system/ipcd.socket \
            lib/sysusers.d/ipcd.conf share/doc/ipcd/ipcd.json etc/ipcd/ipcd.json; do
  [ -e "$prefix/$file" ] || { echo "not installed: $file"; exit 1; }
done
grep -q "^prefix=$prefix\$" "$prefix/lib/pkgconfig/ipcd-client.pc" ||
  { echo "ipcd-client.pc does not name the prefix"; exit 1; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source/tests/consumer" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$flags" "${launcher[@]}" >"$work/configure.log"
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
# No -std flag of our own: ipcd-client.pc must carry it.
# shellcheck disable=SC2046,SC2086  # pkg-config's output is a list of flags
c++ $flags "$source/tests/consumer/main.cpp" -o "$work/consumer-pkg-config" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs ipcd-client)

cat >"$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/ipcd.sock"}], "storage": {"dir": "$work/data"}}
JSON
"$prefix/bin/ipcd" -c "$work/ipcd.json" 2>"$work/ipcd.log" &
pid=$!
# Up to 10 s for its "ready" line (tail -f wakes on each write; no polling).
grep -q -m1 " ready" < <(timeout 10 tail -n +1 -f "$work/ipcd.log") ||
  { cat "$work/ipcd.log"; exit 1; }
"$work/build/consumer" "unix://$work/ipcd.sock"
"$work/consumer-pkg-config" "unix://$work/ipcd.sock"
"$prefix/bin/ipcctl" --url "unix://$work/ipcd.sock" status >/dev/null
kill -TERM "$pid"
wait "$pid"
pid=""
echo "installed tree: find_package and pkg-config consumers ok"
