#!/usr/bin/env bash
# Coverage-guided fuzzing of Telehub's parsers and store with libFuzzer.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Targets: FuzzMessage FuzzQueries FuzzHeaders FuzzStoreWrite FuzzChunk FuzzLineProtocol
# FuzzPromQL (all by default),
# 60 seconds each by default. Builds the package in Fuzz/ with libFuzzer and
# AddressSanitizer (scratch path Fuzz/.build-fuzz; the first build compiles
# the dependencies and takes a while), then runs each target, one at a time
# and under `nice`, on a working copy of its committed corpus in
# Tests/FuzzCorpus/<target>/. New inputs stay in that working copy (printed
# at the end), never in the repository: minimize them into the corpus with
#   Fuzz/.build-fuzz/debug/<target> -merge=1 Tests/FuzzCorpus/<target> <work>/<target>/corpus
#
# A crash stops its target; the crashing input is kept in the work folder and
# copied to $FUZZ_CRASH_DIR (default /tmp/fuzz-crashes/<target>/), and the
# script exits 1 after the remaining targets ran. Reproduce one with
#   Fuzz/.build-fuzz/debug/<target> <crash-file>
#
# For a long campaign, a release build and a bound on the runs, e.g.
#   FUZZ_CONFIGURATION=release FUZZ_FLAGS="-runs=10000000" scripts/fuzz.sh 14400 FuzzQueries
#
# Environment: FUZZ_CONFIGURATION (debug|release, default debug),
# FUZZ_FLAGS (more libFuzzer flags, e.g. "-runs=1000000"), FUZZ_RSS_MB
# (default 2048), FUZZ_NICE (default 10), FUZZ_MAX_LEN (bytes, for every
# target), FUZZ_CRASH_DIR, FUZZ_WORK (a work
# folder to use instead of a new one under /tmp), FUZZ_SKIP_BUILD=1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
if [[ $# -gt 0 ]]; then shift; fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=(FuzzMessage FuzzQueries FuzzHeaders FuzzStoreWrite FuzzChunk FuzzLineProtocol FuzzPromQL); fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || [[ $seconds -lt 1 ]]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi

configuration=${FUZZ_CONFIGURATION:-debug}
niceness=${FUZZ_NICE:-10}
rss=${FUZZ_RSS_MB:-2048}
crash_dir=${FUZZ_CRASH_DIR:-/tmp/fuzz-crashes}
scratch="$root/Fuzz/.build-fuzz"

# The longest input per target: a whole WebSocket message is at most 1 MiB,
# but longer inputs only slow the search down; the bounds of interest (1001
# readings, 257 metrics) fit well within these.
max_len() {
    if [[ -n ${FUZZ_MAX_LEN:-} ]]; then echo "$FUZZ_MAX_LEN"; return; fi
    case $1 in
        FuzzMessage) echo 65536 ;;
        FuzzStoreWrite) echo 16384 ;;
        FuzzQueries) echo 8192 ;;
        FuzzHeaders) echo 4096 ;;
        FuzzChunk) echo 8192 ;;
        FuzzLineProtocol) echo 16384 ;;
        FuzzPromQL) echo 4200 ;;
        *) echo 65536 ;;
    esac
}

for target in "${targets[@]}"; do
    if [[ ! -d "$root/Fuzz/Sources/$target" ]]; then
        echo "unknown target $target (have: $(ls "$root/Fuzz/Sources" | grep -v FuzzInvariants | tr '\n' ' '))" >&2
        exit 2
    fi
done

if [[ ${FUZZ_SKIP_BUILD:-0} != 1 ]]; then
    # Pin the fuzz package to the versions the hub is built with.
    if [[ -f "$root/Package.resolved" ]]; then cp "$root/Package.resolved" "$root/Fuzz/Package.resolved"; fi
    echo "== building Fuzz/ ($configuration, libFuzzer + AddressSanitizer) in $scratch"
    # `--sanitize fuzzer` makes SwiftPM leave the executables' entry point to
    # libFuzzer. The sanitizers themselves go in one -sanitize flag: the
    # driver hands only the last of several to the compiler, and
    # `--sanitize fuzzer --sanitize address` alone builds without coverage.
    nice -n "$niceness" swift build --package-path "$root/Fuzz" --scratch-path "$scratch" -c "$configuration" \
        --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -v "Cannot export local symbol" || {
        echo "build failed" >&2
        exit 2
    }
