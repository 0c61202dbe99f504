#!/usr/bin/env bash
# Round-trip latency of two ipcd builds (before and after a change), side by side in one
# run: `ipcctl bench reqrep` over shm:// and unix://, one broker per build running
# throughout, everything pinned to CPU 0 (as bench/compare/shm.sh pins its round trips),
# rounds interleaved with the order alternating (A then B in odd rounds, B then A in even
# ones). Prints one line per run, then the p50 medians and B/A per transport. Linux.
# Usage: bench/compare/roundtrip.sh BUILD_DIR_A BUILD_DIR_B [ROUNDS] [REQUESTS]
#   e.g. bench/compare/roundtrip.sh ../before/build/release build/release 8
set -euo pipefail
rounds="${3:-8}" requests="${4:-20000}"
# shellcheck source=bench/compare/two_brokers.sh
. "$(dirname "$0")/two_brokers.sh" roundtrip "$1" "$2"
for v in A B; do taskset -a -c -p 0 "${pid[$v]}" > /dev/null; done

echo "build transport p50_us p99_us"
for round in $(seq "$rounds"); do
  order="A B"; [ $((round % 2)) -eq 0 ] && order="B A"
  for v in $order; do
    for t in shm unix; do
      out=$(taskset -c 0 "${dir[$v]}/ipcctl/ipcctl" --json --url "$t://$work/$v-$t.sock" \
            bench reqrep --msgs "$requests" --size 128)
      echo "$v $t $(echo "$out" | grep -o '"p50_us":[0-9.]*' | cut -d: -f2)" \
           "$(echo "$out" | grep -o '"p99_us":[0-9.]*' | cut -d: -f2)"
    done
  done
done | tee "$work/runs"

/usr/bin/python3 - "$work/runs" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, t, p50, _ = line.split()
    runs[(t, v)].append(float(p50))
for t in ("shm", "unix"):
    a, b = statistics.median(runs[(t, "A")]), statistics.median(runs[(t, "B")])
    print(f"{t:5} round trip p50  A {a:8.2f} us  B {b:8.2f} us  B/A {b / a:.3f}")
PY
