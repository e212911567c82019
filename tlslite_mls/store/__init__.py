"""State that outlives a connection: MLS groups, pending commits, the KeyPackage replay cache.

One interface (``StateStore``) with three implementations: ``MemoryStore`` (default, one
process), ``SQLiteStore`` (one file, the processes of one machine) and ``RedisStore``
(a fleet of servers; needs the ``redis`` extra). ``open_store`` builds one from a
configuration string. See ``base.py`` for the contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import ABSENT, MAX_REVISION, GroupRecord, StateStore
from .envelope import FORMAT_VERSION
from .errors import (CorruptState, StoreConflict, StoreError, StoreUnavailable,
                     UnsupportedStateVersion)
from .factory import open_store, open_store_checked, store_name
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:  # pragma: no cover
    from .redis import RedisStore

__all__ = [
    "ABSENT",
    "FORMAT_VERSION",
    "MAX_REVISION",
    "CorruptState",
    "GroupRecord",
    "MemoryStore",
    "RedisStore",
    "SQLiteStore",
    "StateStore",
    "StoreConflict",
    "StoreError",
    "StoreUnavailable",
    "UnsupportedStateVersion",
    "open_store",
    "open_store_checked",
    "store_name",
]


def __getattr__(name: str) -> Any:
    # RedisStore is imported on first use so that the package works without ``redis``.
    if name == "RedisStore":
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
