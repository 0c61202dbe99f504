#!/usr/bin/env bash
# Shared memory against its references (docs/shared-memory.md, docs/benchmarks.md), rounds
# interleaved: request/reply round trips with everything pinned to CPU 0 (wakefloor, the
# same wake-ups waited for through epoll as an event loop must: epollfloor.c beside this
# script, the ideal forwarder over a Unix socket, ipcd over shm:// and over unix://, and over tcp://
# beside the forwarder over TCP), pub/sub 1→1 on both CPUs (the forwarder, ipcd over
# shm:// and unix://), one-way publish→delivery one message at a time on CPU 0 (shm://,
# unix://), and with spinning: broker on CPU 1 polling 50 µs, the clients on CPU 0
# polling 50 µs (round trip and one-way) or not polling (one-way). Builds ipcd (release)
# and the reference programs of ../shared/bench. Prints one JSON line per run, then the
# median of each measure and the ratios the aims are stated in.
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

for _ in $(seq "$rounds"); do
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
done | tee "$work/runs"

# The medians of the runs above and the ratios the aims are stated in.
/usr/bin/python3 - "$work/runs" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    run = json.loads(line)
    name = "/".join(str(run[k]) for k in ("system", "mode", "transport", "workload", "bench")
                    if run.get(k) is not None)
    for field in ("p50_us", "p99_us", "msgs_per_s", "delivered_per_s"):
        if run.get(field) is not None:
            runs[name + " " + field].append(run[field])
m = {name: statistics.median(values) for name, values in runs.items()}
for name in sorted(m):
    print(f"median {name}: {m[name]:.6g} ({len(runs[name])} runs)")
def ratio(label, a, b):
    if a in m and b in m:
        print(f"ratio {label}: {m[a] / m[b]:.2f}")
floor = "wakefloor/roundtrip p50_us"
ratio("round trip shm / wakefloor", "ipcd-shm/reqrep p50_us", floor)
ratio("round trip shm / epollfloor asio", "ipcd-shm/reqrep p50_us", "epollfloor/asio/roundtrip p50_us")
ratio("round trip unix / forwarder unix", "ipcd-unix/reqrep p50_us", "relay/unix/pingpong p50_us")
ratio("round trip tcp / forwarder tcp", "ipcd-tcp/reqrep p50_us", "relay/tcp/pingpong p50_us")
ratio("round trip spinning shm / wakefloor", "ipcd-shm-spin/reqrep p50_us", floor)
ratio("pub/sub shm / unix", "ipcd-shm/pubsub delivered_per_s", "ipcd-unix/pubsub delivered_per_s")
ratio("pub/sub unix / forwarder", "ipcd-unix/pubsub delivered_per_s",
      "relay/unix/pubsub_1to1 msgs_per_s")
ratio("pub/sub shm / forwarder", "ipcd-shm/pubsub delivered_per_s",
      "relay/unix/pubsub_1to1 msgs_per_s")
PY
