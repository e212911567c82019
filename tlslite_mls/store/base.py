"""The one interface through which state that outlives a connection is kept.

Three kinds of record (docs/profile.md section 7):

* **group state** -- the engine's serialised MLS group, kept for resumption, under a
  caller-chosen key (e.g. the ticket's group index). Each write carries a *revision*, a
  number the caller makes grow with every change (the MLS epoch does). A write may name
  the revision it replaces (``expected_revision``); if the store holds another one the
  write fails with StoreConflict, so two server processes can never both advance the
  same group from the same starting point.
* **pending commit** -- a commit created but not merged yet, under the group's key.
  ``save_group_and_pending`` writes group state and sets or clears the pending commit in
  one atomic step, so a crash never leaves a merged group next to its stale pending
  commit (or a new pending commit next to the group state it was not made from).
* **KeyPackage replay cache** -- ``claim_key_package`` is an atomic check-and-insert of a
  KeyPackageRef: True the first time, False while an earlier claim is alive. Several
  server processes may claim at once; exactly one wins.

Values are opaque bytes produced by the engine. The store only frames them in a
versioned envelope (``envelope.py``) and never logs or reprs them.

Times are absolute UNIX timestamps in seconds (``time.time()``), like a KeyPackage's
``not_after``. Expired records are invisible at once and deleted lazily or by
``purge_expired``.

Groups count against a cap besides their lifetime (docs/profile.md section 9): a store holds
at most ``max_groups`` of them (default 100,000), and writing one more evicts the least
recently written group, with its pending commit. Every group write counts as recent,
so sessions in use stay and abandoned ones go first. The replay cache is bounded by
the KeyPackage lifetimes instead (at most 24 hours plus clock skew), and is not capped:
forgetting a claim early would let a KeyPackage be replayed.

Implementations subclass StateStore and provide the ``_``-prefixed primitives; the
public methods here check arguments, apply the envelope and take the time.
"""

from __future__ import annotations

import abc
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Final, Optional, Union

from .envelope import RecordKind, unwrap, wrap
from .errors import StoreConflict

__all__ = ["ABSENT", "DEFAULT_MAX_GROUPS", "MAX_REVISION", "GroupRecord", "StateStore",
           "StoreConflict"]

#: ``expected_revision=ABSENT``: create the group only if no live group has the key.
#: Also the ``found`` revision a StoreConflict reports when there is no group.
ABSENT: Final = -1

#: Revisions are 0 .. 2**63 - 1 (a signed 64-bit column in SQLite).
MAX_REVISION: Final = 2**63 - 1

MAX_KEY_LENGTH: Final = 1024

#: Groups a store keeps at most (docs/profile.md section 9); the least recently written go first.
DEFAULT_MAX_GROUPS: Final = 100_000


class _Keep:
    """Marker for "leave the pending commit as it is"."""

    def __repr__(self) -> str:
        return "KEEP"


#: Internal marker passed to ``_write_group``: the pending commit is not touched.
KEEP: Final = _Keep()

Clock = Callable[[], float]
PendingUpdate = Union[bytes, None, _Keep]


@dataclass(frozen=True)
class GroupRecord:
    """Group state together with the bookkeeping the store keeps next to it."""

    state: bytes = field(repr=False)
    revision: int
    expires_at: Optional[float]


