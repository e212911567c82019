"""Fixtures for the store tests: one contract suite run against every store.

Redis: the tests use ``TLSLITE_MLS_REDIS_URL`` (default ``redis://127.0.0.1:6390/0``,
the server ``.ci/setup.d/30-redis.sh`` starts). When nothing answers there and
``redis-server`` is installed, a private server is started on a free port for the
session and stopped at the end. Every test works under its own key prefix and deletes
it afterwards, so a shared Redis is never flushed.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest
from helpers import require

from tlslite_mls.store import MemoryStore, SQLiteStore, StateStore

DEFAULT_REDIS_URL = "redis://127.0.0.1:6390/0"
HERE = Path(__file__).resolve().parent


def _redis_module():
    try:
        import redis
    except ImportError:
        return None
    return redis


def redis_ping(url: str) -> bool:
    redis = _redis_module()
    if redis is None:
        return False
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require(_redis_module() is not None, "the redis Python package (pip install -e '.[test]')")
    url = os.environ.get("TLSLITE_MLS_REDIS_URL", DEFAULT_REDIS_URL)
    if redis_ping(url):
        yield url
        return
    binary = shutil.which("redis-server")
    require(binary is not None, f"redis-server answering at {url} (or installed, to start one)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    own_url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not redis_ping(own_url) and time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        require(redis_ping(own_url), f"redis-server started on port {port}")
        yield own_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class FakeClock:
    """A clock that moves only when told to; starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RealClock:
    """The wall clock, for Redis, whose expiry runs on the server's own time."""

    def __call__(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class Backend:
    """One store under test plus backend-specific access for the white-box tests."""

    name: str
    store: StateStore
    clock: "FakeClock | RealClock"
    reopen: Callable[[], StateStore]  # another handle on the same data (memory: same object)
    inject_group: Callable[[bytes, bytes, int], None]
    inject_pending: Callable[[bytes, bytes], None]
    spec: str  # for open_store in child processes
    options: dict
    make: Callable[..., StateStore]  # a new handle with other options (memory: new data)


def _memory_backend(clock: FakeClock) -> Backend:
    store = MemoryStore(clock=clock)

    def inject_group(key: bytes, blob: bytes, revision: int) -> None:
        store._groups[key] = (blob, revision, None)

    def inject_pending(key: bytes, blob: bytes) -> None:
        store._pending[key] = (blob, None)

    return Backend("memory", store, clock, lambda: store, inject_group, inject_pending,
                   "memory:", {}, lambda **kw: MemoryStore(clock=clock, **kw))


def _sqlite_backend(path: Path, clock: FakeClock) -> Backend:
    store = SQLiteStore(path, clock=clock)

    def raw(sql: str, args: tuple) -> None:
        db = sqlite3.connect(path)
        try:
            with db:
                db.execute(sql, args)
        finally:
            db.close()

    def inject_group(key: bytes, blob: bytes, revision: int) -> None:
        raw("INSERT OR REPLACE INTO groups (key, revision, expires_at, state) "
            "VALUES (?, ?, NULL, ?)", (key, revision, blob))

    def inject_pending(key: bytes, blob: bytes) -> None:
        raw("INSERT OR REPLACE INTO pending_commits (key, expires_at, state) "
            "VALUES (?, NULL, ?)", (key, blob))

    return Backend("sqlite", store, clock, lambda: SQLiteStore(path, clock=clock),
                   inject_group, inject_pending, f"sqlite:{path}", {},
                   lambda **kw: SQLiteStore(path, clock=clock, **kw))


def redis_backend(url: str) -> Backend:
    from tlslite_mls.store.redis import RedisStore

    prefix = f"tlslite_mls_test:{uuid.uuid4().hex}:".encode()
    clock = RealClock()
    store = RedisStore(url, prefix=prefix)

    def inject_group(key: bytes, blob: bytes, revision: int) -> None:
        store._client.hset(store._group_key(key), mapping={b"rev": revision, b"exp": b"",
                                                           b"blob": blob})

    def inject_pending(key: bytes, blob: bytes) -> None:
        store._client.set(store._pending_key(key), blob)

    return Backend("redis", store, clock, lambda: RedisStore(url, prefix=prefix),
                   inject_group, inject_pending, url, {"prefix": prefix},
                   lambda **kw: RedisStore(url, prefix=prefix, **kw))


def delete_prefix(url: str, prefix: bytes) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + b"*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i:i + 500])
    finally:
        client.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url: Optional[str] = None
    if request.param == "memory":
        b = _memory_backend(FakeClock())
    elif request.param == "sqlite":
        b = _sqlite_backend(tmp_path / "state.db", FakeClock())
    else:
        url = request.getfixturevalue("redis_url")
        b = redis_backend(url)
    try:
        yield b
    finally:
        b.store.close()
        if url is not None:
            delete_prefix(url, b.options["prefix"])


@pytest.fixture
def store(backend: Backend) -> StateStore:
    return backend.store
