#!/usr/bin/env bash
# CPU per message of two ipcd builds (before and after a change), side by side in one run:
# pub/sub 1->1 over shm:// and unix://, one broker per build running throughout, rounds
# interleaved with the order alternating (A then B in odd rounds, B then A in even ones).
# Per run: delivered msgs/s, the broker's CPU per message (`perf stat -e task-clock` on
# the broker process during the run: every thread, in nanoseconds) and the ipcctl
# process's (publisher and subscriber threads, user + system time). Prints one line per
# run, then the medians and B/A per measure. Linux; installs perf (Debian's linux-perf)
# and time when missing.
# Usage: bench/compare/per_message.sh BUILD_DIR_A BUILD_DIR_B [ROUNDS] [MSGS]
#   e.g. bench/compare/per_message.sh ../before/build/release build/release 6
set -euo pipefail
for p in linux-perf time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p"; }
done
rounds="${3:-6}" msgs="${4:-2000000}"
# shellcheck source=bench/compare/two_brokers.sh
. "$(dirname "$0")/two_brokers.sh" per-message "$1" "$2"

one_run() {  # build transport
  local v=$1 t=$2 out perf_pid
  perf stat -e task-clock -x, -o "$work/perf" -p "${pid[$v]}" &
  perf_pid=$!
  sleep 0.2
  out=$(/usr/bin/time -f "%U %S" -o "$work/time" "${dir[$v]}/ipcctl/ipcctl" --json \
        --url "$t://$work/$v-$t.sock" bench pubsub --msgs "$msgs" --size 128 --topic bench/pubsub)
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  echo "$v $t $(echo "$out" | grep -o '"delivered_per_s":[0-9.]*' | cut -d: -f2)" \
       "$(awk -F, -v m="$msgs" '$3 ~ /task-clock/ {printf "%d", $1 * 1e6 / m}' "$work/perf")" \
       "$(awk -v m="$msgs" '{printf "%d", ($1 + $2) * 1e9 / m}' "$work/time")"
}

echo "build transport delivered_per_s broker_ns_per_msg client_ns_per_msg"
for round in $(seq "$rounds"); do
  order="A B"; [ $((round % 2)) -eq 0 ] && order="B A"
  for t in shm unix; do
    for v in $order; do one_run "$v" "$t"; done
  done
done | tee "$work/runs"

/usr/bin/python3 - "$work/runs" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, t, *values = line.split()
    for name, value in zip(("msgs/s", "broker ns/msg", "client ns/msg"), values):
        runs[(t, name, v)].append(float(value))
for t in ("shm", "unix"):
    for name in ("msgs/s", "broker ns/msg", "client ns/msg"):
        a, b = statistics.median(runs[(t, name, "A")]), statistics.median(runs[(t, name, "B")])
        print(f"{t:5} {name:14} A {a:14.1f}  B {b:14.1f}  B/A {b / a:.3f}")
PY
