#!/usr/bin/env bash
# The hub and Debian's InfluxDB 1.x on the same load, in the same run:
# starts `influxd` on a temporary folder and a free loopback port, runs
# `telehub bench --ingest` with each throughput case also written to it as
# line protocol, then stops it and removes the folder.
#
#   bash Benchmarks/influx_peer.sh [path/to/telehub] [more bench options]
#
# Installs Debian's `influxdb` package when `influxd` is missing. Both servers
# acknowledge a write only once it is durable: InfluxDB after its WAL is
# fsynced (wal-fsync-delay 0s, its default), the hub after its SQLite commit.
set -euo pipefail

bin=${1:-.build/release/telehub}
shift || true
if ! command -v influxd >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q influxdb >/dev/null
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dir=$(mktemp -d /tmp/telehub-influx.XXXXXX)
http_port=$(free_port)
rpc_port=$(free_port)
cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc_port"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$http_port"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
CONF

influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$http_port/ping" && break
    sleep 0.1
done
curl -sf -o /dev/null -XPOST "http://127.0.0.1:$http_port/query" --data-urlencode "q=CREATE DATABASE telehub_bench"
echo "InfluxDB $(influxd version | head -1) on 127.0.0.1:$http_port (pid $pid)"
"$bin" bench --ingest --influx "127.0.0.1:$http_port" --influx-pid "$pid" "$@"
