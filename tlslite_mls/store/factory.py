"""Build a store from one configuration string, so servers can take it from a setting.

    memory:                     MemoryStore()
    sqlite:///var/lib/x.db      SQLiteStore("/var/lib/x.db")   (sqlite:relative.db also)
    redis://host:6379/0         RedisStore(url)                (also rediss://, unix://)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .base import StateStore
from .errors import StoreError, StoreUnavailable

# A key no group is stored under: reading it proves the store answers.
_PROBE_KEY = b"\x00tlslite_mls/probe"


def open_store(spec: str, **options: Any) -> StateStore:
    """Open the store ``spec`` names; ``options`` go to the store's constructor."""
    if spec in ("memory", "memory:"):
        from .memory import MemoryStore

        return MemoryStore(**options)
    if spec.startswith("sqlite:"):
        path = spec[len("sqlite:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ValueError("sqlite: store needs a file path, e.g. sqlite:///var/lib/mls.db")
        from .sqlite import SQLiteStore

        return SQLiteStore(path, **options)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(spec, **options)
    # Only the scheme is quoted: the rest may hold a password.
    raise ValueError(f"unknown state store scheme {spec.split(':', 1)[0]!r}")


def store_name(spec: str) -> str:
    """``spec`` for messages and logs: a Redis URL loses its password."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        parts = urlsplit(spec)
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}{parts.path}"
    return spec


def open_store_checked(spec: str, **options: Any) -> StateStore:
    """:func:`open_store`, then one read, so that a store that cannot serve fails now.

    For servers at start: a missing directory, a directory or a garbage file given
    as a SQLite database, or a Redis that does not answer, is a
    :class:`StoreUnavailable` naming the store (``ValueError`` for a bad ``spec``).
    """
    name = store_name(spec)
    try:
        store = open_store(spec, **options)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the backend raises, named once
        raise StoreUnavailable(f"cannot open state store {name}: {_reason(exc)}") from exc
    try:
        store.load_group(_PROBE_KEY)
    except Exception as exc:  # noqa: BLE001
        store.close()
        raise StoreUnavailable(f"cannot use state store {name}: {_reason(exc)}") from exc
    return store


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, StoreError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
