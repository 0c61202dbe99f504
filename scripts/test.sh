#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the default test suite: unit and
# integration tests against real brokers on ephemeral endpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
ctest --preset dev "$@"
