"""SIGKILL a process that is writing group state: what remains is one complete version.

The store half of the engine's crash-safety story: whatever instant a server dies at,
the SQLite store afterwards holds exactly one whole, loadable group state (never a torn
mix of two), its pending commit belongs to that same state, and nothing that a write
call had already returned for is lost.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tlslite_mls.store import SQLiteStore

HERE = Path(__file__).resolve().parent
KILLS = 12


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sqlite_survives_sigkill_mid_write(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    import store_workers as w

    ctx = multiprocessing.get_context("spawn")
    path = str(tmp_path / "crash.db")
    rng = random.Random()
    last_committed = -1
    seen = []
    for _ in range(KILLS):
        committed = ctx.Value("q", -1, lock=False)
        child = ctx.Process(target=w.crash_writer, args=(path, committed))
        child.start()
        deadline = time.monotonic() + 60
        while committed.value < 0 and child.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert committed.value >= 0, f"writer made no progress (exit code {child.exitcode})"
        time.sleep(rng.uniform(0.0, 0.25))  # a random point in the write loop
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
        assert child.exitcode == -signal.SIGKILL
        acknowledged = committed.value

        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        with SQLiteStore(path) as store:
            record = store.load_group_record(w.CRASH_KEY)
            pending = store.load_pending_commit(w.CRASH_KEY)
        assert record is not None
        assert w.check_state(record.state) == record.revision
        # acknowledged writes are durable; at most the one in flight may also have landed
        assert record.revision in (acknowledged, acknowledged + 1)
        assert record.revision >= last_committed
        assert pending == (w.make_pending(record.revision) if record.revision % 2 else None)
        last_committed = record.revision
        seen.append((acknowledged, record.revision))
    print("acknowledged, stored after each kill:", seen)
    assert last_committed >= KILLS, f"too few writes to mean anything: {seen}"
