"""Several hubs on one PostgreSQL database behind a real load balancer:
nginx from Debian's packages, configured with the shipped example
(docs/nginx-telehub.conf, only its addresses changed). Devices, dashboards
and streams go through nginx; one hub is killed with SIGKILL while simulated
SDK devices stream, and every generated reading is stored exactly once."""
import json
import time

import httpx
import pytest

from conftest import STORE, bearer, event_stream, get_json, open_device, reading
from nginx_process import Nginx
from simulated_fleet import SimulatedFleet

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="several hubs share a PostgreSQL database")

DEVICES = 30
SECONDS = 30


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
