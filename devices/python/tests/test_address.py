"""The hub's address as people give it, read as the Swift SDK reads it."""
import pytest

from telehub_device import Backoff, ingest_url


@pytest.mark.parametrize("given, expected", [
    ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ingest"),
    ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/v1/ingest"),
    ("ws://127.0.0.1:8080/v1/ingest", "ws://127.0.0.1:8080/v1/ingest"),
    ("ws://127.0.0.1:8080/v1/ingest/", "ws://127.0.0.1:8080/v1/ingest"),
    ("https://hub.example.org", "wss://hub.example.org/v1/ingest"),
    ("WSS://hub.example.org:8443/v1/ingest", "wss://hub.example.org:8443/v1/ingest"),
    ("hub.local:8080", "ws://hub.local:8080/v1/ingest"),
    ("  http://hub.local:8080  ", "ws://hub.local:8080/v1/ingest"),
    ("https://proxy.example.org/telehub/", "wss://proxy.example.org/telehub/v1/ingest"),
    ("http://[::1]:8080?x=1#top", "ws://[::1]:8080/v1/ingest"),
])
def test_reads_the_addresses_people_have(given, expected):
    assert ingest_url(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "ftp://hub", "http://", "http:///v1/ingest", "http://user@hub"])
def test_refuses_what_names_no_hub(given):
    with pytest.raises(ValueError):
        ingest_url(given)


def test_a_permanent_failure_waits_between_half_the_cap_and_the_cap():
    backoff = Backoff(base=0.1, cap=8.0)
    delays = [backoff.delay_after_permanent_failure() for _ in range(200)]
    assert 4.0 <= min(delays) and max(delays) <= 8.0 and max(delays) - min(delays) > 1.0  # still jittered
