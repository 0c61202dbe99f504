#!/usr/bin/env bash
# Runs the same pub/sub workload (1 publisher -> K subscribers, 128 B, every message
# counted, publisher at most 20 000 messages ahead) against ipcd, nats-server and
# mosquitto on this machine, and prints one JSON line per run. Installs the peers and
# their client libraries from Debian, builds ipcd (release) and peer_bench.
# Usage: bench/compare/run.sh [MSGS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
msgs="${1:-1000000}"
runs="${2:-3}"
need=()
for p in nats-server mosquitto libnats-dev libmosquitto-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
scripts/setup.sh release > /dev/null
work=$(mktemp -d /tmp/ipcd-compare-XXXXXX)
g++ -std=c++20 -O2 bench/compare/peer_bench.cpp -o "$work/peer_bench" \
  $(pkg-config --cflags --libs libnats) -lmosquitto -lpthread

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Fixed loopback ports, chosen away from the defaults so a running broker is not hit.
cat > "$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/ipcd.sock"}, {"url": "tcp://127.0.0.1:17901"}],
 "storage": {"dir": "$work/data"}, "log": {"level": "warn"}}
JSON
build/release/broker/ipcd -c "$work/ipcd.json" & pids+=($!)
nats-server -a 127.0.0.1 -p 14223 > "$work/nats.log" 2>&1 & pids+=($!)
printf 'listener 11884 127.0.0.1\nallow_anonymous true\n' > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 & pids+=($!)
sleep 1  # let the three brokers open their listeners

ipcctl=build/release/ipcctl/ipcctl
for subs in 1 4; do
  for run in $(seq "$runs"); do
    $ipcctl --url "unix://$work/ipcd.sock" --json bench pubsub --msgs "$msgs" --subs "$subs" \
      --topic bench/pubsub
    $ipcctl --url tcp://127.0.0.1:17901 --json bench pubsub --msgs "$msgs" --subs "$subs" \
      --topic bench/pubsub
    "$work/peer_bench" nats 127.0.0.1 14223 "$msgs" 128 "$subs"
    "$work/peer_bench" mqtt 127.0.0.1 11884 "$((msgs / 5))" 128 "$subs"
  done
done
