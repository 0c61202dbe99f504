#!/usr/bin/env bash
# Installs the Debian packages ipcd builds with (when missing), then configures and
# builds one CMake preset: dev (default: tests, warnings as errors), release, asan-ubsan,
# tsan, or windows-cross (the Windows build, tests run under Wine).
set -euo pipefail
preset="${1:-dev}"
cd "$(dirname "$0")/.."

packages=(cmake g++ ninja-build ccache pkg-config libasio-dev libspdlog-dev nlohmann-json3-dev
          libcli11-dev doctest-dev libssl-dev openssl)
case "$preset" in
  release) ;;
  # The Windows cross build: mingw-w64 (posix threads) and Wine to run its tests.
  windows-cross) packages+=(g++-mingw-w64-x86-64-posix wine64) ;;
  # The tests also verify the systemd units (systemd-analyze), talk MQTT to the broker with
  # clients written elsewhere (mosquitto_pub/sub, Python paho-mqtt, MQTT.js), check its
  # metrics with promtool and Python's prometheus_client, and open its dashboard in
  # headless Chromium; the uplinks run against a real nats-server cluster.
  *) packages+=(systemd mosquitto-clients python3-paho-mqtt node-mqtt prometheus
                python3-prometheus-client chromium nats-server) ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake --preset "$preset"
cmake --build --preset "$preset"
