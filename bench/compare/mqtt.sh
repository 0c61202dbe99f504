#!/usr/bin/env bash
# MQTT throughput of ipcd beside Mosquitto, through the same client library (libmosquitto,
# ../shared/bench/mqttbench), with the ideal one-hop forwarder for the client's own cap:
# 1 publisher -> K subscribers, 128 B, QoS 0 and 1, rounds interleaved (docs/benchmarks.md).
# Installs mosquitto and libmosquitto from Debian, builds ipcd (release) and the references.
# Usage: bench/compare/mqtt.sh [MSGS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
msgs="${1:-300000}"
rounds="${2:-3}"
need=()
for p in mosquitto libmosquitto-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
scripts/setup.sh release > /dev/null
refs=build/refbench
make -s -C ../shared/bench BIN="$PWD/$refs" "$PWD/$refs/mqttbench" "$PWD/$refs/relaylimit"
work=$(mktemp -d /tmp/ipcd-mqtt-compare-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Fixed loopback ports, away from the defaults. Both brokers get the same windows: 1000
# QoS 1 messages in flight per client, and no bound on what a subscriber may queue.
cat > "$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/ipcd.sock"}, {"url": "mqtt://127.0.0.1:11885"}],
 "storage": {"dir": "$work/data"}, "log": {"level": "warn"},
 "mqtt": {"max_inflight": 1000}}
JSON
build/release/broker/ipcd -c "$work/ipcd.json" & pids+=($!)
ipcd_pid=$!
printf 'listener 11884 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 0\n' \
  > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 & pids+=($!)
mosquitto_pid=$!
sleep 1  # let both brokers open their listeners

# CPU seconds a process has used (user + system), to show where the time goes: with
# libmosquitto's one write per packet the clients, not the broker, can be the cap.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# One mqttbench run with the broker's CPU seconds added to its JSON line.
run() {
  local name=$1 pid=$2 port=$3 qos=$4 subs=$5 before after
  before=$(cpu_s "$pid")
  line=$("$refs/mqttbench" pubsub -p "$port" -q "$qos" -k "$subs" -m "$msgs" -z 128 -x "$name")
  after=$(cpu_s "$pid")
  echo "${line%\}}, \"broker_cpu_s\": $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')}"
}

for round in $(seq "$rounds"); do
  for subs in 1 4; do
    for qos in 0 1; do
      run mosquitto "$mosquitto_pid" 11884 "$qos" "$subs"
      run ipcd "$ipcd_pid" 11885 "$qos" "$subs"
    done
    # One write() per message (what libmosquitto does): the cap of a TCP hop for it.
    "$refs/relaylimit" tput -t tcp -k "$subs" -m "$msgs" -s 132 -b 132
  done
done
