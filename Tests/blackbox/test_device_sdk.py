"""A device app built on the Swift SDK alone (`devices/swift`, the
`sensor-example` target): what it links, and that it delivers."""
import subprocess

from conftest import BINARY, get_json

EXAMPLE = BINARY.parent / "sensor-example"
# Modules of the hub side that a device app must not carry.
HUB_ONLY = ("Hummingbird", "TelehubServer", "TelehubStore", "TelehubAuth", "CTelehubCrypto", "Prometheus", "AsyncHTTPClient")


def test_a_device_app_links_no_server_library_and_no_openssl():
    objects = (BINARY.parent / "sensor-example.product" / "Objects.LinkFileList").read_text().splitlines()
    assert any("/TelehubDevice.build/" in line for line in objects), objects[:5]
    linked = [line for line in objects if any(f"/{name}.build/" in line for name in HUB_ONLY)]
    assert linked == [], linked[:5]
    libraries = subprocess.run(["ldd", str(EXAMPLE)], capture_output=True, text=True, check=True).stdout
    assert "libcrypto" not in libraries and "libssl" not in libraries, libraries


def test_a_device_app_delivers_its_readings(hub, tmp_path):
    result = subprocess.run(
        [str(EXAMPLE), hub.url, hub.device_token("sensor-1"), "--readings", "5", "--interval-ms", "20",
         "--buffer", str(tmp_path / "buffer.sqlite")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sent 5 acked 5 rejected 0" in result.stdout, result.stdout
    reader = hub.read_token()
    assert get_json(hub, "/v1/devices/sensor-1", reader)["metrics"]["temperature"]["value"] == 21.4
    stored = get_json(hub, "/v1/devices/sensor-1/metrics/temperature", reader, params={"from": 0})["points"]
    assert [value for _, value in stored] == [21.0, 21.1, 21.2, 21.3, 21.4]


def test_a_device_app_refuses_bad_arguments_clearly():
    result = subprocess.run([str(EXAMPLE), "ws://127.0.0.1:1", "thd_x", "--readings", "-3"], capture_output=True, text=True)
    assert result.returncode == 2 and "--readings must be a whole number" in result.stderr, result.stderr
