# shellcheck shell=bash
# Sourced by per_message.sh and roundtrip.sh: one broker per build (A from BUILD_DIR_A,
# B from BUILD_DIR_B), each with a Unix socket that allows shared memory
# ($work/A-shm.sock) and a plain one ($work/A-unix.sock), running until the caller
# exits. Sets `work` (a new directory /tmp/ipcd-NAME-…), `dir` and `pid` (indexed A and
# B) and the EXIT trap that stops both brokers and removes `work`.
# Usage: . bench/compare/two_brokers.sh NAME BUILD_DIR_A BUILD_DIR_B
work=$(mktemp -d "/tmp/ipcd-$1-XXXXXX")
declare -A dir=([A]="$(realpath "$2")" [B]="$(realpath "$3")") pid=()
cleanup() { kill "${pid[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for v in A B; do
  cat > "$work/$v.json" <<JSON
{"listeners": [{"url": "unix://$work/$v-shm.sock", "shm": true}, {"url": "unix://$work/$v-unix.sock"}],
 "storage": {"dir": "$work/$v-data"}, "log": {"level": "warn"}}
JSON
  "${dir[$v]}/broker/ipcd" -c "$work/$v.json" 2>"$work/$v.log" &
  pid[$v]=$!
done
for _ in $(seq 100); do [ -S "$work/A-unix.sock" ] && [ -S "$work/B-unix.sock" ] && break; sleep 0.05; done
