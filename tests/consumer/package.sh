#!/usr/bin/env bash
# Builds the Debian package from a build tree (cpack -G DEB) and checks what it holds:
# binaries, units, sysusers snippet, the conffile, the postinst; then, where
# systemd-analyze exists, verifies the units as installed.   usage: package.sh BUILD_DIR
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/ipcd-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/ipcd_*.deb)
dpkg-deb -c "$deb" >"$work/contents"
for file in ./usr/bin/ipcd ./usr/bin/ipcctl ./usr/lib/systemd/system/ipcd.service \
            ./usr/lib/systemd/system/ipcd.socket ./usr/lib/sysusers.d/ipcd.conf \
            ./etc/ipcd/ipcd.json ./usr/lib/cmake/ipcd/ipcdConfig.cmake \
            ./usr/lib/pkgconfig/ipcd-client.pc; do
  grep -q " $file\$" "$work/contents" || { echo "not in the package: $file"; cat "$work/contents"; exit 1; }
done
dpkg-deb -e "$deb" "$work/control"
grep -qx "/etc/ipcd/ipcd.json" "$work/control/conffiles"
grep -q "systemd-sysusers ipcd.conf" "$work/control/postinst"
grep -q "^Depends: .*libssl3" "$work/control/control"
dpkg-deb -x "$deb" "$work/root"
grep -q "^prefix=/usr\$" "$work/root/usr/lib/pkgconfig/ipcd-client.pc"
"$work/root/usr/bin/ipcd" --check -c "$work/root/etc/ipcd/ipcd.json"
if command -v systemd-analyze >/dev/null; then
  # The units name /usr/bin/ipcd: verify them against the unpacked tree's binary.
  sed "s|/usr/bin/ipcd|$work/root/usr/bin/ipcd|g" "$work/root/usr/lib/systemd/system/ipcd.service" \
    >"$work/ipcd.service"
  cp "$work/root/usr/lib/systemd/system/ipcd.socket" "$work/ipcd.socket"
  systemd-analyze verify "$work/ipcd.service" "$work/ipcd.socket"
  echo "systemd-analyze verify: ok"
fi
echo "package $(basename "$deb"): ok"
