"""Every connection is a file descriptor. The hub raises its soft limit to the
hard one, keeps a reserve for its own files, and answers a device that comes
past the rest with 503 before the upgrade, instead of failing accepts (and
its own files) once the descriptors run out."""
import json
import re
import stat

from conftest import BINARY, Hub, RawWebSocket, metric_value, scrape

LIMIT = 150  # soft and hard; the hub keeps 100 for itself, so 50 connections


def limited_hub(tmp_path):
    wrapper = tmp_path / "telehub-limited"
    wrapper.write_text(f'#!/bin/sh\nulimit -n {LIMIT}\nexec "{BINARY}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return Hub(tmp_path, binary=wrapper)


def test_device_past_the_descriptor_limit_is_refused_with_503_and_counted(tmp_path):
    hub = limited_hub(tmp_path)
    tokens = hub.device_tokens("crowd", 60)  # one device each: a device's new connection replaces its old one
    hub.start()
    log = hub.log_path.read_text()
    assert re.search(rf"open files: soft limit {LIMIT} raised to {LIMIT} \(hard {LIMIT}\)", log), log
    held = []
    try:
        refused = None
        for token in tokens:
            socket = RawWebSocket(hub, token)
            if socket.status != 101:
                refused = socket
                break
            held.append(socket)
        assert refused is not None, "no connection was refused"
        assert 40 <= len(held) <= 50, f"{len(held)} connections before the first refusal"
        assert refused.status == 503
        assert refused.headers.get("retry-after") == "5"
        length = int(refused.headers["content-length"])
        while len(refused.buffer) < length:
            refused.buffer += refused.sock.recv(4096)
        assert json.loads(refused.buffer[:length])["error"] == "overloaded"
        refused.close()
        # Room again once connections close; the hub kept serving meanwhile.
        for socket in held[:5]:
            socket.close()
        held = held[5:]
        samples = scrape(hub)
        assert metric_value(samples, "telehub_connections_refused_total") >= 1
        again = RawWebSocket(hub, tokens[0])
        held.append(again)
        assert again.status == 101
        assert again.recv_json()["type"] == "hello"
    finally:
        for socket in held:
            socket.close()
        hub.stop()
