"""Several processes on one store: exactly one claim wins, no lost compare-and-swap."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROCESSES = 4


@pytest.fixture
def ctx(monkeypatch):
    # spawn children import store_workers by name from this folder.
    monkeypatch.syspath_prepend(str(HERE))
    return multiprocessing.get_context("spawn")


@pytest.fixture(params=["sqlite", "redis"])
def target(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'shared.db'}", {}
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"tlslite_mls_test:{uuid.uuid4().hex}:".encode()
    yield url, {"prefix": prefix}
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + b"*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i:i + 500])
    client.close()


def _run(ctx, fn, args_for) -> list[list]:
    import store_workers  # noqa: F401  (fails here, clearly, if the path is wrong)

    start = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=fn, args=(*args_for(i), start, results)) for i in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return out


def test_processes_claim_each_ref_once(ctx, target):
    import store_workers

    spec, options = target
    refs = [uuid.uuid4().bytes * 2 for _ in range(300)]
    wins = _run(ctx, store_workers.claim_all, lambda i: (spec, options, refs))
    flat = [ref for won in wins for ref in won]
    assert len(flat) == len(refs), "some ref was claimed twice or by nobody"
    assert set(flat) == set(refs)


def test_processes_never_both_advance_a_group(ctx, target):
    import store_workers

    from tlslite_mls.store import ABSENT, open_store

    spec, options = target
    key = b"contended-group"
    with open_store(spec, **options) as store:
        store.save_group(key, b"rev-0", revision=0, expected_revision=ABSENT)
    attempts = 60
    wins = _run(ctx, store_workers.advance_group, lambda i: (spec, options, key, attempts))
    flat = sorted(r for won in wins for r in won)
    # every revision was reached by exactly one process, and none was skipped
    assert flat == list(range(1, len(flat) + 1))
    with open_store(spec, **options) as store:
        record = store.load_group_record(key)
    assert record.revision == len(flat) and record.state == b"rev-%d" % len(flat)


def _open_sqlite(path, barrier, results):
    from tlslite_mls.store.sqlite import SQLiteStore
    barrier.wait()
    try:
        SQLiteStore(path).close()
        results.put(None)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(repr(exc))


def test_processes_opening_one_new_sqlite_file_together_all_succeed(tmp_path):
    """Workers started together on a fresh database: SQLite refuses the WAL switch with
    "database is locked" without waiting while another connection creates the file
    (most runs of sixty rounds failed before)."""
    fork = multiprocessing.get_context("fork")
    errors = []
    for i in range(60):
        barrier, results = fork.Barrier(8), fork.Queue()
        procs = [fork.Process(target=_open_sqlite,
                              args=(str(tmp_path / f"fresh{i}.db"), barrier, results))
                 for _ in range(8)]
        for p in procs:
            p.start()
        errors += [e for e in (results.get(timeout=60) for _ in procs) if e]
        for p in procs:
            p.join(60)
    assert errors == []
