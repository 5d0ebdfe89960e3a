"""The README's "From Telegraf and Home Assistant" and "Grafana" sections,
as far as the tools exist here: each configuration block is read as the tool
would read it (TOML, YAML) and its settings drive the client library that
tool uses (Telegraf's influxdb_v2 output speaks the 2.x write API that
`influxdb-client` speaks; Home Assistant's integration is `influxdb`;
Grafana's data source is replayed with its basic authentication)."""
import re
import tomllib

import httpx
import pytest
import yaml

from conftest import ROOT, now_ms, stored_readings

influxdb_client = pytest.importorskip("influxdb_client")
influxdb = pytest.importorskip("influxdb")
from influxdb_client.client.write_api import SYNCHRONOUS  # noqa: E402

README = (ROOT / "README.md").read_text()


def section(title):
    start = README.index(f"## {title}\n")
    return README[start:README.index("\n## ", start + 1)]


def block(title, language, hub, token):
    text = re.search(rf"```{language}\n(.*?)```", section(title), re.S).group(1)
    return text.replace("127.0.0.1:8080", f"127.0.0.1:{hub.port}").replace("port: 8080", f"port: {hub.port}").replace(
        "thd_…", token).replace("thr_…", token)


def test_the_telegraf_block_configures_a_working_writer(hub):
    token = hub.device_token("telegraf")
    output = tomllib.loads(block("From Telegraf and Home Assistant", "toml", hub, token))["outputs"]["influxdb_v2"][0]
    assert output["content_encoding"] == "gzip"
    ts = now_ms() - 1000
    with influxdb_client.InfluxDBClient(url=output["urls"][0], token=output["token"], org=output["organization"],
                                        enable_gzip=True) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket=output["bucket"], record=f"cpu,cpu=cpu0,host=box usage_idle=93 {ts}", write_precision="ms")
    assert stored_readings(hub, "telegraf") == {("cpu.cpu0.box.usage_idle", ts): 93}


def test_the_home_assistant_block_configures_a_working_writer(hub):
    token = hub.device_token("homeassistant")
    settings = yaml.safe_load(block("From Telegraf and Home Assistant", "yaml", hub, token))["influxdb"]
    assert settings["api_version"] == 1
    client = influxdb.InfluxDBClient(host=str(settings["host"]), port=settings["port"], username=settings["username"],
                                     password=settings["password"], database=settings["database"])
    assert client.write_points([]) is True
    ts = now_ms() - 1000
    point = {"measurement": "°C", "tags": {"domain": "sensor", "entity_id": "living_room"}, "time": ts,
             "fields": {"value": 21.5}}
    assert client.write_points([point], time_precision="ms") is True
    # The name the README promises for this very line.
    assert "`__C.sensor.living_room.value`" in section("From Telegraf and Home Assistant")
    assert stored_readings(hub, "homeassistant") == {("__C.sensor.living_room.value", ts): 21.5}


def test_the_grafana_provisioning_file_reads_with_its_credentials(hub):
    token = hub.read_token()
    source = yaml.safe_load(block("Grafana", "yaml", hub, token))["datasources"][0]
    assert source["type"] == "prometheus" and source["basicAuth"] is True
    auth = (source["basicAuthUser"], source["secureJsonData"]["basicAuthPassword"])
    health = httpx.post(f"{source['url']}/api/v1/query", data={"query": "1+1", "time": "1700000000"}, auth=auth)
    assert health.status_code == 200
    assert health.json() == {"status": "success", "data": {"resultType": "scalar", "result": [1700000000, "2"]}}
