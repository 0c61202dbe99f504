#!/usr/bin/env bash
# Compares two ipcd builds (before and after a change) on the same machine in one run:
# each build's own ipcd and ipcctl, interleaved round by round (A then B in odd rounds,
# B then A in even ones: whichever runs second gains 10-20% here, so use an even count), on the
# `ipcctl bench` workloads pubsub 1->1 and 1->4, queue (1 consumer) and reqrep (topic),
# over a Unix socket; then the median of the rounds per workload and build, and B/A.
# Usage: bench/compare/ab.sh BUILD_DIR_A BUILD_DIR_B [ROUNDS] [MSGS]
#   e.g. bench/compare/ab.sh ../before/build/release build/release 4
set -euo pipefail
a=$(realpath "$1") b=$(realpath "$2")
rounds="${3:-4}" msgs="${4:-1000000}"
work=$(mktemp -d /tmp/ipcd-ab-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Runs one workload against a fresh broker of build $1; prints "label build JSON".
run() {
  local build=$1 label=$2; shift 2
  rm -rf "$work/data" "$work/ipcd.sock"
  cat > "$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/ipcd.sock"}], "storage": {"dir": "$work/data"},
 "log": {"level": "warn"}}
JSON
  "$build/broker/ipcd" -c "$work/ipcd.json" 2>"$work/ipcd.log" &
  pid=$!
  for _ in $(seq 100); do [ -S "$work/ipcd.sock" ] && break; sleep 0.05; done
  echo "$label $build $("$build/ipcctl/ipcctl" --url "unix://$work/ipcd.sock" --json bench "$@")"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

for round in $(seq "$rounds"); do
  order=("$a" "$b")
  [ $((round % 2)) -eq 0 ] && order=("$b" "$a")
  for build in "${order[@]}"; do
    run "$build" pubsub-1-1 pubsub --msgs "$msgs" --subs 1 --topic bench/pubsub
    run "$build" pubsub-1-4 pubsub --msgs "$msgs" --subs 4 --topic bench/pubsub
    run "$build" queue-1 queue --msgs "$((msgs / 2))" --consumers 1
    run "$build" reqrep-topic reqrep --msgs 50000
  done
done | tee "$work/results"

/usr/bin/python3 - "$a" "$b" "$work/results" <<'PY'
import json, statistics, sys
a, b, path = sys.argv[1:]
rows = {}
for line in open(path):
    label, build, text = line.split(" ", 2)
    rows.setdefault((label, build), []).append(json.loads(text))
def figure(report):
    for key in ("delivered_per_s", "acked_per_s", "p50_us"):
        if key in report: return key, report[key]
    raise KeyError(f"no figure in {report}")
print("workload | figure | A median | B median | B/A")
for label in sorted({l for l, _ in rows}):
    key, _ = figure(rows[(label, a)][0])
    ma = statistics.median(figure(r)[1] for r in rows[(label, a)])
    mb = statistics.median(figure(r)[1] for r in rows[(label, b)])
    print(f"{label} | {key} | {ma:.6g} | {mb:.6g} | {mb / ma:.3f}")
PY
