"""The cycle timers run and return one positive number per cycle."""

import pytest

from helpers import require
from interop import PeerUnsupported, mlsrs_available, tsmls_available
from interop.bench import cycle_times, summary


def test_mlsrs_cycles():
    require(mlsrs_available(), "mls-rs peer")
    times = cycle_times("mls-rs", 1, 3)
    assert len(times) == 3 and all(t > 0 for t in times)
    assert "median" in summary(times)
    with pytest.raises(PeerUnsupported):
        cycle_times("mls-rs", 3, 1)


def test_tsmls_cycles():
    require(tsmls_available(), "ts-mls peer")
    times = cycle_times("ts-mls", 1, 2)
    assert len(times) == 2 and all(0 < t < 30 for t in times)


def test_unknown_peer():
    with pytest.raises(ValueError):
        cycle_times("nope", 1, 1)