class StateStore(abc.ABC):
    """Abstract store for group state, pending commits and the KeyPackage replay cache.

    All methods are safe to call from several threads. Stores meant for several
    processes (SQLite, Redis) are safe across processes too when each process opens
    its own store object. ``clock`` supplies "now" and exists for tests.
    ``max_groups`` caps the groups kept (see the module docstring); stores shared by
    several servers apply the cap of the server that writes.
    """

    def __init__(self, *, clock: Clock = time.time,
                 max_groups: int = DEFAULT_MAX_GROUPS) -> None:
        self._clock = clock
        if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
            raise ValueError(f"max_groups must be a positive number of groups, not {max_groups!r}")
        self._max_groups = max_groups

    @property
    def max_groups(self) -> int:
        """How many groups the store keeps at most (the least recently written go first)."""
        return self._max_groups

    # -- group state -------------------------------------------------------------

    def save_group(
        self,
        key: bytes,
        state: bytes,
        *,
        expires_at: Optional[float] = None,
        revision: int = 0,
        expected_revision: Optional[int] = None,
    ) -> None:
        """Store ``state`` for ``key``; the pending commit is left untouched.

        ``expires_at=None`` keeps the group until it is deleted. With
        ``expected_revision`` (an int, or ABSENT for "must not exist") the write is a
        compare-and-swap: it raises StoreConflict unless the stored revision equals it,
        and ``revision`` must then be greater than ``expected_revision``. Without it the
        write is unconditional (last writer wins).
        """
        self._save(key, state, KEEP, expires_at, revision, expected_revision)

    def save_group_and_pending(
        self,
        key: bytes,
        state: bytes,
        pending_commit: Optional[bytes],
        *,
        expires_at: Optional[float] = None,
        revision: int = 0,
        expected_revision: Optional[int] = None,
    ) -> None:
        """Atomically store ``state`` and set (bytes) or clear (None) the pending commit.

        Use it when merging a pending commit (``pending_commit=None``), when dropping
        one's own pending commit to apply the peer's, and when a new pending commit is
        made together with a group state change. Either both writes happen or neither.
        A pending commit set here expires with the group. The revision arguments work as
        in ``save_group``.
        """
        if pending_commit is not None:
            pending_commit = _as_bytes(pending_commit, "pending_commit")
        self._save(key, state, pending_commit, expires_at, revision, expected_revision)

    def load_group(self, key: bytes) -> Optional[bytes]:
        """The live group state of ``key``, or None."""
        record = self.load_group_record(key)
        return None if record is None else record.state

    def load_group_record(self, key: bytes) -> Optional[GroupRecord]:
        """The live group state of ``key`` with its revision and expiry, or None.

        Raises UnsupportedStateVersion or CorruptState when the stored record cannot be
        read; the record is left in place for an operator (or a newer release).
        """
        key = _check_key(key)
        row = self._read_group(key, self._clock())
        if row is None:
            return None
        blob, revision, expires_at = row
        return GroupRecord(unwrap(RecordKind.GROUP, blob), revision, expires_at)

    def delete_group(self, key: bytes) -> None:
        """Delete the group of ``key`` and its pending commit (absent is fine)."""
        self._delete_group(_check_key(key))

    # -- pending commits ----------------------------------------------------------

    def save_pending_commit(
        self, key: bytes, commit_state: bytes, *, expires_at: Optional[float] = None
    ) -> None:
        """Store the pending commit of the group ``key``, replacing any earlier one."""
        key = _check_key(key)
        blob = wrap(RecordKind.PENDING_COMMIT, _as_bytes(commit_state, "commit_state"))
        self._write_pending(key, blob, _check_expiry(expires_at))

    def load_pending_commit(self, key: bytes) -> Optional[bytes]:
        """The live pending commit of ``key``, or None."""
        blob = self._read_pending(_check_key(key), self._clock())
        return None if blob is None else unwrap(RecordKind.PENDING_COMMIT, blob)

    def delete_pending_commit(self, key: bytes) -> None:
        """Delete the pending commit of ``key`` (absent is fine)."""
        self._delete_pending(_check_key(key))

    # -- KeyPackage replay cache ------------------------------------------------------

    def claim_key_package(self, ref: bytes, expires_at: float) -> bool:
        """Record a KeyPackageRef as used until ``expires_at``; True only for the first.

        Atomic across threads and, for SQLite and Redis, across processes: of several
        simultaneous claims of one ref exactly one returns True. False means the ref
        was already claimed and that claim has not expired -- or ``expires_at`` itself
        has passed; either way the server must refuse the KeyPackage. Pass the
        KeyPackage's ``not_after`` (plus any clock-skew allowance the caller grants).
        """
        ref = _check_key(ref, "ref")
        until = _check_expiry(expires_at, required=True)
        assert until is not None  # required=True
        now = self._clock()
        if until <= now:
            return False
        return self._claim(ref, until, now)

    # -- housekeeping -----------------------------------------------------------------

    def purge_expired(self, now: Optional[float] = None) -> int:
        """Delete every record expired at ``now`` (default: the clock); return how many.

        Stores whose backend expires records itself (Redis) return 0.
        """
        return self._purge(self._clock() if now is None else float(now))

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        self._close()

    def __enter__(self) -> "StateStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    # -- what an implementation provides ---------------------------------------------

    def _save(
        self,
        key: bytes,
        state: bytes,
        pending: PendingUpdate,
        expires_at: Optional[float],
        revision: int,
        expected_revision: Optional[int],
    ) -> None:
        key = _check_key(key)
        blob = wrap(RecordKind.GROUP, _as_bytes(state, "state"))
        if isinstance(pending, bytes):
            pending = wrap(RecordKind.PENDING_COMMIT, pending)
        revision = _check_revision(revision, "revision")
        if expected_revision is not None:
            expected_revision = _check_revision(expected_revision, "expected_revision", ABSENT)
            if revision <= expected_revision:
                raise ValueError(
                    f"revision {revision} does not advance expected revision {expected_revision}"
                )
        expires = _check_expiry(expires_at)
        self._write_group(key, blob, revision, expires, expected_revision, pending)

    @abc.abstractmethod
    def _write_group(
        self,
        key: bytes,
        blob: bytes,
        revision: int,
        expires_at: Optional[float],
        expected_revision: Optional[int],
        pending: PendingUpdate,
    ) -> None:
        """Write the enveloped group ``blob`` and apply ``pending`` in one atomic step.

        ``pending`` is KEEP, None (delete) or an enveloped pending-commit blob that
        expires with the group. With ``expected_revision`` set, raise StoreConflict
        (found = stored live revision or ABSENT) and write nothing on mismatch. The
        write makes the group the most recent one; then the least recent groups beyond
        ``max_groups`` are deleted with their pending commits.
        """

    @abc.abstractmethod
    def _read_group(self, key: bytes, now: float) -> Optional[tuple[bytes, int, Optional[float]]]:
        """(enveloped blob, revision, expires_at) of the live group, or None."""

    @abc.abstractmethod
    def _delete_group(self, key: bytes) -> None:
        """Delete group and pending commit of ``key``."""

    @abc.abstractmethod
    def _write_pending(self, key: bytes, blob: bytes, expires_at: Optional[float]) -> None:
        """Write the enveloped pending commit."""

    @abc.abstractmethod
    def _read_pending(self, key: bytes, now: float) -> Optional[bytes]:
        """The enveloped live pending commit, or None."""

    @abc.abstractmethod
    def _delete_pending(self, key: bytes) -> None:
        """Delete the pending commit."""

    @abc.abstractmethod
    def _claim(self, ref: bytes, expires_at: float, now: float) -> bool:
        """Atomic check-and-insert; an expired earlier claim counts as absent."""

    @abc.abstractmethod
    def _purge(self, now: float) -> int:
        """Delete records expired at ``now``; return how many."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Release resources."""


def _as_bytes(value: object, name: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


def _check_key(key: object, name: str = "key") -> bytes:
    key = _as_bytes(key, name)
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"{name} must be 1..{MAX_KEY_LENGTH} bytes long, not {len(key)}")
    return key


def _check_revision(value: object, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not minimum <= value <= MAX_REVISION:
        raise ValueError(f"{name} must be in {minimum}..2**63-1, not {value}")
    return value


def _check_expiry(value: object, required: bool = False) -> Optional[float]:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expires_at must be a UNIX time in seconds, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("expires_at must be finite")
    return value
