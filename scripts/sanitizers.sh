#!/usr/bin/env bash
# Runs the Swift test suites under ThreadSanitizer and AddressSanitizer, each
# in its own build folder (.build-tsan, .build-asan), so the normal build is
# left alone. A first run builds every dependency again: about 10 minutes per
# sanitizer on two cores.
#
#   scripts/sanitizers.sh            # both
#   scripts/sanitizers.sh thread     # one: thread or address
#   scripts/sanitizers.sh address --filter StoreSafetyTests
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
ensure_build_deps

sanitizers=(thread address)
if [[ $# -gt 0 && ( $1 == thread || $1 == address ) ]]; then
    sanitizers=("$1")
    shift
fi

status=0
for sanitizer in "${sanitizers[@]}"; do
    scratch=".build-${sanitizer:0:1}san"
    log="$scratch/sanitizer-$sanitizer.log"
    mkdir -p "$scratch"
    echo "== $sanitizer sanitizer (build in $scratch, log in $log)"
    started=$(date +%s)
    # halt_on_error: the first report fails the run, with its stack.
    export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
    export ASAN_OPTIONS="detect_leaks=0 halt_on_error=1"
    if swift test --scratch-path "$scratch" --sanitize="$sanitizer" "$@" 2>&1 | tee "$log"; then
        echo "== $sanitizer: passed in $(( $(date +%s) - started )) s"
    else
        status=1
        echo "== $sanitizer: FAILED after $(( $(date +%s) - started )) s; reports:"
        grep -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY:" "$log" | sort | uniq -c || true
    fi
done
exit $status
