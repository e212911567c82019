"""The one interface every MLS implementation in the interop tests is driven through.

Each :class:`Peer` is one group member. Everything crosses the interface as full
``MLSMessage`` bytes, exactly what goes on the wire, so a peer written in another
language (ts-mls behind a Node process), a native library (mls-rs) and our own core
can be paired in any combination without translating objects.
"""

from __future__ import annotations

import abc
from typing import Optional

PUBLIC = "public"
PRIVATE = "private"
WIRE_FORMATS = frozenset({PUBLIC, PRIVATE})


class PeerError(RuntimeError):
    """The peer refused an operation (bad input, failed verification, wrong state).

    Raised for errors reported by the implementation itself, so tests can tell a
    rejection apart from a crash of the harness.
    """


class PeerUnsupported(PeerError):
    """The peer cannot do this at all (suite, wire format), as opposed to refusing it."""


class PeerTimeout(PeerError):
    """The peer did not answer in time; it has been shut down and cannot be used again."""


class PeerUnavailable(RuntimeError):
    """The implementation is not installed here (missing npm packages, wheel, node)."""


class Peer(abc.ABC):
    """One MLS group member.

    ``supported_wire_formats`` lists the wire formats the peer can *send* handshake
    messages in (``"public"``/``"private"``); every peer must accept both on receipt,
    as RFC 9420 requires. ``process`` returns ``("commit", None)``,
    ``("application", data)`` or ``("proposal", None)``.
    """

    name: str
    suite: int
    suites: frozenset[int]
    supported_wire_formats: frozenset[str] = WIRE_FORMATS

    @abc.abstractmethod
    def key_package(self) -> bytes:
        """A fresh KeyPackage as ``MLSMessage`` bytes; its private keys stay in the peer."""

    @abc.abstractmethod
    def create_group(self, group_id: bytes) -> None:
        """Start a one-member group at epoch 0."""

    @abc.abstractmethod
    def add(self, key_package: bytes) -> tuple[bytes, bytes]:
        """Commit an Add; return ``(commit, welcome)``. Own state moves to the new epoch.

        The Welcome carries the ratchet_tree extension, so the joiner needs nothing else.
        """

    @abc.abstractmethod
    def join(self, welcome: bytes) -> None:
        """Join from a Welcome made for one of this peer's KeyPackages."""

    @abc.abstractmethod
    def commit_update(self, public: bool) -> bytes:
        """An empty Commit with an UpdatePath, sent as PublicMessage if ``public``.

        Own state moves to the new epoch. Raises :class:`PeerUnsupported` if the wire
        format is not in ``supported_wire_formats``.
        """

    @abc.abstractmethod
    def process(self, message: bytes) -> tuple[str, Optional[bytes]]:
        """Process a Public/PrivateMessage from the other member."""

    @abc.abstractmethod
    def protect(self, data: bytes) -> bytes:
        """Encrypt application data into a PrivateMessage (``MLSMessage`` bytes)."""

    @abc.abstractmethod
    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter(label, context, length) of the current epoch (RFC 9420 section 8.5)."""

    @abc.abstractmethod
    def epoch(self) -> int:
        """The current epoch number."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything the peer holds (processes, native handles). Idempotent."""

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{self.name} peer, suite 0x{self.suite:04x}>"
