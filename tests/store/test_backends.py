"""What each store promises beyond the shared contract."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tlslite_mls.store import MemoryStore, SQLiteStore, StoreError
from tlslite_mls.store.envelope import RecordKind, wrap


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# -- MemoryStore --------------------------------------------------------------------------

def test_memory_sweeps_without_purge_calls():
    clock = Clock()
    store = MemoryStore(clock=clock, sweep_every=50, sweep_interval=1e9)
    for i in range(40):
        store.claim_key_package(i.to_bytes(4, "big"), clock.now + 1)
        store.save_group(b"g%d" % i, b"x", expires_at=clock.now + 1)
    clock.now += 2
    for i in range(200):  # a long-running server that only ever writes fresh entries
        store.claim_key_package(b"new" + i.to_bytes(4, "big"), clock.now + 1000)
    assert len(store) <= 200 + 50  # the 80 expired entries are gone


def test_memory_sweeps_on_interval():
    clock = Clock()
    store = MemoryStore(clock=clock, sweep_every=10**9, sweep_interval=60)
    store.claim_key_package(b"old", clock.now + 1)
    clock.now += 61
    store.claim_key_package(b"new", clock.now + 1000)
    assert len(store) == 1


def test_memory_close_forgets():
    store = MemoryStore()
    store.save_group(b"k", b"v")
    store.close()
    assert len(store) == 0


# -- SQLiteStore --------------------------------------------------------------------------

def test_sqlite_uses_wal_and_schema(tmp_path):
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"groups", "pending_commits", "key_package_claims", "store_meta"} <= tables
    db.close()


def test_sqlite_refuses_other_schema_version(tmp_path):
    path = tmp_path / "s.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE store_meta SET value = 99 WHERE name = 'schema_version'")
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteStore(path)


def test_sqlite_deletes_expired_rows(tmp_path):
    clock = Clock()
    path = tmp_path / "s.db"
    store = SQLiteStore(path, clock=clock, sweep_interval=30)
    for i in range(20):
        store.claim_key_package(i.to_bytes(4, "big"), clock.now + 10)
    clock.now += 31  # the next write sweeps
    store.claim_key_package(b"fresh", clock.now + 10)
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM key_package_claims").fetchone()[0] == 1
    db.close()


def test_sqlite_lock_timeout_is_an_error_not_a_hang(tmp_path):
    path = tmp_path / "s.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        start = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.save_group(b"k", b"v")
        assert time.monotonic() - start < 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.save_group(b"k", b"v")  # the failed transaction left the store usable
    assert store.load_group(b"k") == b"v"


def test_sqlite_schema_1_file_is_upgraded_for_the_cap(tmp_path):
    """A file written by the release before the group cap opens, counts its groups
    and evicts the oldest of them once over the cap."""
    path = tmp_path / "s.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE groups (key BLOB PRIMARY KEY, revision INTEGER NOT NULL,
                             expires_at REAL, state BLOB NOT NULL) WITHOUT ROWID;
        INSERT INTO store_meta VALUES ('schema_version', 1);
    """)
    with db:
        for i in range(3):
            db.execute("INSERT INTO groups VALUES (?, 0, NULL, ?)",
                       (b"old%d" % i, wrap(RecordKind.GROUP, b"x")))
    db.close()
    store = SQLiteStore(path, max_groups=3)
    assert store.load_group(b"old0") == b"x"
    store.save_group(b"new", b"n")
    assert [store.load_group(b"old%d" % i) for i in range(3)].count(None) == 1
    assert store.load_group(b"new") == b"n"
    store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM store_meta WHERE name = 'schema_version'"
                      ).fetchone()[0] == 2
    assert db.execute("SELECT value FROM store_meta WHERE name = 'group_count'"
                      ).fetchone()[0] == 3
    db.close()


def test_sqlite_synchronous_checked(tmp_path):
    with pytest.raises(ValueError):
        SQLiteStore(tmp_path / "s.db", synchronous="OFF")


# -- RedisStore ---------------------------------------------------------------------------

@pytest.fixture
def redis_client(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_store(redis_client):
    import uuid

    from tlslite_mls.store.redis import RedisStore

    prefix = f"tlslite_mls_test:{uuid.uuid4().hex}:".encode()
    store = RedisStore(redis_client, prefix=prefix)
    yield store
    keys = list(redis_client.scan_iter(match=prefix + b"*"))
    if keys:
        redis_client.delete(*keys)


def test_redis_sets_key_ttls(redis_store, redis_client):
    now = time.time()
    redis_store.save_group_and_pending(b"k", b"g", b"p", expires_at=now + 100)
    redis_store.save_group(b"forever", b"g")
    redis_store.claim_key_package(b"r" * 32, now + 50)
    assert 95_000 < redis_client.pttl(redis_store._group_key(b"k")) <= 100_000
    assert 95_000 < redis_client.pttl(redis_store._pending_key(b"k")) <= 100_000
    assert redis_client.pttl(redis_store._group_key(b"forever")) == -1  # no expiry
    assert 45_000 < redis_client.pttl(redis_store._claim_key(b"r" * 32)) <= 50_000
    # overwriting without expiry removes the TTL
    redis_store.save_group(b"k", b"g2")
    assert redis_client.pttl(redis_store._group_key(b"k")) == -1


def test_redis_keys_stay_under_prefix_and_share_a_slot(redis_store, redis_client):
    redis_store.save_group_and_pending(b"{odd}key", b"g", b"p")
    keys = sorted(redis_client.scan_iter(match=redis_store.prefix + b"*"))
    assert len(keys) == 4
    assert all(k.startswith(redis_store.prefix) for k in keys)
    group = [k for k in keys if not k.startswith(redis_store.prefix + b"i:")]
    index = [k for k in keys if k.startswith(redis_store.prefix + b"i:")]
    # a group and its pending commit share a slot; the cap's index and counter share one
    tags = {k[k.index(b"{"):k.index(b"}") + 1] for k in group}
    assert tags == {b"{" + b"{odd}key".hex().encode() + b"}"}
    assert {k[k.index(b"{"):k.index(b"}") + 1] for k in index} == {b"{groups}"}


def test_redis_caller_client_stays_open(redis_store, redis_client):
    redis_store.close()
    assert redis_client.ping()


def test_redis_refuses_decoding_client(redis_url):
    import redis

    from tlslite_mls.store.redis import RedisStore

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisStore(client)
    client.close()


def test_redis_url_owned_and_hidden(redis_url):
    from tlslite_mls.store.redis import RedisStore

    store = RedisStore(redis_url, prefix="s:")
    assert repr(store) == "RedisStore(prefix=b's:')"
    assert store.prefix == b"s:"
    store.close()
