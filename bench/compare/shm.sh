#!/usr/bin/env bash
# Shared memory against its references (docs/shared-memory.md, docs/benchmarks.md), rounds
# interleaved: request/reply round trips with everything pinned to CPU 0 (wakefloor, the
# same wake-ups waited for through epoll as an event loop must: epollfloor.c beside this
# script, the ideal forwarder over a Unix socket, ipcd over shm:// and over unix://, and over tcp://
# beside the forwarder over TCP), pub/sub 1→1 on both CPUs (the forwarder, ipcd over
# shm:// and unix://), one-way publish→delivery one message at a time on CPU 0 (shm://,
# unix://), and with spinning: broker on CPU 1 polling 50 µs, the clients on CPU 0
# polling 50 µs (round trip and one-way) or not polling (one-way). Builds ipcd (release)
# and the reference programs of ../shared/bench. Prints one JSON line per run.
# Usage: bench/compare/shm.sh [PUBSUB_MSGS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
msgs="${1:-2000000}"
rounds="${2:-3}"
scripts/setup.sh release > /dev/null
refs=build/refbench
make -s -C ../shared/bench BIN="$PWD/$refs" "$PWD/$refs/wakefloor" "$PWD/$refs/relaylimit"
cc -O2 -Wall -o "$refs/epollfloor" bench/compare/epollfloor.c
work=$(mktemp -d /tmp/ipcd-shm-compare-XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/shm.sock", "shm": true},
               {"url": "unix://$work/plain.sock"}, {"url": "tcp://127.0.0.1:17979"}],
 "storage": {"dir": "$work/data"}, "log": {"level": "warn"}}
JSON
cat > "$work/spin.json" <<JSON
{"listeners": [{"url": "unix://$work/spin.sock", "shm": true, "shm_spin_us": 50}],
 "storage": {"dir": "$work/spin-data"}, "log": {"level": "warn"}}
JSON
build/release/broker/ipcd -c "$work/ipcd.json" & pids+=($!)
broker=$!
build/release/broker/ipcd -c "$work/spin.json" & pids+=($!)
spinner=$!
ipcctl=build/release/ipcctl/ipcctl
sleep 1
label() { sed "s/^{/{\"system\": \"$1\", /"; }

for round in $(seq "$rounds"); do
  taskset -a -c -p 0 "$broker" > /dev/null
  taskset -c 0 "$refs/wakefloor" -n 20000
  taskset -c 0 "$refs/epollfloor" -m epoll -n 20000
  taskset -c 0 "$refs/epollfloor" -m asio -n 20000
  taskset -c 0 "$refs/relaylimit" pingpong -t unix -n 20000 -s 128
  taskset -c 0 "$refs/relaylimit" pingpong -t tcp -n 20000 -s 128
  for url in "shm://$work/shm.sock" "unix://$work/plain.sock" "tcp://127.0.0.1:17979"; do
    taskset -c 0 $ipcctl --json --url "$url" bench reqrep --msgs 20000 --size 128 \
      | label "ipcd-${url%%:*}"
  done
  taskset -a -c -p 0,1 "$broker" > /dev/null
  "$refs/relaylimit" tput -t unix -k 1 -m "$msgs" -s 128
  for url in "shm://$work/shm.sock" "unix://$work/plain.sock"; do
    $ipcctl --json --url "$url" bench pubsub --msgs "$msgs" --size 128 --topic bench/pubsub \
      | label "ipcd-${url%%:*}"
  done
  taskset -a -c -p 0 "$broker" > /dev/null
  for url in "shm://$work/shm.sock" "unix://$work/plain.sock"; do
    taskset -c 0 $ipcctl --json --url "$url" bench oneway --msgs 20000 --size 128 \
      | label "ipcd-${url%%:*}"
  done
  taskset -a -c -p 1 "$spinner" > /dev/null
  taskset -c 0 $ipcctl --json --url "shm://$work/spin.sock" --shm-spin 50 bench reqrep \
    --msgs 20000 --size 128 | label "ipcd-shm-spin"
  taskset -c 0 $ipcctl --json --url "shm://$work/spin.sock" --shm-spin 50 bench oneway \
    --msgs 20000 --size 128 | label "ipcd-shm-spin"
  taskset -c 0 $ipcctl --json --url "shm://$work/spin.sock" bench oneway \
    --msgs 20000 --size 128 | label "ipcd-shm-spin-broker-only"
done
