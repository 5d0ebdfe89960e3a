"""Dashboard sessions are server-side: the cookie holds a random session id,
never the read token; logout, revocation and the token's expiry end it."""
import time

import httpx

from conftest import bearer, token_labelled

COOKIE = "telehub_session"


def login(hub, token):
    response = httpx.post(f"{hub.url}/v1/session", json={"token": token}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def devices_with(hub, cookie):
    return httpx.get(f"{hub.url}/v1/devices", cookies={COOKIE: cookie}, timeout=10)


def test_the_cookie_is_a_session_id_not_the_token(hub):
    token = hub.read_token()
    response = login(hub, token)
    cookie = response.cookies[COOKIE]
    assert cookie.startswith("ths_") and token not in response.headers["set-cookie"]
    assert devices_with(hub, cookie).status_code == 200
    # The token itself is no longer accepted as a cookie.
    assert devices_with(hub, token).status_code == 401


def test_logout_ends_the_session_on_the_server(hub):
    cookie = login(hub, hub.read_token()).cookies[COOKIE]
    assert devices_with(hub, cookie).status_code == 200
    out = httpx.delete(f"{hub.url}/v1/session", cookies={COOKIE: cookie}, timeout=10)
    assert out.status_code == 200
    # A copy of the cookie kept from before the logout is worthless now.
    assert devices_with(hub, cookie).status_code == 401
    assert httpx.get(f"{hub.url}/v1/session", cookies={COOKIE: cookie}, timeout=10).json() == {"authenticated": False}


def test_revoking_the_token_ends_its_sessions(hub):
    token = hub.read_token("--label", "phone")
    first = login(hub, token).cookies[COOKIE]
    second = login(hub, token).cookies[COOKIE]
    assert first != second
    hub.cli("token", "revoke", str(token_labelled(hub, "phone")["id"]))
    assert devices_with(hub, first).status_code == 401
    assert devices_with(hub, second).status_code == 401


def test_a_session_expires_no_later_than_its_token(hub):
    token = hub.read_token("--expires", "3s")
    response = login(hub, token)
    max_age = int(response.headers["set-cookie"].lower().split("max-age=")[1].split(";")[0])
    assert 1 <= max_age <= 3
    cookie = response.cookies[COOKIE]
    assert devices_with(hub, cookie).status_code == 200
    time.sleep(3.5)
    assert devices_with(hub, cookie).status_code == 401


def test_sessions_survive_a_restart(hub):
    cookie = login(hub, hub.read_token()).cookies[COOKIE]
    hub.restart()
    assert devices_with(hub, cookie).status_code == 200


def test_the_address_bar_exchange_makes_a_session(hub):
    token = hub.read_token()
    response = httpx.get(f"{hub.url}/?token={token}", timeout=10, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.cookies[COOKIE]
    assert cookie.startswith("ths_")
    assert devices_with(hub, cookie).status_code == 200


def test_the_process_token_makes_a_session_too(hub):
    cookie = login(hub, hub.session_token).cookies[COOKIE]
    assert devices_with(hub, cookie).status_code == 200
    httpx.delete(f"{hub.url}/v1/session", cookies={COOKIE: cookie}, timeout=10)
    assert devices_with(hub, cookie).status_code == 401


def test_a_forged_session_id_is_refused(hub):
    for value in ("ths_" + "A" * 43, "ths_", "thr_nope", "x" * 4000):
        assert devices_with(hub, value).status_code == 401
    assert httpx.get(f"{hub.url}/v1/devices", headers=bearer(hub.read_token()), timeout=10).status_code == 200
