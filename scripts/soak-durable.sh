#!/usr/bin/env bash
# The durable queues' kill -9 soak: the CTest case "kill -9 loop under concurrent
# producers and consumers" run for CYCLES broker crashes (default 500; the default
# test suite runs 20). Needs a dev build (scripts/setup.sh).
set -euo pipefail
cycles="${1:-500}"
cd "$(dirname "$0")/.."
[ -x build/dev/tests/integration_tests ] || scripts/setup.sh dev
IPCD_SOAK_CYCLES="$cycles" build/dev/tests/integration_tests \
  --test-case="kill -9 loop under concurrent producers and consumers*" --success=false
