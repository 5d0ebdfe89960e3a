#!/usr/bin/env bash
# Runs every Telehub test suite on a fresh machine: installs what is missing,
# builds once (debug, with tests), starts a throw-away PostgreSQL server, runs
# the Swift suites (the store conformance cases on SQLite and PostgreSQL), then
# the black-box suites (Python clients and headless Chromium) against that same
# binary: all of them on SQLite, and again on PostgreSQL those that reach the
# store (postgres-suites.txt), with several hubs on one database behind nginx
# (each test starts its own nginx; Debian's package is installed if missing).
# The dashboard's pure modules run under node --test first, their JSDoc types
# checked by Debian's tsc.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
source scripts/postgres.sh

ensure_build_deps
# What only the tests need is installed while the build runs: downloads and
# unpacking, not the build's CPU.
deps_log=$(mktemp /tmp/telehub-test-deps.XXXXXX)
(
    ensure_apt chromium chromium-driver libjs-dygraphs postgresql nginx node-typescript influxdb-client prometheus
    ensure_pip websockets=websockets httpx=httpx httpx_sse=httpx-sse selenium=selenium pytest=pytest influxdb_client=influxdb-client influxdb=influxdb yaml=pyyaml xdist=pytest-xdist
) >"$deps_log" 2>&1 &
deps=$!

# A suite that hangs fails, saying so, instead of running into CI's limit.
# Each bound is three to seven times what the suite takes on this machine.
within() {
    local seconds=$1 status=0
    shift
    timeout -s INT -k 60 "$seconds" "$@" || status=$?
    [ "$status" -ne 124 ] || echo "== stopped after $seconds s, still running: $*"
    return "$status"
}

started=$(date +%s)
echo "== build (debug, with tests)"
swift build --build-tests
echo "   built in $(( $(date +%s) - started )) s"
wait "$deps" || { cat "$deps_log"; echo "installing the test dependencies failed"; exit 1; }
cat "$deps_log"; rm -f "$deps_log"

echo "== dashboard modules (node --test; JSDoc types checked by tsc)"
(cd Tests/dashboard && LANG=en_US.UTF-8 TZ=UTC node --test)
tsc -p Tests/dashboard/jsconfig.json

echo "== PostgreSQL"
start_postgres
trap stop_postgres EXIT
export TELEHUB_REQUIRE_POSTGRES=1

echo "== Swift suites"
# Their databases and buffers go to a scratch folder removed afterwards.
scratch=$(mktemp -d /tmp/telehub-swift-tests.XXXXXX)
TMPDIR="$scratch" within 900 swift test --skip-build || { rm -rf "$scratch"; exit 1; }
rm -rf "$scratch"

echo "== black-box suites"
# Two workers, a test file each at a time: most of a black-box test's time is
# waiting on the hub (timeouts, reconnects, heartbeats), so two halve the wall
# time on two cores; each file keeps its own order and module fixtures. Every
# hub is on a port, folder and PostgreSQL schema of its own. The files in
# serial-suites.txt load the machine or race the hub against a clock, so they
# run afterwards, alone.
parallel="-q -n 2 --dist loadfile"
serial=$(grep -v "^#" Tests/blackbox/serial-suites.txt)
skip_serial=$(for file in $serial; do echo "--ignore=$file"; done)
export TELEHUB_BIN="$(swift build --show-bin-path)/telehub"
export TELEHUB_ARTIFACTS="${TELEHUB_ARTIFACTS:-$PWD/.test-artifacts}"
within 900 python3 -m pytest Tests/blackbox $parallel $skip_serial "$@"
within 900 python3 -m pytest -q "$@" $serial
echo "== black-box suites on PostgreSQL"
# Each line is a file or case, or `--deselect case`: it goes to the run of its file.
together=() alone=() alone_cases=0
while read -r flag target; do
    [ "$flag" = "--deselect" ] || { target=$flag; flag=""; }
    if grep -qx "${target%%::*}" <<<"$serial"; then
        alone+=($flag "$target")
        [ -n "$flag" ] || alone_cases=$((alone_cases + 1))
    else
        together+=($flag "$target")
    fi
done < <(grep -v -e "^#" -e "^$" Tests/blackbox/postgres-suites.txt)
TELEHUB_BLACKBOX_STORE=postgres within 900 python3 -m pytest $parallel "$@" "${together[@]}"
[ "$alone_cases" -eq 0 ] || TELEHUB_BLACKBOX_STORE=postgres within 300 python3 -m pytest -q "$@" "${alone[@]}"
echo "== Python device client"
within 300 python3 -m pytest devices/python/tests $parallel "$@"
echo "== all suites passed in $(( $(date +%s) - started )) s; screenshots in $TELEHUB_ARTIFACTS/screenshots"
