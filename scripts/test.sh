#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the test suite: unit, conformance and
# integration tests against real brokers on ephemeral endpoints, first on the dev build,
# then again under AddressSanitizer + UndefinedBehaviorSanitizer, then the Windows cross
# build's `windows` tests under Wine (docs/windows.md §4).
# IPCD_SKIP_SANITIZERS=1 and IPCD_SKIP_WINDOWS=1 leave those out.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
ctest --preset dev "$@"
if [ "${IPCD_SKIP_SANITIZERS:-0}" != "1" ]; then
  scripts/setup.sh asan-ubsan
  ctest --preset asan-ubsan "$@"
fi
if [ "${IPCD_SKIP_WINDOWS:-0}" != "1" ]; then
  scripts/setup.sh windows-cross
  ctest --preset windows-cross "$@"
fi
