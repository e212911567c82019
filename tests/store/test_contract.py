"""The StateStore contract, run against MemoryStore, SQLiteStore and RedisStore alike."""

from __future__ import annotations

import math
import threading

import pytest

from tlslite_mls.store import (
    ABSENT,
    MAX_REVISION,
    CorruptState,
    StoreConflict,
    UnsupportedStateVersion,
)
from tlslite_mls.store.envelope import MAGIC, RecordKind, wrap

KEY = b"\x00group-key\xff"
SECRET = b"secret-group-state-" + bytes(range(256))


# -- group state ------------------------------------------------------------------------

def test_missing_is_none(store):
    assert store.load_group(KEY) is None
    assert store.load_group_record(KEY) is None
    assert store.load_pending_commit(KEY) is None
    store.delete_group(KEY)
    store.delete_pending_commit(KEY)


def test_group_round_trip(backend):
    store = backend.store
    expires = backend.clock() + 3600
    store.save_group(KEY, SECRET, revision=7, expires_at=expires)
    assert store.load_group(KEY) == SECRET
    record = store.load_group_record(KEY)
    assert record.state == SECRET and record.revision == 7
    assert math.isclose(record.expires_at, expires)
    other = backend.reopen()
    assert other.load_group(KEY) == SECRET


def test_unconditional_save_overwrites(store):
    store.save_group(KEY, b"one", revision=5)
    store.save_group(KEY, b"two", revision=1)  # no check, no monotonicity
    record = store.load_group_record(KEY)
    assert (record.state, record.revision, record.expires_at) == (b"two", 1, None)


def test_keys_are_independent(store):
    store.save_group(b"a", b"A")
    store.save_group(b"b", b"B")
    store.save_pending_commit(b"a", b"pa")
    store.delete_group(b"b")
    assert store.load_group(b"a") == b"A" and store.load_pending_commit(b"a") == b"pa"
    assert store.load_group(b"b") is None


def test_large_and_empty_states(store):
    big = bytes(range(256)) * 4096  # 1 MiB
    store.save_group(KEY, big)
    assert store.load_group(KEY) == big
    store.save_group(KEY, b"")
    assert store.load_group(KEY) == b""


def test_secrets_not_in_repr(store):
    store.save_group(KEY, SECRET, revision=1)
    assert SECRET.hex() not in repr(store.load_group_record(KEY))
    assert "secret-group-state" not in repr(store.load_group_record(KEY))
    assert "secret-group-state" not in repr(store)


# -- pending commits ---------------------------------------------------------------------

def test_pending_commit_round_trip(store):
    store.save_group(KEY, b"g", revision=1)
    store.save_pending_commit(KEY, b"commit-1")
    assert store.load_pending_commit(KEY) == b"commit-1"
    store.save_pending_commit(KEY, b"commit-2")
    assert store.load_pending_commit(KEY) == b"commit-2"
    store.save_group(KEY, b"g2", revision=2)  # save_group leaves it alone
    assert store.load_pending_commit(KEY) == b"commit-2"
    store.delete_pending_commit(KEY)
    assert store.load_pending_commit(KEY) is None
    assert store.load_group(KEY) == b"g2"


def test_delete_group_deletes_pending_commit(store):
    store.save_group_and_pending(KEY, b"g", b"c", revision=1)
    store.delete_group(KEY)
    assert store.load_group(KEY) is None
    assert store.load_pending_commit(KEY) is None


def test_group_and_pending_set_then_clear(store):
    store.save_group_and_pending(KEY, b"epoch1", b"pending", revision=1,
                                 expected_revision=ABSENT)
    assert store.load_group(KEY) == b"epoch1"
    assert store.load_pending_commit(KEY) == b"pending"
    store.save_group_and_pending(KEY, b"epoch2", None, revision=2, expected_revision=1)
    assert store.load_group(KEY) == b"epoch2"
    assert store.load_pending_commit(KEY) is None


def test_group_and_pending_conflict_writes_nothing(store):
    store.save_group_and_pending(KEY, b"epoch1", b"pending", revision=1)
    with pytest.raises(StoreConflict):
        store.save_group_and_pending(KEY, b"epoch3", None, revision=3, expected_revision=2)
    assert store.load_group_record(KEY).revision == 1
    assert store.load_pending_commit(KEY) == b"pending"


# -- compare-and-swap ---------------------------------------------------------------------

def test_cas_create_only_once(store):
    store.save_group(KEY, b"first", revision=1, expected_revision=ABSENT)
    with pytest.raises(StoreConflict) as info:
        store.save_group(KEY, b"second", revision=1, expected_revision=ABSENT)
    assert (info.value.expected, info.value.found) == (ABSENT, 1)
    assert "expected stored revision none (absent), found 1" in str(info.value)
    assert store.load_group(KEY) == b"first"


