"""SQLiteStore: state in one SQLite file, shared by the processes of one machine.

* WAL journal: readers never block the writer, and a process killed mid-write leaves
  the last committed transaction intact (a torn write is rolled back on next open).
* ``synchronous=FULL`` by default: a committed write also survives a power cut, which
  docs/profile.md's "state is written before any message that depends on it" needs. ``NORMAL``
  is faster and still safe against process crashes.
* Every read-modify-write runs in ``BEGIN IMMEDIATE``, which takes the write lock up
  front, so two processes cannot both pass a compare-and-swap check.
* The replay-cache claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``
  statement: it inserts a new ref, revives an expired one, and changes no row (returns
  False) for a live one.
* A busy timeout makes a process wait for another's write lock instead of failing.

Open one SQLiteStore per process (a connection must not cross ``fork``). Within a
process it is thread-safe: one connection, used under a lock. The file is not for a
network filesystem, where SQLite's locking is not reliable; use Redis across machines.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Optional

from .base import ABSENT, DEFAULT_MAX_GROUPS, KEEP, Clock, PendingUpdate, StateStore
from .errors import StoreConflict, StoreError

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = 2

# Version 2 added ``groups.written`` (write order, for the ``max_groups`` cap) and the
# group count kept by two triggers; a version-1 file is upgraded in place on open.
_TABLES = (
    """CREATE TABLE IF NOT EXISTS store_meta (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS groups (
        key        BLOB PRIMARY KEY,
        revision   INTEGER NOT NULL,
        expires_at REAL,
        state      BLOB NOT NULL,
        written    INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS pending_commits (
        key        BLOB PRIMARY KEY,
        expires_at REAL,
        state      BLOB NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS key_package_claims (
        ref        BLOB PRIMARY KEY,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID""",
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS groups_expiry ON groups (expires_at) "
    "WHERE expires_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS pending_expiry ON pending_commits (expires_at) "
    "WHERE expires_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS claims_expiry ON key_package_claims (expires_at)",
    "CREATE INDEX IF NOT EXISTS groups_written ON groups (written)",
    # Counting rows on every write would scan the table; the triggers keep the count.
    "CREATE TRIGGER IF NOT EXISTS groups_counted_in AFTER INSERT ON groups BEGIN "
    "UPDATE store_meta SET value = value + 1 WHERE name = 'group_count'; END",
    "CREATE TRIGGER IF NOT EXISTS groups_counted_out AFTER DELETE ON groups BEGIN "
    "UPDATE store_meta SET value = value - 1 WHERE name = 'group_count'; END",
)

_LIVE = "(expires_at IS NULL OR expires_at > ?)"


class SQLiteStore(StateStore):
    """Store backed by one SQLite database file at ``path``."""

    def __init__(
        self,
        path: "str | os.PathLike[str]",
        *,
        clock: Clock = time.time,
        busy_timeout: float = 30.0,
        synchronous: str = "FULL",
        sweep_interval: float = 60.0,
        max_groups: int = DEFAULT_MAX_GROUPS,
    ) -> None:
        super().__init__(clock=clock, max_groups=max_groups)
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        self._sweep_interval = sweep_interval
        self._last_sweep = clock()
        # isolation_level=None: no implicit transactions; every one is spelled out below.
        self._db = sqlite3.connect(
            self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = self._journal_mode_wal(busy_timeout)
            if str(mode).lower() != "wal":
                raise StoreError(f"SQLite refused WAL mode for this file (got {mode!r})")
            self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            self._init_schema()
        except BaseException:
            self._db.close()
            raise

    def _journal_mode_wal(self, busy_timeout: float) -> str:
        """Switch to WAL, waiting out other processes that open the same new file.

        SQLite answers the journal-mode change with "database is locked" at once,
        without its busy handler, while another connection creates or converts the
        file (workers started together on a fresh database), so wait here.
        """
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                return self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    @property
    def path(self) -> str:
        """The database file (shared by the processes of one machine)."""
        return self._path

    def _init_schema(self) -> None:
        with self._transaction():
            for statement in _TABLES:
                self._db.execute(statement)
            row = self._db.execute(
                "SELECT value FROM store_meta WHERE name = 'schema_version'"
            ).fetchone()
            if row is not None and row[0] == 1:
                self._db.execute("ALTER TABLE groups ADD COLUMN written INTEGER NOT NULL "
                                 "DEFAULT 0")
                self._db.execute("UPDATE store_meta SET value = ? WHERE name = "
                                 "'schema_version'", (SCHEMA_VERSION,))
            elif row is not None and row[0] != SCHEMA_VERSION:
                raise StoreError(
                    f"{self._path}: SQLite schema version {row[0]}, this release uses "
                    f"{SCHEMA_VERSION}"
                )
            for statement in _INDEXES:
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO store_meta (name, value) VALUES "
                             "('schema_version', ?), ('group_written', 0), "
                             "('group_count', (SELECT COUNT(*) FROM groups))",
                             (SCHEMA_VERSION,))

    # A write transaction that holds the database write lock from its first statement.
    class _Txn:
        def __init__(self, store: "SQLiteStore") -> None:
            self._store = store

        def __enter__(self) -> sqlite3.Connection:
            self._store._lock.acquire()
            try:
                self._store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._store._lock.release()
                raise
            return self._store._db

        def __exit__(self, exc_type, exc, tb) -> None:
            db = self._store._db
            try:
                if exc_type is None:
                    db.execute("COMMIT")
                else:
                    db.execute("ROLLBACK")
            finally:
                self._store._lock.release()

    def _transaction(self) -> "_Txn":
        return SQLiteStore._Txn(self)

    def _maybe_sweep(self, db: sqlite3.Connection, now: float) -> None:
        # Called inside a write transaction: deleting expired rows now and then keeps the
        # file from growing when nobody calls purge_expired.
        if now - self._last_sweep >= self._sweep_interval:
            self._delete_expired(db, now)
            self._last_sweep = now

    @staticmethod
    def _delete_expired(db: sqlite3.Connection, now: float) -> int:
        removed = 0
        for table in ("groups", "pending_commits", "key_package_claims"):
            removed += db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,)).rowcount
        return removed

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
        with self._transaction() as db:
            if expected_revision is not None:
                row = db.execute(
                    f"SELECT revision FROM groups WHERE key = ? AND {_LIVE}", (key, now)
                ).fetchone()
                found = ABSENT if row is None else row[0]
                if found != expected_revision:
                    raise StoreConflict(expected_revision, found)
            db.execute("UPDATE store_meta SET value = value + 1 WHERE name = 'group_written'")
            db.execute(
                "INSERT INTO groups (key, revision, expires_at, state, written) VALUES "
                "(?, ?, ?, ?, (SELECT value FROM store_meta WHERE name = 'group_written')) "
                "ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, "
                "expires_at = excluded.expires_at, state = excluded.state, "
                "written = excluded.written",
                (key, revision, expires_at, blob),
            )
            if pending is None:
                db.execute("DELETE FROM pending_commits WHERE key = ?", (key,))
            elif pending is not KEEP:
                self._upsert_pending(db, key, pending, expires_at)  # type: ignore[arg-type]
            self._maybe_sweep(db, now)
            self._evict(db)

    def _evict(self, db: sqlite3.Connection) -> None:
        """Delete the least recently written groups beyond the cap (inside a write)."""
        count = db.execute("SELECT value FROM store_meta WHERE name = 'group_count'").fetchone()
        excess = (count[0] if count else 0) - self._max_groups
        if excess <= 0:
            return
        for (old,) in db.execute("SELECT key FROM groups ORDER BY written LIMIT ?",
                                 (excess,)).fetchall():
            db.execute("DELETE FROM groups WHERE key = ?", (old,))
            db.execute("DELETE FROM pending_commits WHERE key = ?", (old,))

    @staticmethod
    def _upsert_pending(
        db: sqlite3.Connection, key: bytes, blob: bytes, expires_at: Optional[float]
    ) -> None:
        db.execute(
            "INSERT INTO pending_commits (key, expires_at, state) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, "
            "state = excluded.state",
            (key, expires_at, blob),
        )

    def _read_group(self, key: bytes, now: float) -> Optional[tuple[bytes, int, Optional[float]]]:
        with self._lock:
            row = self._db.execute(
                f"SELECT state, revision, expires_at FROM groups WHERE key = ? AND {_LIVE}",
                (key, now),
            ).fetchone()
        return None if row is None else (bytes(row[0]), row[1], row[2])

    def _delete_group(self, key: bytes) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM groups WHERE key = ?", (key,))
            db.execute("DELETE FROM pending_commits WHERE key = ?", (key,))

    def _write_pending(self, key: bytes, blob: bytes, expires_at: Optional[float]) -> None:
        now = self._clock()
        with self._transaction() as db:
            self._upsert_pending(db, key, blob, expires_at)
            self._maybe_sweep(db, now)

    def _read_pending(self, key: bytes, now: float) -> Optional[bytes]:
        with self._lock:
            row = self._db.execute(
                f"SELECT state FROM pending_commits WHERE key = ? AND {_LIVE}", (key, now)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def _delete_pending(self, key: bytes) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending_commits WHERE key = ?", (key,))

    def _claim(self, ref: bytes, expires_at: float, now: float) -> bool:
        with self._transaction() as db:
            # One statement: insert, or take over an expired claim; a live one is kept
            # and no row changes.
            changed = db.execute(
                "INSERT INTO key_package_claims (ref, expires_at) VALUES (?, ?) "
                "ON CONFLICT (ref) DO UPDATE SET expires_at = excluded.expires_at "
                "WHERE key_package_claims.expires_at <= ?",
                (ref, expires_at, now),
            ).rowcount
            self._maybe_sweep(db, now)
        return changed == 1

    def _purge(self, now: float) -> int:
        with self._transaction() as db:
            removed = self._delete_expired(db, now)
            self._last_sweep = now
        return removed

    def _close(self) -> None:
        with self._lock:
            self._db.close()
