#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the test suite: unit, conformance and
# integration tests against real brokers on ephemeral endpoints, first on the dev build,
# then again under AddressSanitizer + UndefinedBehaviorSanitizer.
# IPCD_SKIP_SANITIZERS=1 runs the dev build only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
ctest --preset dev "$@"
if [ "${IPCD_SKIP_SANITIZERS:-0}" != "1" ]; then
  scripts/setup.sh asan-ubsan
  ctest --preset asan-ubsan "$@"
fi
