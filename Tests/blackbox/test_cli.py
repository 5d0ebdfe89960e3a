"""The admin CLI (`telehub token …`, `telehub device …`), checked against CONTRACT.md.
The `hub` fixture runs a server on the same database throughout, so every test
also checks that the CLI works while the server runs."""
import json
import math
import re
import string
import subprocess
import time

import httpx
import pytest

from conftest import (
    BINARY,
    DAY_MS,
    bearer,
    exported,
    now_ms,
    open_device,
    reading,
    refused_upgrade,
)

TOKEN_FIELDS = {"id", "kind", "device", "label", "createdAt", "lastUsedAt", "expiresAt", "revoked"}
DEVICE_FIELDS = {"name", "createdAt", "lastSeen", "lastSeq", "tokens"}


def entropy_bits(secret: str) -> float:
    if all(c in string.hexdigits for c in secret):
        return len(secret) * 4
    if all(c in string.ascii_letters + string.digits + "-_" for c in secret):
        return len(secret) * 6
    return len(secret) * math.log2(len(set(secret)) or 1)


def tokens_json(hub):
    return json.loads(hub.cli("token", "list", "--json").stdout)


def devices_json(hub):
    return json.loads(hub.cli("device", "list", "--json").stdout)


def token_by_label(hub, label):
    matches = [t for t in tokens_json(hub) if t["label"] == label]
    assert len(matches) == 1, matches
    return matches[0]


def status_code(hub, path, token):
    return httpx.get(f"{hub.url}{path}", headers=bearer(token), timeout=10).status_code


# ---------------------------------------------------------------------------
# token create


def test_create_device_token_prints_only_the_token(hub):
    result = hub.cli("token", "create", "--device", "greenhouse-1")
    assert result.returncode == 0
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, repr(result.stdout)
    token = result.stdout.strip()
    assert re.fullmatch(r"thd_\S+", token), token
    assert entropy_bits(token[4:]) >= 128, token
    # It is a working device token for that device, against the running hub.
    with open_device(hub, token) as device:
        assert device.hello["device"] == "greenhouse-1"
    other = hub.device_token("greenhouse-1")
    assert other != token


def test_create_read_token(hub):
    result = hub.cli("token", "create", "--read", "--label", "wall screen")
    token = result.stdout.strip()
    assert result.stdout.count("\n") == 1
    assert re.fullmatch(r"thr_\S+", token), token
    assert entropy_bits(token[4:]) >= 128
    assert status_code(hub, "/v1/devices", token) == 200
    # A read token may not ingest.
    assert refused_upgrade(hub, token).status_code == 401


def test_token_list_json_fields_and_no_secret(hub):
    before = now_ms()
    device_token = hub.device_token("d1", "--label", "field unit")
    read_token = hub.read_token("--label", "dashboard")
    after = now_ms()
    result = hub.cli("token", "list", "--json")
    for secret in (device_token, read_token):
        assert secret not in result.stdout and secret[4:] not in result.stdout
    tokens = json.loads(result.stdout)
    assert isinstance(tokens, list) and len(tokens) == 2
    for token in tokens:
        assert set(token) >= TOKEN_FIELDS, token
        assert isinstance(token["id"], int)
        assert before - 1000 <= token["createdAt"] <= after + 1000
        assert token["expiresAt"] is None and token["revoked"] is False
        assert not any(isinstance(v, str) and (v.startswith("thd_") or v.startswith("thr_")) for v in token.values())
    device = token_by_label(hub, "field unit")
    assert device["kind"] == "device" and device["device"] == "d1"
    read = token_by_label(hub, "dashboard")
    assert read["kind"] == "read" and read["device"] is None
    assert device["id"] != read["id"]
    # The table form never shows secrets either.
    table = hub.cli("token", "list").stdout
    assert device_token not in table and read_token not in table
    assert "field unit" in table and "dashboard" in table


