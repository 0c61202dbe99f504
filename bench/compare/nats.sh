#!/usr/bin/env bash
# Two ipcd instances through a NATS server (docs/uplinks.md), beside a direct NATS client
# (libnats, ../shared/bench/natsbench) on the same server, rounds interleaved
# (docs/benchmarks.md): pub/sub 1→1 msgs/s (publisher on ipcd A, subscriber on ipcd B, A
# exports and B imports bench/#) and request/reply round-trip latency (requester on A,
# replier on B), with everything pinned to one CPU for the latency runs; plus one ipcd
# alone for what the local hop costs. Installs nats-server and libnats from Debian,
# builds ipcd (release) and the references.
# Usage: bench/compare/nats.sh [MSGS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
msgs="${1:-200000}"
rounds="${2:-3}"
need=()
for p in nats-server libnats-dev libmosquitto-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
scripts/setup.sh release > /dev/null
refs=build/refbench
make -s -C ../shared/bench BIN="$PWD/$refs" "$PWD/$refs/natsbench"
work=$(mktemp -d /tmp/ipcd-nats-compare-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
nats_port=14299
/usr/sbin/nats-server -a 127.0.0.1 -p "$nats_port" > "$work/nats.log" 2>&1 & pids+=($!)
nats_pid=$!
for host in a b; do
  mkdir -p "$work/$host"
  cat > "$work/$host.json" <<JSON
{"listeners": [{"url": "unix://$work/$host/ipcd.sock"}],
 "storage": {"dir": "$work/$host/data"}, "log": {"level": "warn"},
 "uplinks": [{"name": "hub", "servers": ["nats://127.0.0.1:$nats_port"],
              "export": ["bench/#"], "import": ["bench/#"]}]}
JSON
  build/release/broker/ipcd -c "$work/$host.json" & pids+=($!)
done
a_pid=${pids[1]}
b_pid=${pids[2]}
ipcctl=build/release/ipcctl/ipcctl
a="unix://$work/a/ipcd.sock"
b="unix://$work/b/ipcd.sock"
sleep 1  # the brokers open their sockets and their uplinks connect
pin_all() { for p in "$nats_pid" "$a_pid" "$b_pid"; do taskset -a -c -p "$1" "$p" > /dev/null; done; }

for round in $(seq "$rounds"); do
  pin_all 0,1
  "$refs/natsbench" pubsub -s "nats://127.0.0.1:$nats_port" -k 1 -m "$msgs" -z 128 -x nats
  $ipcctl --json --url "$a" bench pubsub --msgs "$msgs" --size 128 --topic bench/pubsub \
    --sub-url "$b" | sed 's/^{/{"system": "ipcd-uplink-ipcd", /'
  $ipcctl --json --url "$a" bench pubsub --msgs "$msgs" --size 128 --topic local/pubsub \
    | sed 's/^{/{"system": "ipcd-local", /'
  pin_all 0
  taskset -c 0 "$refs/natsbench" reqrep -s "nats://127.0.0.1:$nats_port" -n 20000 -z 128 -x nats
  taskset -c 0 $ipcctl --json --url "$a" bench reqrep --msgs 20000 --size 128 \
    --target bench/reqrep --reply-url "$b" | sed 's/^{/{"system": "ipcd-uplink-ipcd", /'
  taskset -c 0 $ipcctl --json --url "$a" bench reqrep --msgs 20000 --size 128 \
    --target local/reqrep | sed 's/^{/{"system": "ipcd-local", /'
done