def test_cas_advances_and_refuses_stale_writer(store):
    store.save_group(KEY, b"e1", revision=1)
    store.save_group(KEY, b"e2", revision=2, expected_revision=1)
    with pytest.raises(StoreConflict) as info:  # a second process also started from 1
        store.save_group(KEY, b"e2-other", revision=2, expected_revision=1)
    assert (info.value.expected, info.value.found) == (1, 2)
    assert store.load_group(KEY) == b"e2"
    with pytest.raises(StoreConflict) as info:
        store.save_group(b"nothing-here", b"x", revision=2, expected_revision=1)
    assert info.value.found == ABSENT


def test_cas_must_advance(store):
    store.save_group(KEY, b"e5", revision=5)
    for bad in (5, 4):
        with pytest.raises(ValueError, match="does not advance"):
            store.save_group(KEY, b"x", revision=bad, expected_revision=5)
    store.save_group(KEY, b"e9", revision=9, expected_revision=5)  # gaps are fine
    assert store.load_group_record(KEY).revision == 9


def test_cas_large_revisions_exact(store):
    # Beyond 2**53 a float comparison would confuse neighbours; the stores must not.
    store.save_group(KEY, b"a", revision=MAX_REVISION - 1)
    with pytest.raises(StoreConflict):
        store.save_group(KEY, b"b", revision=MAX_REVISION, expected_revision=MAX_REVISION - 2)
    store.save_group(KEY, b"b", revision=MAX_REVISION, expected_revision=MAX_REVISION - 1)
    assert store.load_group_record(KEY).revision == MAX_REVISION


def test_cas_across_handles(backend):
    first, second = backend.store, backend.reopen()
    first.save_group(KEY, b"e1", revision=1, expected_revision=ABSENT)
    seen_by_second = second.load_group_record(KEY)
    first.save_group(KEY, b"e2", revision=2, expected_revision=1)
    with pytest.raises(StoreConflict):
        second.save_group(KEY, b"e2-b", revision=seen_by_second.revision + 1,
                          expected_revision=seen_by_second.revision)


# -- expiry ------------------------------------------------------------------------------

def test_group_expires(backend):
    store, clock = backend.store, backend.clock
    store.save_group_and_pending(KEY, b"g", b"pc", revision=1, expires_at=clock() + 1.0)
    store.save_group(b"forever", b"f")
    assert store.load_group(KEY) == b"g"
    clock.advance(1.15)
    assert store.load_group(KEY) is None
    assert store.load_group_record(KEY) is None
    assert store.load_pending_commit(KEY) is None  # set together, expires together
    assert store.load_group(b"forever") == b"f"
    # an expired group counts as absent for compare-and-swap
    store.save_group(KEY, b"new", revision=1, expected_revision=ABSENT)
    assert store.load_group(KEY) == b"new"


def test_pending_commit_own_expiry(backend):
    store, clock = backend.store, backend.clock
    store.save_group(KEY, b"g")
    store.save_pending_commit(KEY, b"pc", expires_at=clock() + 1.0)
    clock.advance(1.15)
    assert store.load_pending_commit(KEY) is None
    assert store.load_group(KEY) == b"g"


def test_save_with_past_expiry_is_invisible(backend):
    backend.store.save_group(KEY, b"g", expires_at=backend.clock() - 1)
    assert backend.store.load_group(KEY) is None


# -- the group cap (docs/profile.md section 9) --------------------------------------------

def test_group_cap_evicts_least_recently_written_first(backend):
    store = backend.make(max_groups=3)
    try:
        assert store.max_groups == 3
        for k in (b"a", b"b", b"c"):
            store.save_group_and_pending(k, k, b"pending-" + k, revision=1)
        store.save_group(b"a", b"a2", revision=2)  # a is now the most recently written
        store.save_group(b"d", b"d")  # one too many: b goes, with its pending commit
        assert store.load_group(b"b") is None and store.load_pending_commit(b"b") is None
        assert [store.load_group(k) for k in (b"a", b"c", b"d")] == [b"a2", b"c", b"d"]
        assert store.load_pending_commit(b"a") == b"pending-a"
        store.save_group(b"e", b"e")  # then c
        assert store.load_group(b"c") is None and store.load_pending_commit(b"c") is None
        store.delete_group(b"a")  # a deleted group frees its place
        store.save_group(b"f", b"f")
        assert [store.load_group(k) for k in (b"d", b"e", b"f")] == [b"d", b"e", b"f"]
        store.save_group(b"g", b"g")
        assert store.load_group(b"d") is None
        assert [store.load_group(k) for k in (b"e", b"f", b"g")] == [b"e", b"f", b"g"]
    finally:
        store.close()


def test_group_cap_default_and_bad_values(backend):
    assert backend.store.max_groups == 100_000
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="max_groups must be a positive number"):
            backend.make(max_groups=bad)


# -- KeyPackage replay cache ----------------------------------------------------------------

def test_claim_once(backend):
    store, now = backend.store, backend.clock()
    ref = bytes(range(32))
    assert store.claim_key_package(ref, now + 3600) is True
    assert store.claim_key_package(ref, now + 3600) is False
    assert store.claim_key_package(ref, now + 7200) is False
    assert store.claim_key_package(ref[:-1] + b"\x00", now + 3600) is True
    assert backend.reopen().claim_key_package(ref, now + 3600) is False


