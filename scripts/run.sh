#!/usr/bin/env bash
# Sets up (packages, configure, optimised build) and runs ipcd in the foreground on its
# embedded default config; extra arguments go to ipcd (e.g. -c FILE, --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
exec build/release/broker/ipcd "$@"