def test_expires_30d(hub):
    before = now_ms()
    hub.device_token("d", "--label", "month", "--expires", "30d")
    after = now_ms()
    token = token_by_label(hub, "month")
    assert before + 30 * DAY_MS - 1000 <= token["expiresAt"] <= after + 30 * DAY_MS + 1000


def test_expired_tokens_refused(hub):
    device_token = hub.device_token("short", "--label", "dev", "--expires", "1s")
    read_token = hub.read_token("--label", "read", "--expires", "1s")
    expires = max(token_by_label(hub, "dev")["expiresAt"], token_by_label(hub, "read")["expiresAt"])
    assert expires <= now_ms() + 1500
    time.sleep(max(0.0, (expires - now_ms()) / 1000) + 0.5)  # the one wait a clock needs
    assert now_ms() > expires
    response = refused_upgrade(hub, device_token)
    assert response.status_code == 401 and json.loads(bytes(response.body)) == {"error": "unauthorized"}
    post = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(device_token), content=json.dumps(reading(1, {"a": 1})), timeout=10)
    assert post.status_code == 401
    assert status_code(hub, "/v1/devices", read_token) == 401


@pytest.mark.parametrize("kind", ["device", "read"])
def test_revoke_refuses_token_on_running_hub(hub, kind):
    token = hub.device_token("d", "--label", "victim") if kind == "device" else hub.read_token("--label", "victim")
    keeper = hub.device_token("d") if kind == "device" else hub.read_token()
    # Works before revocation.
    if kind == "device":
        with open_device(hub, token):
            pass
    else:
        assert status_code(hub, "/v1/devices", token) == 200
    token_id = token_by_label(hub, "victim")["id"]
    result = hub.cli("token", "revoke", str(token_id))
    assert result.returncode == 0
    assert token_by_label(hub, "victim")["revoked"] is True
    if kind == "device":
        assert refused_upgrade(hub, token).status_code == 401
        assert refused_upgrade(hub, token, via="query").status_code == 401
        post = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(token), content=json.dumps(reading(1, {"a": 1})), timeout=10)
        assert post.status_code == 401
        with open_device(hub, keeper):  # other tokens are unaffected
            pass
    else:
        assert status_code(hub, "/v1/devices", token) == 401
        assert status_code(hub, "/v1/stream", token) == 401
        assert status_code(hub, "/v1/devices", keeper) == 200


def test_revoke_unknown_id_fails(hub):
    hub.device_token("d")
    for bad in ("9999", "abc"):
        result = hub.cli("token", "revoke", bad, check=False)
        assert result.returncode != 0
        assert result.stderr.strip(), "an error message is expected on stderr"
    assert all(t["revoked"] is False for t in tokens_json(hub))


# ---------------------------------------------------------------------------
# devices


def test_device_list_json(hub):
    before = now_ms()
    token = hub.device_token("d1")
    hub.device_token("d1")
    revoked = hub.device_token("d1", "--label", "gone")
    hub.cli("token", "revoke", str(token_by_label(hub, "gone")["id"]))
    hub.device_token("d2")
    ts = now_ms() - 1000
    with open_device(hub, token) as device:
        device.expect_ack(reading(17, {"a": 1}, ts=ts))
    assert revoked
    devices = {d["name"]: d for d in devices_json(hub)}
    assert set(devices) == {"d1", "d2"}
    for d in devices.values():
        assert set(d) >= DEVICE_FIELDS, d
        assert before - 1000 <= d["createdAt"] <= now_ms() + 1000
    assert devices["d1"]["lastSeq"] == 17
    assert isinstance(devices["d1"]["lastSeen"], int) and devices["d1"]["lastSeen"] >= ts
    assert devices["d1"]["tokens"] == 2  # live tokens only
    assert devices["d2"] == {**devices["d2"], "lastSeq": 0, "lastSeen": None, "tokens": 1}
    table = hub.cli("device", "list").stdout
    assert "d1" in table and "d2" in table