def test_claim_expiry_frees_ref(backend):
    store, clock = backend.store, backend.clock
    ref = b"\x01" * 32
    assert store.claim_key_package(ref, clock() + 1.0) is True
    assert store.claim_key_package(ref, clock() + 1.0) is False
    clock.advance(1.15)
    assert store.claim_key_package(ref, clock() + 60) is True
    assert store.claim_key_package(ref, clock() + 60) is False


def test_claim_of_expired_key_package_is_refused(backend):
    store, now = backend.store, backend.clock()
    assert store.claim_key_package(b"\x02" * 32, now - 1) is False
    assert store.claim_key_package(b"\x02" * 32, now) is False


def test_claims_from_threads_one_winner(store):
    refs = [i.to_bytes(4, "big") * 8 for i in range(100)]
    wins: list[bytes] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)
    expires = __import__("time").time() + 3600

    def worker() -> None:
        barrier.wait()
        mine = [r for r in refs if store.claim_key_package(r, expires)]
        with lock:
            wins.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(refs)


# -- housekeeping -------------------------------------------------------------------------

def test_purge_expired(backend):
    store, clock = backend.store, backend.clock
    now = clock()
    store.save_group(b"short", b"s", expires_at=now + 10)
    store.save_group(b"long", b"l", expires_at=now + 1000)
    store.save_pending_commit(b"short", b"p", expires_at=now + 10)
    store.claim_key_package(b"\x03" * 32, now + 10)
    store.claim_key_package(b"\x04" * 32, now + 1000)
    removed = store.purge_expired(now + 20)
    if backend.name == "redis":
        assert removed == 0  # Redis expires keys itself
    else:
        assert removed == 3
        assert store.purge_expired(now + 20) == 0
        assert store.load_group(b"long") == b"l"
        assert store.claim_key_package(b"\x04" * 32, now + 1000) is False


def test_context_manager_closes(backend):
    with backend.reopen() as other:
        other.save_group(b"cm", b"x")


# -- argument checks ------------------------------------------------------------------------

@pytest.mark.parametrize("key, exc", [(b"", ValueError), ("text", TypeError),
                                      (None, TypeError), (b"k" * 1025, ValueError)])
def test_bad_keys(store, key, exc):
    with pytest.raises(exc):
        store.save_group(key, b"x")
    with pytest.raises(exc):
        store.load_group(key)
    with pytest.raises(exc):
        store.claim_key_package(key, 1e12)


@pytest.mark.parametrize("kwargs, exc", [
    ({"revision": -1}, ValueError),
    ({"revision": True}, TypeError),
    ({"revision": 2**63}, ValueError),
    ({"revision": 1, "expected_revision": -2}, ValueError),
    ({"expires_at": float("nan")}, ValueError),
    ({"expires_at": "soon"}, TypeError),
])
def test_bad_save_arguments(store, kwargs, exc):
    with pytest.raises(exc):
        store.save_group(KEY, b"x", **kwargs)
    assert store.load_group(KEY) is None


def test_state_must_be_bytes(store):
    with pytest.raises(TypeError):
        store.save_group(KEY, "state")
    with pytest.raises(TypeError):
        store.save_pending_commit(KEY, 5)
    store.save_group(KEY, bytearray(b"ba"))
    assert store.load_group(KEY) == b"ba"


# -- the version envelope ---------------------------------------------------------------------

def test_unknown_group_version_is_refused(backend):
    backend.inject_group(KEY, MAGIC + b"\x00\x02" + b"future framing", 3)
    with pytest.raises(UnsupportedStateVersion, match="store format version 2.*reads version 1"):
        backend.store.load_group(KEY)
    with pytest.raises(UnsupportedStateVersion):
        backend.store.load_group_record(KEY)


def test_unknown_pending_version_is_refused(backend):
    backend.inject_pending(KEY, MAGIC + b"\xff\xff")
    with pytest.raises(UnsupportedStateVersion) as info:
        backend.store.load_pending_commit(KEY)
    assert info.value.version == 0xFFFF and info.value.what == "pending commit"


@pytest.mark.parametrize("blob", [b"", b"raw engine bytes", MAGIC + b"\x00\x01",
                                  wrap(RecordKind.GROUP, b"abc")[:-1],
                                  wrap(RecordKind.PENDING_COMMIT, b"abc")])
def test_damaged_group_record_is_refused(backend, blob):
    backend.inject_group(KEY, blob, 1)
    with pytest.raises(CorruptState):
        backend.store.load_group(KEY)


def test_version_error_does_not_leak_state(backend):
    backend.inject_group(KEY, MAGIC + b"\x00\x09" + SECRET, 1)
    with pytest.raises(UnsupportedStateVersion) as info:
        backend.store.load_group(KEY)
    assert "secret" not in str(info.value) and KEY.hex() not in str(info.value)
