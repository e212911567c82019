"""The Node driver must never hang pytest and never leave a process behind."""

from __future__ import annotations

import pytest

from helpers import require
from interop import PeerError, PeerTimeout, PeerUnsupported, tsmls_available, tsmls_unavailable_reason
from interop.tsmls_peer import TsMlsPeer


@pytest.fixture
def peer():
    require(tsmls_available(), f"ts-mls peer: {tsmls_unavailable_reason()}")
    p = TsMlsPeer(1, b"alice")
    yield p
    p.close()


def test_errors_keep_the_process_alive(peer):
    with pytest.raises(PeerError, match="not in a group"):
        peer.epoch()
    with pytest.raises(PeerError, match="unknown command"):
        peer._driver.call("no_such_command")
    peer.create_group(b"g")
    assert peer.epoch() == 0


def test_timeout_kills_and_reaps(peer):
    proc = peer._driver.proc
    with pytest.raises(PeerTimeout):
        peer._driver.call("bench", suite=5, n=10000, timeout=0.5)
    assert proc.poll() is not None  # killed and reaped, not a zombie
    with pytest.raises(PeerError):
        peer.epoch()


def test_close_is_idempotent_and_reaps(peer):
    proc = peer._driver.proc
    peer.close()
    peer.close()
    assert proc.poll() is not None


def test_unknown_suite():
    require(tsmls_available(), f"ts-mls peer: {tsmls_unavailable_reason()}")
    with pytest.raises(PeerUnsupported):
        TsMlsPeer(0x4D, b"x")
