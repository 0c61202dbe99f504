#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with the `fuzz` preset (clang, installed when
# missing) and runs each for SECONDS (default 60) on a copy of its committed seed corpus;
# new inputs stay in build/fuzz/corpus/TARGET, crashes in build/fuzz/crashes/TARGET.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   targets: record frame topic config attributes mqtt http nats shm_ring
set -euo pipefail
seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(record frame topic config attributes mqtt http nats shm_ring)

packages=(clang libclang-rt-14-dev cmake ninja-build pkg-config libasio-dev libspdlog-dev
          nlohmann-json3-dev libcli11-dev libssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
status=0
for target in "${targets[@]}"; do
  corpus="build/fuzz/corpus/$target"
  crashes="build/fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp -n "tests/fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: running $target for ${seconds}s"
  if ! "build/fuzz/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -max_len=65536 \
      -artifact_prefix="$crashes/" "$corpus"; then
    echo "fuzz: $target FAILED (inputs in $crashes)"
    status=1
  fi
done
exit $status
