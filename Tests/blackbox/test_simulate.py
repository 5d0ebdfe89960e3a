"""`telehub simulate` (the Swift device SDK) against the addresses people give
it, and what it says when the hub refuses it."""
import json
import subprocess

from conftest import BINARY, free_port


def simulate(hub, tmp_path, url, token, seconds=2.5, drain=0, backoff_cap=2):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"dev-1 {token}\n")
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [str(BINARY), "simulate", "--devices", "1", "--rate", "5", "--duration", str(seconds), "--drain-timeout", str(drain),
         "--url", url, "--tokens", str(tokens), "--buffer-dir", str(tmp_path / "buffers"), "--summary", str(summary),
         "--backoff-cap", str(backoff_cap)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, json.loads(summary.read_text())["dev-1"]


def test_the_address_the_hub_prints_is_enough(hub, tmp_path):
    output, counters = simulate(hub, tmp_path, hub.url, hub.device_token("dev-1"), drain=10)  # http://127.0.0.1:PORT
    assert counters["acked"] == counters["sent"] > 0 and counters.get("lastError") is None, counters
    assert "connected 1" in output


def test_a_refused_token_is_named_and_backs_off_to_the_cap(hub, tmp_path):
    output, counters = simulate(hub, tmp_path, hub.ws_url, "thd_not-a-real-token", backoff_cap=4)
    assert counters["acked"] == 0 and counters["buffered"] == counters["sent"] > 0, counters
    assert "401" in counters["lastError"] and "token" in counters["lastError"], counters
    assert "refused the token (HTTP 401)" in output, output[-1000:]
    # Between half the cap (2 s) and the cap (4 s): at most two attempts in 2.5 s,
    # where the transient backoff (from 0.5 s, full jitter) would usually make more.
    assert 1 <= counters["reconnects"] <= 2, counters


def test_a_wrong_path_is_named(hub, tmp_path):
    output, counters = simulate(hub, tmp_path, f"{hub.url}/elsewhere", hub.device_token("dev-1"))
    assert "404" in counters["lastError"], counters


def test_a_closed_port_is_named(hub, tmp_path):
    output, counters = simulate(hub, tmp_path, f"http://127.0.0.1:{free_port()}", hub.device_token("dev-1"), seconds=1)
    assert "cannot connect" in counters["lastError"], counters


def test_an_address_that_names_no_hub_is_refused_before_starting(hub, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("dev-1 thd_x\n")
    result = subprocess.run([str(BINARY), "simulate", "--url", "mqtt://hub:1883", "--tokens", str(tokens)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "unsupported scheme" in result.stderr, result.stderr
