"""Interop harness: drive independent MLS implementations through one Peer interface.

Peers: ts-mls 1.6.4 (Node, via ``tsmls/driver.mjs``) and AWS mls-rs (in-process,
via the ``agentvault-mls-rs-uniffi`` wheel). Our own core joins through an adapter
implementing :class:`interop.peer.Peer`; :func:`interop.scenario.run_two_party` runs
any creator/joiner pair.
"""

from interop.mlsrs_peer import make_mlsrs_peer, mlsrs_available, mlsrs_unavailable_reason
from interop.peer import (
    PRIVATE,
    PUBLIC,
    Peer,
    PeerError,
    PeerTimeout,
    PeerUnavailable,
    PeerUnsupported,
)
from interop.scenario import InteropMismatch, ScenarioLog, run_two_party
from interop.tsmls_peer import make_tsmls_peer, tsmls_available, tsmls_unavailable_reason

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "InteropMismatch",
    "Peer",
    "PeerError",
    "PeerTimeout",
    "PeerUnavailable",
    "PeerUnsupported",
    "ScenarioLog",
    "make_mlsrs_peer",
    "make_tsmls_peer",
    "mlsrs_available",
    "mlsrs_unavailable_reason",
    "run_two_party",
    "tsmls_available",
    "tsmls_unavailable_reason",
]
