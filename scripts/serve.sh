#!/usr/bin/env bash
# Builds Telehub (release) if needed and runs the hub with the embedded SQLite store.
# Arguments go to `telehub serve`, e.g. `scripts/serve.sh --demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_build_deps
ensure_apt libjs-dygraphs  # the dashboard's charts
echo "Building telehub (release; the first build takes about 10 minutes)..."
swift build -c release --product telehub
exec "$(swift build -c release --show-bin-path)/telehub" serve "$@"
