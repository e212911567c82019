"""Code that runs in child processes for the multi-process store tests.

Imported by name in ``spawn`` children (the tests put this folder on ``sys.path``), so
it must stay importable on its own: no pytest, no conftest.
"""

from __future__ import annotations

import hashlib
import random
import struct
import time

from tlslite_mls.store import ABSENT, open_store

CRASH_KEY = b"crash-test-group"


def claim_all(spec: str, options: dict, refs: list, start, results) -> None:
    """Wait for ``start``, then claim every ref in a random order; report the wins."""
    store = open_store(spec, **options)
    order = list(refs)
    random.shuffle(order)
    expires = time.time() + 600
    start.wait()
    won = [ref for ref in order if store.claim_key_package(ref, expires)]
    store.close()
    results.put(won)


def advance_group(spec: str, options: dict, key: bytes, attempts: int, start, results) -> None:
    """Race the other children to advance one group: load, then compare-and-swap +1."""
    from tlslite_mls.store import StoreConflict

    store = open_store(spec, **options)
    start.wait()
    won = []
    for _ in range(attempts):
        record = store.load_group_record(key)
        nxt = record.revision + 1
        try:
            store.save_group(key, b"rev-%d" % nxt, revision=nxt, expected_revision=record.revision)
        except StoreConflict:
            continue
        won.append(nxt)
    store.close()
    results.put(won)


# -- the crash test: self-checking states -------------------------------------------------

def make_state(revision: int) -> bytes:
    """A state whose every byte depends on ``revision`` and that proves its own integrity.

    Sizes vary from a few bytes to ~300 KB so that writes span many database pages.
    """
    rng = random.Random(revision)
    size = rng.choice([16, 1000, 5000, 40_000, 300_000])
    body = rng.randbytes(size)
    head = struct.pack(">QI", revision, size)
    return head + hashlib.sha256(head + body).digest() + body


def check_state(state: bytes) -> int:
    """The revision a state from make_state claims; AssertionError if it is torn."""
    revision, size = struct.unpack_from(">QI", state)
    head, digest, body = state[:12], state[12:44], state[44:]
    assert len(body) == size, "torn state: wrong length"
    assert hashlib.sha256(head + body).digest() == digest, "torn state: bad digest"
    assert state == make_state(revision), "state is not the one written for its revision"
    return revision


def make_pending(revision: int) -> bytes:
    return b"pending-commit-for-%d-" % revision + make_state(revision)[:2000]


def crash_writer(path: str, committed) -> None:
    """Write group state in a tight loop until killed; publish each committed revision.

    Odd revisions carry a pending commit set in the same atomic write, even ones clear
    it, so the pending commit always belongs to the stored group revision.
    """
    from tlslite_mls.store import SQLiteStore

    store = SQLiteStore(path)
    record = store.load_group_record(CRASH_KEY)
    revision = ABSENT if record is None else record.revision
    while True:
        nxt = revision + 1
        pending = make_pending(nxt) if nxt % 2 else None
        store.save_group_and_pending(CRASH_KEY, make_state(nxt), pending, revision=nxt,
                                     expected_revision=revision)
        committed.value = nxt  # only after the write returned
        revision = nxt