def test_device_delete(hub):
    reader = hub.read_token()
    token = hub.device_token("doomed")
    hub.device_token("doomed")
    keep = hub.device_token("keeper")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1}, ts=now_ms() - 1000))
    with open_device(hub, keep) as device:
        device.expect_ack(reading(1, {"a": 2}, ts=now_ms() - 1000))
    assert status_code(hub, "/v1/devices/doomed", reader) == 200

    result = hub.cli("device", "delete", "doomed", "--yes")
    assert result.returncode == 0

    response = httpx.get(f"{hub.url}/v1/devices/doomed", headers=bearer(reader), timeout=10)
    assert response.status_code == 404 and response.json() == {"error": "not_found"}
    assert [d["name"] for d in devices_json(hub)] == ["keeper"]
    assert [t["device"] for t in tokens_json(hub) if t["kind"] == "device"] == ["keeper"]
    assert refused_upgrade(hub, token).status_code == 401
    # Its data is gone; the other device's is not.
    assert [name for name, _, _, _ in exported(hub)] == ["keeper"]
    with open_device(hub, keep) as device:
        assert device.hello["lastSeq"] == 1


def test_device_delete_requires_yes(hub):
    reader = hub.read_token()
    hub.device_token("precious")
    result = hub.cli("device", "delete", "precious", check=False)
    assert result.returncode != 0
    assert result.stderr.strip()
    assert status_code(hub, "/v1/devices/precious", reader) == 200
    assert [d["name"] for d in devices_json(hub)] == ["precious"]


@pytest.mark.parametrize("name", ["-starts-with-dash", "has space", "a" * 65, "", "ünïcode", "slash/name", ".dot"])
def test_invalid_device_name_creates_nothing(hub, name):
    result = hub.cli("token", "create", "--device", name, check=False)
    assert result.returncode != 0
    assert result.stdout.strip() == ""
    assert result.stderr.strip()
    assert devices_json(hub) == []
    assert tokens_json(hub) == []


def test_longest_valid_device_name(hub):
    name = "A1._-" + "z" * 59
    assert len(name) == 64
    token = hub.device_token(name)
    with open_device(hub, token) as device:
        assert device.hello["device"] == name


def test_invalid_expires_creates_nothing(hub):
    result = hub.cli("token", "create", "--device", "d", "--expires", "soon", check=False)
    assert result.returncode != 0 and result.stdout.strip() == ""
    assert tokens_json(hub) == [] and devices_json(hub) == []


def test_cli_token_usable_immediately_by_running_hub(hub):
    # Created while the server runs on the same database: accepted at once.
    token = hub.device_token("fresh")
    reader = hub.read_token()
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1}))
    assert status_code(hub, "/v1/devices/fresh", reader) == 200
    # And the CLI still reads the database the server is writing.
    assert devices_json(hub)[0]["lastSeq"] == 1


@pytest.mark.parametrize("url,expected", [
    ("postgresql://telehub:s3cret@127.0.0.1:1/telehub", "cannot open the database postgresql://telehub:***@127.0.0.1:1/telehub"),
    ("postgres://h/db", "names no user"),
    ("postgresql://telehub:s3cret@h/db?sslmode=sometimes", "sslmode must be"),
    ("sqlite://x", "not a store Telehub knows"),
    ("mysql://telehub:s3cret@h/db", "not a store Telehub knows"),
])
def test_a_database_url_is_never_made_into_folders(tmp_path, url, expected):
    """`--db` takes a file path or a postgresql:// URL; a URL must not become
    folders and a SQLite file named after it (with the password in the path),
    and an error never repeats the password."""
    from conftest import BINARY
    import subprocess
    for args in (["device", "list", "--db", url], ["serve", "--db", url, "--port", "0"]):
        result = subprocess.run([str(BINARY), *args], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert result.returncode != 0, args
        assert expected in result.stderr and "s3cret" not in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []

