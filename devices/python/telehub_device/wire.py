"""What the hub accepts: addresses, metric names, timestamps (the contract's bounds)."""
from __future__ import annotations

import math
import re
import time
from typing import Mapping, Optional

METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_METRICS = 256
MIN_TS = 946_684_800_000  # 2000-01-01T00:00:00Z, the hub's lower bound
# Bytes of `{"type":"batch","seq":N,"readings":[]}` and of `{"ts":N,"metrics":}` plus a comma,
# with room for 20-digit numbers: used to keep a message under hello.maxMessageBytes.
_MESSAGE_OVERHEAD = 64
_READING_OVERHEAD = 40

STATES = ("disconnected", "connecting", "connected", "backing_off", "stopped")


def ingest_url(address: str) -> str:
    """The WebSocket address of a hub's ingest endpoint, from whichever
    address a person has: the one `telehub serve` prints (http://host:8080),
    https://..., or a full ws(s)://host/v1/ingest. http becomes ws, https wss,
    no scheme means ws; a path not ending in /v1/ingest gets it appended (a hub
    behind a proxy under /telehub is reached at /telehub/v1/ingest). The same
    rules as the Swift SDK's IngestEndpoint. Raises ValueError for an address
    that names no hub."""
    text = (address or "").strip()
    if not text or len(text) > 2048:
        raise ValueError("give the hub's address, e.g. http://127.0.0.1:8080")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "ws", text
    schemes = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}
    if scheme.lower() not in schemes:
        raise ValueError(f"unsupported scheme {scheme!r} in {address!r}: use http, https, ws or wss")
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority, slash, path = rest.partition("/")
    if not authority or " " in authority or "@" in authority:
        raise ValueError(f"no host in the address {address!r}")
    path = ("/" + path if slash else "").rstrip("/")
    if not path.endswith("/v1/ingest"):
        path += "/v1/ingest"
    return f"{schemes[scheme.lower()]}://{authority}{path}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def validate_reading(metrics: Mapping, ts: Optional[int]) -> None:
    """Raises ValueError for what the hub would reject (so that one bad reading
    never takes a whole batch down with it). The hub's upper bound on `ts` (ten
    minutes ahead of its clock) is not checked: the device cannot know it."""
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError("metrics must be a non-empty dict of name -> number")
    if len(metrics) > MAX_METRICS:
        raise ValueError(f"a reading has at most {MAX_METRICS} metrics, got {len(metrics)}")
    for name, value in metrics.items():
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r} (must match {METRIC_NAME.pattern})")
        if isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metric {name!r}: expected a finite number or a bool, got {value!r}")
    if ts is not None:
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise ValueError(f"ts must be an integer (ms since the Unix epoch), got {ts!r}")
        if ts < MIN_TS:
            raise ValueError(f"ts {ts} is before 2000-01-01; is the device clock set?")
