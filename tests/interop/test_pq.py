"""Post-quantum interop with ts-mls 1.6.4: the two-party scenario in both roles.

ts-mls shares none of the eleven suites of draft-ietf-mls-pq-ciphersuites-06 (HKDF-SHA512
everywhere and a DeriveKeyPair of its own for ML-KEM and X-Wing:
``interop/tsmls_suites.py`` says why). Its suites 81-88 are mapped onto our registry at
its own code points, so the scenario runs over the same PQ primitives (ML-KEM-1024,
X-Wing, ML-DSA-87, both AEADs) against an implementation we did not write.
"""

from __future__ import annotations

import pytest

from helpers import require
from interop import make_tsmls_peer, run_two_party
from interop.ours_peer import OursPeer
from interop.scenario import TLS_EXPORTER_LABEL
from interop.tsmls_peer import tsmls_pq_unavailable_reason
from interop.tsmls_suites import SHARED_DRAFT_SUITES, TSMLS_PQ_SUITES, tsmls_pq_suites
from tlslite_mls.codepoints import PQ_CIPHER_SUITES
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites

CASES = [(s, r) for s in sorted(TSMLS_PQ_SUITES) for r in ("ours-creates", "they-create")]


@pytest.fixture
def tsmls_pq():
    reason = tsmls_pq_unavailable_reason()
    require(reason is None, f"ts-mls post-quantum suites: {reason}")
    with tsmls_pq_suites() as ids:
        yield ids
    assert not set(ids) & set(supported_cipher_suites())  # gone again


@pytest.mark.parametrize("suite,role", CASES, ids=[f"tsmls-suite{s}-{r}" for s, r in CASES])
def test_pq_two_party_with_tsmls(tsmls_pq, suite, role):
    ours = OursPeer(suite, b"tlslite_mls")
    them = make_tsmls_peer(suite, b"ts-mls")
    try:
        creator, joiner = (ours, them) if role == "ours-creates" else (them, ours)
        log = run_two_party(creator, joiner, epochs=2)
        assert min(log.exporters) == 1 and len(log.exporters) >= 5
        assert ours.exporter(TLS_EXPORTER_LABEL, b"", 32) == \
            them.exporter(TLS_EXPORTER_LABEL, b"", 32)
    finally:
        ours.close()
        them.close()


def test_no_draft_suite_is_shared_with_tsmls():
    """The reason the mapping above exists, kept checkable: every ts-mls PQ suite
    differs from every draft suite in its KDF (and, for its KEMs, in DeriveKeyPair)."""
    assert SHARED_DRAFT_SUITES == {}
    draft_kdfs = {get_cipher_suite(s).hash.name for s in PQ_CIPHER_SUITES}
    assert draft_kdfs == {"sha256", "sha384"}  # ts-mls: HKDF-SHA512 for all of 77-88