fi
bin="$scratch/$configuration"

work=${FUZZ_WORK:-$(mktemp -d /tmp/telehub-fuzz.XXXXXX)}
mkdir -p "$work"
shm=$(mktemp -d "$( [[ -d /dev/shm && -w /dev/shm ]] && echo /dev/shm || echo /tmp )/telehub-fuzz.XXXXXX")
trap 'rm -rf "$shm"' EXIT

# Swift's runtime keeps metadata caches for the life of the process; leak
# detection per input reports them, so it is off unless FUZZ_FLAGS turns it on.
# malloc_context_size=0: recording a stack for every allocation took a third
# of the time (the decoders allocate a lot); a crash replayed with
#   ASAN_OPTIONS=detect_leaks=0 Fuzz/.build-fuzz/<configuration>/<target> <crash-file>
# shows the allocation stacks again.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:handle_abort=1:malloc_context_size=0}

failed=0
summary=()
for target in "${targets[@]}"; do
    dir="$work/$target"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp -R "$root/Tests/FuzzCorpus/$target/." "$dir/corpus/" 2>/dev/null || true
    before=$(ls "$dir/corpus" | wc -l)
    dict=()
    if [[ -f "$root/Fuzz/Dictionaries/$target.dict" ]]; then dict=(-dict="$root/Fuzz/Dictionaries/$target.dict"); fi
    echo "== $target: ${seconds}s, corpus $before files, log $dir/fuzz.log"
    start=$(date +%s)
    set +e
    # shellcheck disable=SC2086
    TELEHUB_FUZZ_DIR="$shm" nice -n "$niceness" "$bin/$target" "$dir/corpus" \
        -max_total_time="$seconds" -rss_limit_mb="$rss" -max_len="$(max_len "$target")" -timeout=20 \
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 -detect_leaks=0 "${dict[@]}" ${FUZZ_FLAGS:-} \
        >"$dir/fuzz.log" 2>&1
    status=$?
    set -e
    elapsed=$(($(date +%s) - start))
    executions=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/fuzz.log" | tail -1 | awk '{print $2}')
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$dir/fuzz.log" | tail -1 | awk '{print $2}')
    if [[ -z $executions ]]; then
        # A crash ends the run before the final stats: take the last status line.
        executions=$(grep -oE '^#[0-9]+' "$dir/fuzz.log" | tail -1 | tr -d '#')
        rate=$(grep -oE 'exec/s: [0-9]+' "$dir/fuzz.log" | tail -1 | awk '{print $2}')
    fi
    # libFuzzer also writes slow-unit-* files (an input over -report_slow_units
    # seconds, 10 by default): worth a look, but not a failure. On a loaded
    # machine they mostly measure the load: time the file alone with
    #   Fuzz/.build-fuzz/<configuration>/<target> <file>
    crashes=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' | wc -l)
    slow=$(find "$dir/artifacts" -type f -name 'slow-unit-*' | wc -l)
    found=$(($(ls "$dir/corpus" | wc -l) - before))
    line=$(printf '%-15s executions %-10s exec/s %-7s %5ss  new inputs %-5s crashes %s  slow inputs %s' \
        "$target" "${executions:-?}" "${rate:-?}" "$elapsed" "$found" "$crashes" "$slow")
    echo "$line"
    if [[ $crashes -gt 0 || $status -ne 0 ]]; then
        failed=1
        mkdir -p "$crash_dir/$target"
        find "$dir/artifacts" -type f ! -name 'slow-unit-*' -exec cp {} "$crash_dir/$target/" \;
        echo "   exit status $status; crashing inputs in $dir/artifacts and $crash_dir/$target:"
        find "$dir/artifacts" -type f ! -name 'slow-unit-*' | sed 's/^/     /'
        grep -m1 -E 'Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|==ERROR' "$dir/fuzz.log" | sed 's/^/   /' || true
    fi
    summary+=("$line")
done

echo
echo "== summary (work folder $work)"
printf '%s\n' "${summary[@]}"
exit $failed
