#!/usr/bin/env bash
# Instructions the hub spends on one single-reading WebSocket message, counted
# by callgrind (stable from run to run, where CPU time on two shared cores is
# not). Each hub binary runs the bench's 100 devices x 1 reading case twice
# under `valgrind --tool=callgrind`, with two message counts; the difference
# of the two totals over the difference of messages leaves out start-up,
# minting and shutdown.
#
#   bash Benchmarks/callgrind_messages.sh BENCH_BINARY HUB_BINARY [HUB_BINARY ...]
#
# BENCH_BINARY drives the load (a release `telehub`); each HUB_BINARY is
# started as the hub (e.g. the build before a change, and after it).
set -euo pipefail
bench=${1:?usage: callgrind_messages.sh BENCH_BINARY HUB_BINARY [HUB_BINARY ...]}
shift
[ $# -ge 1 ] || { echo "name at least one hub binary" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
small=${CALLGRIND_SMALL_VALUES:-20000}
large=${CALLGRIND_LARGE_VALUES:-60000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

total_ir() {  # the sum of every thread's Ir in the callgrind files of one run
    awk '/^(summary|totals):/ {if (!seen[FILENAME]++) sum += $2} END {print sum + 0}' "$1".*
}

for hub in "$@"; do
    for values in "$small" "$large"; do
        wrapper="$work/hub-$values"
        printf '#!/bin/sh\nexec valgrind --tool=callgrind --separate-threads=no --callgrind-out-file=%s.%%p %s "$@"\n' \
            "$work/out-$values" "$hub" > "$wrapper"
        chmod +x "$wrapper"
        "$bench" bench --ingest --sections throughput --cases 100x1 --values-per-case "$values" \
            --hub-binary "$wrapper" > /dev/null 2> "$work/bench-$values.log" || {
            echo "the bench failed with $hub:" >&2; tail -5 "$work/bench-$values.log" >&2; exit 1; }
    done
    a=$(total_ir "$work/out-$small"); b=$(total_ir "$work/out-$large")
    messages=$(( (large - small) / 4 ))  # 4 values a reading, one reading a message
    awk -v a="$a" -v b="$b" -v m="$messages" -v hub="$hub" \
        'BEGIN { printf "%s: %.0f instructions a message (%.0f and %.0f in all, %d messages apart)\n", hub, (b - a) / m, a, b, m }'
    rm -f "$work"/out-*
done
