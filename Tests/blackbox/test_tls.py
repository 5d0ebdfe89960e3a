"""`telehub serve --tls-cert --tls-key`: https and wss with a self-signed pair
made by openssl for 127.0.0.1, trusted explicitly by each client."""
import json

import httpx
import pytest
from httpx_sse import connect_sse

from conftest import bearer, now_ms, open_device, reading, stored_readings


@pytest.fixture
def tls_hub(tls_hub_factory):
    return tls_hub_factory().start()


def attributes(set_cookie):
    """The attributes of one Set-Cookie header: {lowercased name: value or True}."""
    parts = [p.strip() for p in set_cookie.split(";")]
    out = {}
    for part in parts[1:]:
        name, _, value = part.partition("=")
        out[name.strip().lower()] = value.strip() if value else True
    return parts[0], out


def test_serve_prints_an_https_url(tls_hub):
    line = tls_hub.serve_line
    assert f"https://127.0.0.1:{tls_hub.port}/?token=thr_" in line, line
    assert "http://" not in line
    health = httpx.get(f"{tls_hub.url}/healthz", verify=tls_hub.ssl_context(), timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_plain_http_is_not_served_on_the_tls_port(tls_hub):
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_hub.port}/healthz", timeout=5)


def test_untrusted_client_refuses_the_certificate(tls_hub):
    """Sanity check that TLS is real: without the certificate, verification fails."""
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{tls_hub.url}/healthz", timeout=5)


@pytest.mark.parametrize("via", ["header", "query"])
def test_wss_device_session(tls_hub, via):
    token, ts = tls_hub.device_token("secure-1"), now_ms() - 1000
    with open_device(tls_hub, token, via=via, ssl=tls_hub.ssl_context()) as device:
        assert device.hello["type"] == "hello" and device.hello["device"] == "secure-1"
        assert "permessage-deflate" in device.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        device.expect_ack(reading(device.hello["lastSeq"] + 1, {"t": 21.5}, ts=ts))
    assert stored_readings(tls_hub, "secure-1")[("t", ts)] == 21.5


def test_https_read_api_and_ingest(tls_hub):
    device_token, reader = tls_hub.device_token("secure-2"), tls_hub.read_token()
    ts, tls = now_ms() - 1000, tls_hub.ssl_context()
    posted = httpx.post(f"{tls_hub.url}/v1/ingest", headers=bearer(device_token),
                        content=json.dumps(reading(1, {"t": 1.25}, ts=ts)), verify=tls, timeout=10)
    assert posted.status_code == 200 and posted.json() == {"ack": 1}
    listing = httpx.get(f"{tls_hub.url}/v1/devices", headers=bearer(reader), verify=tls, timeout=10)
    assert listing.status_code == 200
    devices = {d["name"]: d for d in listing.json()["devices"]}
    assert devices["secure-2"]["metrics"]["t"] == {"ts": ts, "value": 1.25}
    assert httpx.get(f"{tls_hub.url}/v1/devices", verify=tls, timeout=10).status_code == 401


def test_sse_over_https(tls_hub):
    device_token, reader = tls_hub.device_token("secure-3"), tls_hub.read_token()
    ts = now_ms() - 1000
    with httpx.Client(verify=tls_hub.ssl_context(), timeout=httpx.Timeout(10, read=5)) as client:
        with connect_sse(client, "GET", f"{tls_hub.url}/v1/stream", headers=bearer(reader)) as source:
            events = (e for e in source.iter_sse() if e.data)
            assert next(events).event == "snapshot"
            with open_device(tls_hub, device_token, ssl=tls_hub.ssl_context()) as device:
                device.expect_ack(reading(1, {"t": 3.5}, ts=ts))
            event = next(e for e in events if e.event == "reading")
            assert json.loads(event.data) == {"device": "secure-3", "ts": ts, "metrics": {"t": 3.5}}


def test_login_over_https_sets_secure_httponly_strict_cookie(tls_hub):
    token = tls_hub.read_token()
    tls = tls_hub.ssl_context()
    response = httpx.get(f"{tls_hub.url}/?token={token}", verify=tls, follow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.status_code
    assert token not in response.headers.get("location", "")
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    pair, attrs = attributes(cookies[0])
    assert "=" in pair and pair.split("=", 1)[1], pair
    # `__Host-`: a browser keeps it only from a secure origin, for the whole host.
    assert pair.startswith("__Host-telehub_session="), pair
    assert attrs.get("path") == "/" and "domain" not in attrs, cookies[0]
    assert attrs.get("httponly") is True, cookies[0]
    assert attrs.get("secure") is True, cookies[0]
    assert str(attrs.get("samesite", "")).lower() == "strict", cookies[0]
    # The cookie opens the read API over https.
    name, value = pair.split("=", 1)
    with httpx.Client(verify=tls, timeout=10) as client:
        client.cookies.set(name, value)
        assert client.get(f"{tls_hub.url}/v1/devices").status_code == 200
