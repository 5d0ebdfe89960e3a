"""`telehub serve --demo`, as the README's quick start runs it: four simulated
devices with a day of history, live readings on the stream within seconds,
units on their metrics and two example alert rules, added once."""
import json
import time

from conftest import event_stream, get_json


def test_demo_shows_live_data_units_and_alert_rules(hub_factory):
    hub = hub_factory("--demo").start()
    reader = hub.read_token()
    with event_stream(hub, reader) as stream:
        snapshot = json.loads(stream.next_of("snapshot").data)
        started = time.monotonic()
        live = json.loads(stream.next_of("reading").data)
        assert time.monotonic() - started < 5, "no live demo reading within 5 s"
    assert live["device"].startswith("demo-")
    assert {a["name"] for a in snapshot["alerts"]} == {"demo-greenhouse-warm", "demo-battery-low"}

    devices = {d["name"]: d for d in get_json(hub, "/v1/devices", reader)["devices"]}
    assert set(devices) == {"demo-greenhouse-1", "demo-greenhouse-2", "demo-cold-room", "demo-meter"}
    assert all(d["online"] for d in devices.values())
    temperature = devices["demo-greenhouse-1"]["metrics"]["temperature"]
    assert temperature["unit"] == "°C" and temperature["label"] == "Temperature"
    history = get_json(hub, "/v1/devices/demo-greenhouse-1/metrics/temperature", reader,
                       params={"from": str(int(time.time() * 1000) - 86_400_000), "points": "24"})
    assert len(history["points"]) >= 10 and sum(point[4] for point in history["points"]) >= 1000, \
        "the demo's day of history is missing"

    # A second start adds nothing twice, and keeps what the operator changed.
    hub.cli("metric", "set", "--device", "*", "--metric", "temperature", "--unit", "K")
    hub.restart()
    # (`alert list` has a line per rule and device it has seen: count the rules.)
    assert len({a["id"] for a in json.loads(hub.cli("alert", "list", "--json").stdout)}) == 2
    assert get_json(hub, "/v1/devices/demo-greenhouse-1", reader)["metrics"]["temperature"]["unit"] == "K"
