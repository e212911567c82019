"""SIGKILL the server process in the middle of updates; a restarted one resumes.

The server's engine lives in a child process with an SQLite store; the client stays in
this process. The child is killed at a random moment of a stream of epoch changes (in
the middle of processing a commit, between its store write and its reply, ...). A new
child loads the stored state and the two resume (docs/profile.md section 6): whatever the
moment of the crash, resumption succeeds and both end at the same epoch with the same
exporter -- the state written before each message was enough, nothing was lost.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from tlslite_mls.store import MemoryStore, SQLiteStore
from tlslite_mls.twoparty.events import Send
from tlslite_mls.twoparty.session import State, TwoPartySession
from tp_util import handshake

HERE = Path(__file__).resolve().parent
KILLS = 6
_GONE = (EOFError, BrokenPipeError, ConnectionResetError, OSError)


def _sends(events) -> list[bytes]:
    for e in events:
        if not isinstance(e, Send):
            e.keys.wipe()
    return [e.message.serialize() for e in events if isinstance(e, Send)]


class _Child:
    def __init__(self, ctx, path: str, key: bytes) -> None:
        import tp_workers
        self.conn, child_end = ctx.Pipe()
        self.proc = ctx.Process(target=tp_workers.server_worker, args=(path, key, child_end))
        self.proc.start()
        child_end.close()
        op, self.epoch = self.conn.recv()
        assert op == "ready"

    def call(self, op: str, data: bytes = b""):
        self.conn.send((op, data))
        return self.conn.recv()

    def kill(self) -> None:
        if self.proc.is_alive():
            os.kill(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.conn.send(("stop", b""))
        self.proc.join(timeout=30)


def _exchange(client: TwoPartySession, child: _Child, to_server: list[bytes]) -> None:
    """Shuttle messages until both sides have nothing more to send."""
    while to_server:
        op, replies = child.call("msg", to_server.pop(0))
        for wire in replies:
            to_server.extend(_sends(client.receive(wire)))


def _resume(client: TwoPartySession, child: _Child) -> None:
    _exchange(client, child, _sends(client.resume()))
    assert client.state is State.IDLE


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_server_killed_mid_update_resumes_from_sqlite(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    ctx = multiprocessing.get_context("spawn")
    path = str(tmp_path / "server.db")
    client, server = handshake()
    cstore = MemoryStore()
    key = client.persist(store=cstore)
    with SQLiteStore(path) as sstore:
        server.persist(key=key, store=sstore)
    server.close()
    rng = random.Random()
    epochs = []
    for cycle in range(KILLS):
        child = _Child(ctx, path, key)
        client = TwoPartySession.load(client._config, key, cstore)
        _resume(client, child)
        epochs.append(client.epoch)
        timer = threading.Timer(rng.uniform(0.01, 0.12), child.kill)
        timer.start()
        try:
            for i in range(10_000):
                if i % 2 == 0:
                    _exchange(client, child, _sends(client.start_update()))
                else:
                    op, replies = child.call("update")
                    todo: list[bytes] = []
                    for wire in replies:
                        todo.extend(_sends(client.receive(wire)))
                    _exchange(client, child, todo)
        except _GONE:
            pass
        timer.cancel()
        child.kill()
        child.proc.join(timeout=30)
        assert child.proc.exitcode == -signal.SIGKILL, child.proc.exitcode
        client.close()
    # A last restart: resume, one more update each way, and compare.
    child = _Child(ctx, path, key)
    client = TwoPartySession.load(client._config, key, cstore)
    _resume(client, child)
    _exchange(client, child, _sends(client.start_update()))
    op, replies = child.call("update")
    todo = []
    for wire in replies:
        todo.extend(_sends(client.receive(wire)))
    _exchange(client, child, todo)
    import tp_workers
    op, epoch, state, check = child.call("check")
    child.stop()
    assert (epoch, state) == (client.epoch, "idle")
    assert check == client.exporter(tp_workers.CHECK_LABEL, b"", 32)
    assert epochs == sorted(epochs) and client.epoch > epochs[0]
