"""Our core against ts-mls and mls-rs: both roles, every suite both support, both wire formats."""

from __future__ import annotations

import pytest

from helpers import require
from interop import (PeerError, make_mlsrs_peer, make_tsmls_peer, mlsrs_available,
                     mlsrs_unavailable_reason, run_two_party, tsmls_available,
                     tsmls_unavailable_reason)
from interop.ours_peer import OursPeer
from interop.scenario import TLS_EXPORTER_LABEL

OTHERS = {
    "ts-mls": (make_tsmls_peer, tsmls_available, tsmls_unavailable_reason, range(1, 8)),
    "mls-rs": (make_mlsrs_peer, mlsrs_available, mlsrs_unavailable_reason, (1,)),
}
CASES = [(name, suite, role) for name, (_, _, _, suites) in OTHERS.items()
         for suite in suites for role in ("ours-creates", "they-create")]


@pytest.fixture
def other():
    made = []

    def make(name, suite, identity):
        factory, available, reason, _ = OTHERS[name]
        require(available(), f"{name} peer: {reason()}")
        peer = factory(suite, identity)
        made.append(peer)
        return peer

    yield make
    for peer in made:
        peer.close()


@pytest.mark.parametrize("name,suite,role", CASES,
                         ids=[f"{n}-suite{s}-{r}" for n, s, r in CASES])
def test_two_party_with_peer(other, name, suite, role):
    ours = OursPeer(suite, b"tlslite_mls")
    them = other(name, suite, name.encode())
    creator, joiner = (ours, them) if role == "ours-creates" else (them, ours)
    log = run_two_party(creator, joiner, epochs=2)
    # Every epoch was checked on both sides, from the Welcome on.
    assert min(log.exporters) == 1 and len(log.exporters) >= 5
    assert ours.exporter(TLS_EXPORTER_LABEL, b"", 32) == them.exporter(TLS_EXPORTER_LABEL, b"", 32)
    # Our commits went out in both wire formats and the peer accepted them.
    ours_sent = [c for c in log.checks if c.startswith(("public commit+UpdatePath tlslite_mls",
                                                         "private commit+UpdatePath tlslite_mls"))]
    assert {c.split()[0] for c in ours_sent} == {"public", "private"}
    ours.close()


@pytest.mark.parametrize("name", list(OTHERS))
def test_peer_rejects_our_tampered_commit_and_we_reject_theirs(other, name):
    ours = OursPeer(1, b"tlslite_mls")
    them = other(name, 1, name.encode())
    ours.create_group(b"g" * 32)
    commit, welcome = ours.add(them.key_package())
    them.join(welcome)
    good = ours.commit_update(public=True)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    with pytest.raises(PeerError):
        them.process(bytes(bad))
    assert them.process(good)[0] == "commit"
    theirs = bytearray(them.commit_update(public=True))
    genuine = bytes(theirs)
    theirs[-3] ^= 0x01
    with pytest.raises(PeerError):
        ours.process(bytes(theirs))
    assert ours.process(genuine)[0] == "commit"
    assert ours.exporter(TLS_EXPORTER_LABEL, b"", 32) == them.exporter(TLS_EXPORTER_LABEL, b"", 32)
