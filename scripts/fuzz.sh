#!/usr/bin/env bash
# Builds the libFuzzer targets under tests/fuzz with clang (installed when missing) and
# runs each for SECONDS (default 60) on a copy of its committed seed corpus; new inputs
# stay in build/fuzz/corpus/TARGET, crashes in build/fuzz/crashes/TARGET.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: record frame topic config
set -euo pipefail
seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(record frame topic config)

packages=(clang libclang-rt-14-dev)
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

flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
sources_record=(storage/src/record.cpp storage/src/crc32c.cpp)
includes_record=(-Istorage/include)
sources_frame=(protocol/src/decoder.cpp protocol/src/frame_reader.cpp protocol/src/errc.cpp)
includes_frame=(-Iprotocol/include)
sources_topic=(broker/src/routing/topic.cpp broker/src/routing/topic_trie.cpp)
includes_topic=(-Ibroker/src)
sources_config=(config/src/config_defaults.cpp config/src/config_json.cpp
                config/src/config_validate.cpp config/src/config_queues.cpp
                config/src/config_auth.cpp transport/src/url.cpp auth/src/password.cpp
                broker/src/routing/topic.cpp -lcrypto)
includes_config=(-Iconfig/include -Itransport/include -Iauth/include -Ibroker/src)

mkdir -p build/fuzz
status=0
for target in "${targets[@]}"; do
  src="sources_${target}[@]"
  inc="includes_${target}[@]"
  echo "fuzz: building $target"
  clang++ "${flags[@]}" "${!inc}" "tests/fuzz/${target}_fuzz.cpp" "${!src}" \
    -o "build/fuzz/${target}_fuzz"
  corpus="build/fuzz/corpus/$target"
  crashes="build/fuzz/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp -n "tests/fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: running $target for ${seconds}s"
  if ! "build/fuzz/${target}_fuzz" -max_total_time="$seconds" -max_len=65536 \
      -artifact_prefix="$crashes/" "$corpus"; then
    echo "fuzz: $target FAILED (inputs in $crashes)"
    status=1
  fi
done
exit $status
