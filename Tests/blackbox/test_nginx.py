"""Several hubs on one PostgreSQL database behind a real load balancer:
nginx from Debian's packages, configured with the shipped example
(docs/nginx-telehub.conf, only its addresses changed). Devices, dashboards
and streams go through nginx; one hub is killed with SIGKILL while simulated
SDK devices stream, and every generated reading is stored exactly once."""
import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from conftest import BINARY, ROOT, STORE, bearer, event_stream, exported, free_port, get_json, open_device, reading

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="several hubs share a PostgreSQL database")

EXAMPLE = ROOT / "docs" / "nginx-telehub.conf"
DEVICES = 30
SECONDS = 30
METRICS = [3, 3, 2, 1]  # per reading of each simulated device, as in test_chaos.py


class Nginx:
    """nginx in the foreground with a prefix folder of its own."""

    def __init__(self, workdir: Path, upstream_ports):
        self.dir = workdir / "nginx"
        self.dir.mkdir()
        os.chmod(self.dir, 0o777)  # workers run as nobody when started by root
        self.port = free_port()
        site = EXAMPLE.read_text()
        servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstream_ports)
        site, count = re.subn(r"(    server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, site)
        assert count == 1, "the example's upstream block changed shape"
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        (self.dir / "telehub.conf").write_text(site)
        temp = "".join(f"    {kind}_temp_path {self.dir}/{kind};\n" for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"])
        (self.dir / "nginx.conf").write_text(
            f"daemon off;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log warn;\nworker_processes 1;\n"
            f"events {{ worker_connections 4096; }}\n"
            f"http {{\n    access_log off;\n{temp}    include {self.dir}/telehub.conf;\n}}\n")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                assert self.proc.poll() is None, self.proc.stderr.read().decode()
                time.sleep(0.05)
        raise AssertionError("nginx did not start")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Through:
    """A hub as clients see it through nginx: the helpers take this for a hub."""

    def __init__(self, nginx):
        self.url = nginx.url
        self.ws_url = nginx.url.replace("http://", "ws://") + "/v1/ingest"


@pytest.fixture
def fleet(hub_factory, tmp_path):
    hubs = [hub_factory().start()]
    for _ in range(2):
        hub = hub_factory()
        hub.db = hubs[0].db
        hubs.append(hub.start())
    nginx = Nginx(tmp_path, [hub.port for hub in hubs])
    yield hubs, nginx
    nginx.stop()


def test_devices_and_dashboards_work_through_nginx(fleet):
    hubs, nginx = fleet
    lb = Through(nginx)
    token, reader = hubs[0].device_token("gh-1"), hubs[0].read_token()
    with event_stream(lb, reader) as stream:
        stream.next_of("snapshot")
        with open_device(lb, token) as device:
            assert device.hello["device"] == "gh-1"
            device.expect_ack(reading(1, {"t": 21.5}, ts=1_732_200_000_123))
            event = stream.next_of("reading")
            assert json.loads(event.data) == {"device": "gh-1", "ts": 1_732_200_000_123, "metrics": {"t": 21.5}}
            assert get_json(lb, "/v1/devices/gh-1", reader)["online"] is True
    # HTTP ingest and the contract's errors come through unchanged.
    response = httpx.post(f"{lb.url}/v1/ingest", headers=bearer(token), json=reading(2, {"t": 22}), timeout=10)
    assert response.status_code == 200, response.text
    assert httpx.get(f"{lb.url}/v1/devices", headers=bearer("thr_wrong"), timeout=10).status_code == 401


def test_a_hub_killed_during_ingest_loses_and_duplicates_nothing(fleet, tmp_path):
    hubs, nginx = fleet
    summary = tmp_path / "summary.json"
    simulate = subprocess.Popen(
        [str(BINARY), "simulate", "--devices", str(DEVICES), "--rate", "2", "--duration", str(SECONDS),
         "--url", nginx.url.replace("http://", "ws://") + "/v1/ingest", "--db", str(hubs[0].db), "--heartbeat", "2",
         "--buffer-dir", str(tmp_path / "buffers"), "--summary", str(summary), "--drain-timeout", "60",
         "--backoff-cap", "2", "--stable-after", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(SECONDS * 0.4)
        hubs[1].kill9()  # the others take its devices over
        try:
            output, _ = simulate.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            simulate.kill()
            output, _ = simulate.communicate()
            raise AssertionError(f"simulate did not finish; its last lines:\n{output[-1500:]}")
    finally:
        if simulate.poll() is None:
            simulate.kill()
    assert simulate.returncode == 0, output[-2000:]
    counters = json.loads(summary.read_text())
    assert len(counters) == DEVICES
    assert sum(c["reconnects"] for c in counters.values()) >= 1  # the killed hub's devices moved
    values = exported(hubs[0])
    stored = Counter(name for name, _, _, _ in values)
    timestamps = Counter(name for name, _ in {(name, ts) for name, _, ts, _ in values})
    for index in range(DEVICES):
        name = f"sim-{index}"
        c = counters[name]
        assert c["buffered"] == 0 and c["rejected"] == 0 and c["droppedFull"] == 0, (name, c)
        assert c["acked"] == c["sent"] > SECONDS, (name, c)
        assert timestamps.get(name) == c["sent"], (name, c, timestamps.get(name))
        assert stored.get(name) == c["sent"] * METRICS[index % 4], (name, c, stored.get(name))
