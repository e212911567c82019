"""A TLS 1.3-only handshake transcript: the two hashes TLS 1.3 suites use, nothing else.

tlslite-ng's ``HandshakeHashes`` feeds every handshake message to six hash objects
(MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512) and a copy of all the bytes, because
until the version is negotiated any of them may be needed (TLS 1.0-1.2 PRFs and
signature hashes, EdDSA over the raw messages in TLS 1.2), and copies all seven for each
of the five or so snapshots a handshake takes. A connection that can only negotiate
TLS 1.3 needs SHA-256 and SHA-384 (RFC 8446 Appendix B.4), so
``MLSTLSConnection`` swaps this in when the handshake's settings have TLS 1.3 as the
lowest version. Asking it for any other digest is an error, never a wrong answer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tlslite.handshakehashes import HandshakeHashes

__all__ = ["TLS13HandshakeHashes"]


class TLS13HandshakeHashes(HandshakeHashes):
    """``HandshakeHashes`` for a TLS 1.3-only handshake: SHA-256 and SHA-384."""

    def __init__(self, _copy_of: "TLS13HandshakeHashes | None" = None) -> None:
        # The base __init__ would make the six hashes this class exists to avoid.
        if _copy_of is None:
            self._sha256 = hashlib.sha256()
            self._sha384 = hashlib.sha384()
        else:
            self._sha256 = _copy_of._sha256.copy()
            self._sha384 = _copy_of._sha384.copy()

    def update(self, data: Any) -> None:
        """Add a handshake message to the transcript."""
        self._sha256.update(data)
        self._sha384.update(data)

    def digest(self, digest: Any = None) -> bytes:
        """The transcript hash under ``digest`` ('sha256' or 'sha384')."""
        if digest == "sha256":
            return self._sha256.digest()
        if digest == "sha384":
            return self._sha384.digest()
        raise ValueError(f"a TLS 1.3-only transcript has no {digest!r} digest")

    def digestSSL(self, masterSecret: Any, label: Any) -> bytes:  # noqa: N802,N803
        """SSL 3.0's finished hash: never needed by a TLS 1.3-only handshake."""
        raise ValueError("a TLS 1.3-only transcript has no SSL 3.0 digest")

    def copy(self) -> "TLS13HandshakeHashes":
        """An independent snapshot of the transcript so far."""
        return TLS13HandshakeHashes(self)
