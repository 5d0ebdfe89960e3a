"""What the hub accepts: addresses, metric names, timestamps (the contract's bounds)."""
from __future__ import annotations

import json
import math
import re
import time
from typing import Any, Mapping, Optional

METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_METRICS = 256
MIN_TS = 946_684_800_000  # 2000-01-01T00:00:00Z, the hub's lower bound
# Bytes of `{"type":"batch","seq":N,"readings":[]}` and of `{"ts":N,"metrics":}` plus a comma,
# with room for 20-digit numbers: used to keep a message under hello.maxMessageBytes.
_MESSAGE_OVERHEAD = 64
_READING_OVERHEAD = 40

STATES = ("disconnected", "connecting", "connected", "backing_off", "stopped")

# Contract v1.2 bounds on what a device answers: a command's result, its
# failure message, a reported state (a merge patch), and their nesting.
MAX_RESULT_BYTES = 8 * 1024
MAX_FAILURE_BYTES = 1024
MAX_STATE_BYTES = 16 * 1024
MAX_DEPTH = 8


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


def compact_json(value: Any) -> str:
    """JSON the way the hub measures it: no spaces, UTF-8 left as is (so a
    size check here agrees with the hub's). Raises ValueError for what JSON
    cannot carry (NaN, a set, an object)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as bad:
        raise ValueError(f"not JSON: {bad}") from None


def json_depth(value: Any) -> int:
    """Nesting as the hub counts it: a scalar 0, `{}` or `[]` 1, each level one more."""
    if isinstance(value, Mapping):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def object_problem(value: Any, field: str, max_bytes: int) -> Optional[str]:
    """Why the hub would refuse `value` as a result or state object (not an
    object, too deep, too big, not JSON), or None. Checked before a result or
    report is buffered, because the hub refuses such a message for good and it
    would be dropped unseen."""
    if not isinstance(value, Mapping):
        return f"{field}: a JSON object (a dict), not {type(value).__name__}"
    if json_depth(value) > MAX_DEPTH:
        return f"{field}: nested deeper than {MAX_DEPTH} levels"
    try:
        size = len(compact_json(value).encode())
    except ValueError as bad:
        return f"{field}: {bad}"
    if size > max_bytes:
        return f"{field}: {size} bytes of JSON; at most {max_bytes}"
    return None


def truncate_utf8(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8 (an ellipsis marks the cut),
    never inside a character: the hub refuses a longer failure message."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode(errors="ignore") + "…"
