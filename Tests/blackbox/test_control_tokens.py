"""Control tokens (contract v1.2, "Control tokens"): a third kind, `thc_`,
that may do all a read token may; dashboard sessions carry the kind of the
token they were made from, and a session hands out the CSRF value its
changes must carry."""
import json

import httpx

from conftest import bearer

COOKIE = "telehub_session"


def login(hub, token) -> str:
    response = httpx.post(f"{hub.url}/v1/session", json={"token": token}, timeout=10)
    assert response.status_code == 200, response.text
    return response.cookies[COOKIE]


def session_state(hub, **kwargs) -> dict:
    response = httpx.get(f"{hub.url}/v1/session", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_cli_makes_and_lists_control_tokens(hub):
    token = hub.cli("token", "create", "--control", "--label", "ops").stdout.strip()
    assert token.startswith("thc_") and "\n" not in token
    listed = json.loads(hub.cli("token", "list", "--json").stdout)
    assert [(t["kind"], t["device"], t["label"]) for t in listed] == [("control", None, "ops")]
    both = hub.cli("token", "create", "--control", "--read", check=False)
    assert both.returncode != 0 and "exactly one of" in both.stderr


def test_a_control_token_reads_what_a_read_token_reads(hub):
    control = hub.cli("token", "create", "--control").stdout.strip()
    hub.device_token("gh-1")
    for path in ["/v1/devices", "/v1/devices/gh-1", "/v1/alerts"]:
        assert httpx.get(hub.url + path, headers=bearer(control), timeout=10).status_code == 200, path
    # A device token is no control token, and a control token ingests nothing.
    assert httpx.get(f"{hub.url}/v1/devices", headers=bearer(hub.device_token("gh-2")), timeout=10).status_code == 401
    refused = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(control), timeout=10,
                         json={"type": "reading", "seq": 1, "metrics": {"t": 1}})
    assert refused.status_code == 401


def test_a_session_knows_the_kind_of_its_token_and_has_its_own_csrf_value(hub):
    control_cookie = login(hub, hub.cli("token", "create", "--control").stdout.strip())
    read_cookie = login(hub, hub.read_token())
    control = session_state(hub, cookies={COOKIE: control_cookie})
    read = session_state(hub, cookies={COOKIE: read_cookie})
    assert control["authenticated"] and control["kind"] == "control"
    assert read["authenticated"] and read["kind"] == "read"
    assert control["csrf"].startswith("thx_") and read["csrf"].startswith("thx_")
    assert control["csrf"] != read["csrf"]
    assert control_cookie not in control["csrf"] and control_cookie[4:] not in control["csrf"]
    assert session_state(hub, cookies={COOKIE: control_cookie})["csrf"] == control["csrf"]  # stable for the session
    # A bearer request needs no CSRF value and gets none.
    by_header = session_state(hub, headers=bearer(hub.cli("token", "create", "--control").stdout.strip()))
    assert by_header == {"authenticated": True, "kind": "control"}
    assert session_state(hub) == {"authenticated": False}
