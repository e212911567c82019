"""MemoryStore: the default store, for one process.

State is lost with the process, so resumption works only against the same server
process and the replay cache is per process. Everything happens under one lock, which
makes each operation atomic. Expired entries are invisible at once and are swept out
every ``sweep_every`` writes and every ``sweep_interval`` seconds of the clock, so a
long-running server that never calls ``purge_expired`` still does not grow without
bound. The group table is kept in write order (a write moves the group to the end), so
the ``max_groups`` cap evicts from its front.
"""

from __future__ import annotations

import threading
import time
from typing import Optional

from .base import ABSENT, DEFAULT_MAX_GROUPS, KEEP, Clock, PendingUpdate, StateStore
from .errors import StoreConflict

__all__ = ["MemoryStore"]

_Entry = tuple[bytes, Optional[float]]  # (blob, expires_at)


def _live(expires_at: Optional[float], now: float) -> bool:
    return expires_at is None or expires_at > now


class MemoryStore(StateStore):
    """Thread-safe in-process store."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        sweep_every: int = 1024,
        sweep_interval: float = 60.0,
        max_groups: int = DEFAULT_MAX_GROUPS,
    ) -> None:
        super().__init__(clock=clock, max_groups=max_groups)
        self._lock = threading.Lock()
        self._groups: dict[bytes, tuple[bytes, int, Optional[float]]] = {}
        self._pending: dict[bytes, _Entry] = {}
        self._claims: dict[bytes, float] = {}
        self._sweep_every = max(1, sweep_every)
        self._sweep_interval = sweep_interval
        self._writes = 0
        self._last_sweep = clock()

    def __len__(self) -> int:
        """Number of entries held, expired ones not yet swept included (for monitoring)."""
        with self._lock:
            return len(self._groups) + len(self._pending) + len(self._claims)

    # Called with the lock held after every write.
    def _maybe_sweep(self, now: float) -> None:
        self._writes += 1
        if self._writes >= self._sweep_every or now - self._last_sweep >= self._sweep_interval:
            self._sweep(now)

    def _sweep(self, now: float) -> int:
        removed = 0
        for table in (self._groups, self._pending):
            dead = [k for k, v in table.items() if not _live(v[-1], now)]
            for k in dead:
                del table[k]
            removed += len(dead)
        dead = [r for r, exp in self._claims.items() if exp <= now]
        for r in dead:
            del self._claims[r]
        self._writes = 0
        self._last_sweep = now
        return removed + len(dead)

    def _write_group(
        self,
        key: bytes,
        blob: bytes,
        revision: int,
        expires_at: Optional[float],
        expected_revision: Optional[int],
        pending: PendingUpdate,
    ) -> None:
        now = self._clock()
        with self._lock:
            if expected_revision is not None:
                current = self._groups.get(key)
                found = current[1] if current is not None and _live(current[2], now) else ABSENT
                if found != expected_revision:
                    raise StoreConflict(expected_revision, found)
            self._groups.pop(key, None)  # re-inserted at the end: the most recent write
            self._groups[key] = (blob, revision, expires_at)
            if pending is None:
                self._pending.pop(key, None)
            elif pending is not KEEP:
                self._pending[key] = (pending, expires_at)  # type: ignore[assignment]
            self._maybe_sweep(now)
            while len(self._groups) > self._max_groups:
                oldest = next(iter(self._groups))
                del self._groups[oldest]
                self._pending.pop(oldest, None)

    def _read_group(self, key: bytes, now: float) -> Optional[tuple[bytes, int, Optional[float]]]:
        with self._lock:
            entry = self._groups.get(key)
            if entry is None:
                return None
            if not _live(entry[2], now):
                del self._groups[key]
                return None
            return entry

    def _delete_group(self, key: bytes) -> None:
        with self._lock:
            self._groups.pop(key, None)
            self._pending.pop(key, None)

    def _write_pending(self, key: bytes, blob: bytes, expires_at: Optional[float]) -> None:
        now = self._clock()
        with self._lock:
            self._pending[key] = (blob, expires_at)
            self._maybe_sweep(now)

    def _read_pending(self, key: bytes, now: float) -> Optional[bytes]:
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                return None
            if not _live(entry[1], now):
                del self._pending[key]
                return None
            return entry[0]

    def _delete_pending(self, key: bytes) -> None:
        with self._lock:
            self._pending.pop(key, None)

    def _claim(self, ref: bytes, expires_at: float, now: float) -> bool:
        with self._lock:
            current = self._claims.get(ref)
            if current is not None and current > now:
                return False
            self._claims[ref] = expires_at
            self._maybe_sweep(now)
            return True

    def _purge(self, now: float) -> int:
        with self._lock:
            return self._sweep(now)

    def _close(self) -> None:
        with self._lock:
            self._groups.clear()
            self._pending.clear()
            self._claims.clear()
