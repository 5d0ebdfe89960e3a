"""`telehub serve` settings from a config file, TELEHUB_* variables and flags:
every setting in each, flags over variables over the file, and a bad value
refused in the same words wherever it comes from."""
import os
import socket
import subprocess

from pathlib import Path

import pytest

from conftest import BINARY, Hub, open_device

ROOT = Path(__file__).resolve().parents[2]


def serve(tmp_path, *args, env=None):
    return subprocess.run([str(BINARY), "serve", "--db", str(tmp_path / "t.sqlite"), "--port", "0", *args],
                          capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("source", ["flag", "variable", "file"])
def test_a_bad_value_is_refused_the_same_way_from_every_source(tmp_path, source):
    config = tmp_path / "telehub.toml"
    config.write_text("flush-values = 12x\n" if source == "file" else "")
    args = ["--config", str(config)] + (["--flush-values", "12x"] if source == "flag" else [])
    env = {"TELEHUB_FLUSH_VALUES": "12x"} if source == "variable" else {}
    result = serve(tmp_path, *args, env=env)
    assert result.returncode != 0
    assert 'flush-values (from ' in result.stderr and '"12x" is not a whole number' in result.stderr, result.stderr
    origin = {"flag": "--flush-values", "variable": "TELEHUB_FLUSH_VALUES", "file": "telehub.toml:1"}[source]
    assert origin in result.stderr, result.stderr


def test_a_malformed_variable_is_no_longer_ignored(tmp_path):
    result = serve(tmp_path, env={"TELEHUB_HEARTBEAT_SECONDS": "twenty"})
    assert result.returncode != 0 and "heartbeat-seconds (from TELEHUB_HEARTBEAT_SECONDS)" in result.stderr


def test_flags_win_over_variables_which_win_over_the_file(tmp_path):
    config = tmp_path / "telehub.toml"
    config.write_text('# a comment\nmax-batch = 11\nmax-metrics = 5   # trailing comment\nhost = "127.0.0.1"\n')
    result = serve(tmp_path, "--config", str(config), "--max-batch", "33", "--print-config",
                   env={"TELEHUB_MAX_BATCH": "22", "TELEHUB_HEARTBEAT_SECONDS": "7"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "max-batch = 33" in lines and "max-metrics = 5" in lines and "heartbeat-seconds = 7" in lines


def test_a_config_file_runs_the_hub(hub_factory, tmp_path):
    config = tmp_path / "telehub.toml"
    config.write_text("max-batch = 17\nheartbeat-seconds = 9\n")
    hub = hub_factory("--config", str(config)).start()
    with open_device(hub, hub.device_token("d")) as device:
        hello = device.hello
    assert hello["maxBatch"] == 17 and hello["heartbeatSeconds"] == 9


def test_file_mistakes_are_named_with_their_line(tmp_path):
    config = tmp_path / "telehub.toml"
    config.write_text('port = 8080\nflush-interval = 5\nno equals sign\nport = 1\npublic = "unterminated\n')
    result = serve(tmp_path, "--config", str(config))
    assert result.returncode != 0
    for expected in ["telehub.toml:2: unknown setting \"flush-interval\"; did you mean flush-interval-ms?",
                     "telehub.toml:3: expected key = value", "telehub.toml:4: port is set twice",
                     "telehub.toml:5: public: no closing quote"]:
        assert expected in result.stderr, result.stderr


def test_the_example_file_is_every_setting_with_its_default(tmp_path):
    example = ROOT / "telehub.example.toml"
    result = subprocess.run([str(BINARY), "serve", "--print-config"], capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items() if not k.startswith("TELEHUB_")})
    assert result.returncode == 0, result.stderr
    assert example.read_text() == result.stdout, "regenerate with: telehub serve --print-config > telehub.example.toml"


def test_a_port_in_use_is_refused_in_plain_words_and_a_test_hub_moves_on(tmp_path):
    """`serve` on a taken port exits at once and says so. The test harness's
    hubs pick a free port and close it before the hub binds it, so beside a
    second test worker the port may be taken meanwhile: a first start then
    tries another port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(BINARY), "serve", "--db", str(tmp_path / "t.sqlite"), "--port", str(port)],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0
        assert "Address already in use" in result.stderr, result.stderr[-500:]
        hub = Hub(tmp_path / "moved")
        hub.workdir.mkdir()
        hub.port = port
        try:
            hub.start()
            assert hub.port != port and hub.healthy()
        finally:
            hub.stop()
