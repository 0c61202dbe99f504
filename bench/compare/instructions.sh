#!/usr/bin/env bash
# Instructions per request/reply round trip over shm:// (or unix://), counted by
# callgrind (valgrind): repeatable for the same binaries whatever else the machine does,
# so a change's effect shows where timings drown in noise. Counts the broker and, in a
# separate run, the ipcctl process (requester and replier), each over N and 2N round
# trips: the difference divided by N is the cost per round trip without start-up and
# shutdown. Installs valgrind when missing.
# Usage: bench/compare/instructions.sh BUILD_DIR [N] [shm|unix]
#   e.g. bench/compare/instructions.sh build/release 10000
set -euo pipefail
build=$(realpath "$1")
n="${2:-10000}" transport="${3:-shm}"
dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
work=$(mktemp -d /tmp/ipcd-instructions-XXXXXX)
broker=""
cleanup() { [ -n "$broker" ] && kill "$broker" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cat > "$work/ipcd.json" <<JSON
{"listeners": [{"url": "unix://$work/ipcd.sock", "shm": true}, {"url": "unix://$work/plain.sock"}],
 "storage": {"dir": "$work/data"}, "log": {"level": "warn"}}
JSON
url="shm://$work/ipcd.sock"
[ "$transport" = unix ] && url="unix://$work/plain.sock"
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
start_broker() {  # [valgrind args...]
  rm -rf "$work/data" "$work/ipcd.sock" "$work/plain.sock"
  "$@" "$build/broker/ipcd" -c "$work/ipcd.json" 2>"$work/ipcd.log" &
  broker=$!
  for _ in $(seq 200); do [ -S "$work/plain.sock" ] && return; sleep 0.05; done
  echo "the broker did not start" >&2; exit 1
}
run_bench() {  # REQUESTS [valgrind args...]
  local requests=$1; shift
  "$@" "$build/ipcctl/ipcctl" --json --url "$url" bench reqrep --size 128 --msgs "$requests"
}
stop_broker() { kill -INT "$broker"; wait "$broker" 2>/dev/null || true; broker=""; }

declare -A count
for requests in "$n" $((2 * n)); do
  start_broker valgrind --tool=callgrind --callgrind-out-file="$work/broker-$requests"
  run_bench "$requests" > /dev/null
  stop_broker
  count[broker-$requests]=$(total "$work/broker-$requests")
  start_broker
  run_bench "$requests" valgrind --tool=callgrind \
    --callgrind-out-file="$work/client-$requests" > /dev/null 2>&1
  stop_broker
  count[client-$requests]=$(total "$work/client-$requests")
done
for side in broker client; do
  echo "$side: $(( (count[$side-$((2 * n))] - count[$side-$n]) / n )) instructions per round trip" \
       "over $transport:// (${count[$side-$n]} for $n, ${count[$side-$((2 * n))]} for $((2 * n)))"
done
