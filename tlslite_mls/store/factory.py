"""Build a store from one configuration string, so servers can take it from a setting.

    memory:                     MemoryStore()
    sqlite:///var/lib/x.db      SQLiteStore("/var/lib/x.db")   (sqlite:relative.db also)
    redis://host:6379/0         RedisStore(url)                (also rediss://, unix://)
"""

from __future__ import annotations

from typing import Any

from .base import StateStore


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
