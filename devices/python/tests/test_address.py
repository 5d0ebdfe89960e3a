"""The hub's address as people give it, read as the Swift SDK reads it: the
cases are shared with its IngestEndpointTests (Tests/Fixtures)."""
import json
from pathlib import Path

import pytest

from telehub_device import Backoff, ingest_url

CASES = json.loads((Path(__file__).resolve().parents[3] / "Tests" / "Fixtures" / "ingest-addresses.json").read_text())


@pytest.mark.parametrize("given, expected", CASES["valid"])
def test_reads_the_addresses_people_have(given, expected):
    assert ingest_url(given) == expected


@pytest.mark.parametrize("given", CASES["invalid"])
def test_refuses_what_names_no_hub(given):
    with pytest.raises(ValueError):
        ingest_url(given)


def test_a_permanent_failure_waits_between_half_the_cap_and_the_cap():
    backoff = Backoff(base=0.1, cap=8.0)
    delays = [backoff.delay_after_permanent_failure() for _ in range(200)]
    assert 4.0 <= min(delays) and max(delays) <= 8.0 and max(delays) - min(delays) > 1.0  # still jittered
