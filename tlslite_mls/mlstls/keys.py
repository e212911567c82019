"""Traffic secrets of MLS-TLS (draft-kohbrok-mls-tls section 6, docs/profile.md section 8).

``client/server_application_traffic_secret = MLS-Exporter("MLS-TLS c/s ap traffic", "", L)``
with L = Hash.length of the record suite. They are the RFC 8446 application traffic
secrets directly: no handshake secrets, no Finished, no "traffic upd" chain (the
secrets are deleted once the record keys are derived, so TLS KeyUpdate cannot exist).
"""

from __future__ import annotations

from typing import Any, Callable

from .suites import RecordSuite

__all__ = ["CLIENT_LABEL", "SERVER_LABEL", "MLS_TLS_KEYLOG_LABELS", "traffic_exports",
           "traffic_secrets"]

#: MLS-Exporter label of the client-to-server traffic secret (docs/profile.md section 8).
CLIENT_LABEL = b"MLS-TLS c ap traffic"
#: MLS-Exporter label of the server-to-client traffic secret.
SERVER_LABEL = b"MLS-TLS s ap traffic"
# Key log labels of an epoch's secrets (no standard label exists for them); the
# "client random" field holds SHA-256 of the client's first flight.
MLS_TLS_KEYLOG_LABELS = ("MLS_TLS_CLIENT_TRAFFIC_SECRET_{}", "MLS_TLS_SERVER_TRAFFIC_SECRET_{}")


def traffic_exports(suite: RecordSuite) -> list[tuple[bytes, bytes, int]]:
    """The (label, context, length) exports the engine computes for every new epoch."""
    return [(CLIENT_LABEL, b"", suite.secret_length), (SERVER_LABEL, b"", suite.secret_length)]


def traffic_secrets(export: Callable[[bytes, bytes, int], Any],
                    suite: RecordSuite) -> tuple[bytearray, bytearray]:
    """(client, server) traffic secrets from an exporter function, as wipeable copies."""
    n = suite.secret_length
    return bytearray(export(CLIENT_LABEL, b"", n)), bytearray(export(SERVER_LABEL, b"", n))
