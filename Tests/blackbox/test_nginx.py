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
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, STORE, bearer, event_stream, free_port, get_json, open_device, reading
from simulated_fleet import SimulatedFleet

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="several hubs share a PostgreSQL database")

EXAMPLE = ROOT / "docs" / "nginx-telehub.conf"
DEVICES = 30
SECONDS = 30


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
    devices = SimulatedFleet(nginx.url.replace("http://", "ws://") + "/v1/ingest", hubs[0].db, tmp_path, DEVICES, SECONDS,
                             drain_timeout=60, backoff_cap=2)
    try:
        time.sleep(SECONDS * 0.4)
        hubs[1].kill9()  # the others take its devices over
        counters = devices.finish(timeout=120)
    finally:
        devices.kill()
    assert sum(c["reconnects"] for c in counters.values()) >= 1  # the killed hub's devices moved
    devices.assert_stored_exactly_once(hubs[0], counters)
