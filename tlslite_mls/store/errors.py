"""The typed errors of the state stores.

Callers (the MLS engine and the TLS server) tell a lost race apart from a damaged or
too-new record without string matching: a conflict means "reload and decide again",
the others mean the record cannot be used by this release at all.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error a state store raises on its own account."""


class StoreConflict(StoreError):
    """A compare-and-swap on group state failed: someone else advanced the group.

    ``expected`` is the revision the caller said it was replacing (``ABSENT``, -1, for
    "must not exist yet"); ``found`` is the revision stored now (-1 when there is none).
    The group key is deliberately not part of the message: it may index a session.
    """

    def __init__(self, expected: int, found: int) -> None:
        self.expected = expected
        self.found = found
        super().__init__(
            "group state changed concurrently: expected stored revision "
            f"{_rev(expected)}, found {_rev(found)}; reload the group and retry"
        )


class UnsupportedStateVersion(StoreError):
    """A stored record uses a store format version this release cannot read.

    Raised instead of guessing, so an old server never misreads (or overwrites) what a
    newer one wrote during a rolling upgrade.
    """

    def __init__(self, version: int, supported: int, what: str) -> None:
        self.version = version
        self.supported = supported
        self.what = what
        super().__init__(
            f"stored {what} uses store format version {version}, but this release of "
            f"tlslite_mls reads version {supported} only (written by a newer release? "
            "upgrade, or delete the record)"
        )


class CorruptState(StoreError):
    """A stored record is not a store envelope, is truncated, or is of the wrong kind."""


def _rev(revision: int) -> str:
    return "none (absent)" if revision < 0 else str(revision)


class StoreUnavailable(StoreError):
    """The store cannot be opened or reached: a down Redis, an unreadable SQLite file.

    A handshake that needs the store then cannot go on with MLS: a ``preferred``
    extension-mode server declines MLS (classic TLS 1.3), a ``required`` one and an
    MLS-TLS server end the connection with ``internal_error``.
    """
