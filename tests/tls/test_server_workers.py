"""``MLSServer`` in a ``WorkerPool``: two processes on one address sharing an SQLite
store and the ticket keys. A ticket issued by one worker resumes its MLS group on the
other, and a KeyPackage replayed to the other worker is refused.

Which worker served a connection is known from a file each worker appends
``client-port pid`` to when it accepts; the client reconnects until the kernel hands
a connection to the other worker.
"""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

from test_post_handshake_processes import RecordingSocket, assert_replay_refused
from tlslite_mls.store import open_store
from tlslite_mls.store.memory import MemoryStore
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.server import MLSServer
from tlslite_mls.workers import REUSEPORT, WorkerPool, default_workers
from tlsutil import client_mls, server_mls, tls13_settings

TICKET_KEYS = [bytearray(b"w" * 32)]
TRIES = 40


def _pool(pki, tmp_path, reuseport):
    seen = tmp_path / "seen"
    db = tmp_path / "groups.db"

    class Recorded(MLSTLSConnection):
        def __init__(self, sock, *args, **kwargs):
            with open(seen, "a") as f:
                f.write(f"{sock.getpeername()[1]} {os.getpid()}\n")
            super().__init__(sock, *args, **kwargs)

    def make_server(listener):
        server = MLSServer(None, pki.chain(), pki.key(),
                           server_mls(store=open_store(f"sqlite:{db}")),
                           settings=tls13_settings(ticketKeys=TICKET_KEYS), listener=listener)
        server.connection_class = Recorded
        return server

    def worker_of(sock):
        port = sock.getsockname()[1]
        deadline = time.time() + 20
        while time.time() < deadline:
            for line in seen.read_text().splitlines() if seen.exists() else []:
                p, pid = line.split()
                if int(p) == port:
                    return int(pid)
            time.sleep(0.02)
        raise AssertionError(f"no worker recorded the connection from port {port}")

    return WorkerPool(("127.0.0.1", 0), make_server, workers=2, reuseport=reuseport), worker_of


@pytest.mark.parametrize("reuseport", [True, False] if REUSEPORT else [False],
                         ids=lambda r: "SO_REUSEPORT" if r else "shared-socket")
def test_workers_share_tickets_groups_and_replay_cache(pki, tmp_path, reuseport):
    pool, worker_of = _pool(pki, tmp_path, reuseport)
    cstore = MemoryStore()
    with pool:
        address = pool.address
        assert len({p.pid for p in pool.processes}) == 2
        # a full MLS handshake; the client keeps its ClientHello bytes
        raw = RecordingSocket(socket.create_connection(address, timeout=20))
        conn = MLSTLSConnection(raw)
        conn.handshakeClientMLS(client_mls(store=cstore), settings=tls13_settings())
        conn.write(b"first")
        assert bytes(conn.read()) == b"first"
        first = worker_of(raw)
        epoch, session = conn.mls_epoch, conn.session
        assert session.tickets
        hello = bytes(raw.sent)
        hello = hello[:5 + struct.unpack(">H", hello[3:5])[0]]
        conn.close()
        # resumption, until a connection lands on the other worker
        for _ in range(TRIES):
            sock = socket.create_connection(address, timeout=20)
            conn = MLSTLSConnection(sock)
            conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                          settings=tls13_settings())
            assert conn.resumed and conn.mls_negotiated and conn.mls_epoch == epoch + 2
            conn.write(b"again")
            assert bytes(conn.read()) == b"again"
            epoch, session = conn.mls_epoch, conn.session
            other = worker_of(sock)
            conn.close()
            if other != first:
                break
        assert other != first, f"all {TRIES} connections went to one worker"
        # the KeyPackage the first worker consumed, replayed until the other one gets it
        for _ in range(TRIES):
            with socket.create_connection(address, timeout=20) as s:
                assert_replay_refused(s, hello)  # no Welcome for a replay
                replayed_on = worker_of(s)
            if replayed_on != first:
                break
        assert replayed_on != first


def test_pool_settings_are_checked():
    assert default_workers() >= 1
    with pytest.raises(ValueError, match="positive integer"):
        WorkerPool(("127.0.0.1", 0), lambda s: None, workers=0)


# -- the command line ---------------------------------------------------------------------
def test_cli_server_workers_share_the_replay_cache(tmp_path):
    """``server --workers 2 --store sqlite:...``: connections reach both workers (their
    log lines carry their process ids), and a ClientHello whose KeyPackage one worker
    used is refused MLS by the other."""
    import re

    from hostile import Server

    from tlslite_mls.cli import tls_settings
    from tlslite_mls.mls.auth import AcceptAnyCredential
    from tlslite_mls.tls import MLSClientSettings

    server = Server("--workers", "2", "--store", f"sqlite:///{tmp_path / 'g.db'}")
    try:
        assert "2 worker processes" in server.lines[0]

        def handled_by(port: int) -> str:
            line = server.line_matching(rf"from 127\.0\.0\.1:{port}\b", 30)
            return re.match(r"server\[(\d+)\]", line).group(1)

        raw = RecordingSocket(server.connect(20))
        conn = MLSTLSConnection(raw, mls_settings=MLSClientSettings(
            auth_policy=AcceptAnyCredential()))
        conn.handshakeClientCert(settings=tls_settings())
        assert conn.mls_negotiated
        first = handled_by(raw.getsockname()[1])
        hello = bytes(raw.sent)
        hello = hello[:5 + struct.unpack(">H", hello[3:5])[0]]
        conn.close()
        for _ in range(TRIES):
            with server.connect(20) as s:
                s.sendall(hello)
                s.recv(65536)  # the ServerHello
                port = s.getsockname()[1]
            line = server.line_matching(rf"MLS declined for 127\.0\.0\.1:{port}\b", 30)
            assert "replay" in line.lower() or "already" in line.lower(), line
            worker = re.match(r"server\[(\d+)\]", line).group(1)
            if worker != first:
                break
        assert worker != first, "every replay went to the first worker"
    finally:
        server.stop()


@pytest.mark.parametrize("args,message", [
    (["--workers", "2"], "needs a --store that processes share"),
    (["--workers", "2", "--store", "memory:"], "needs a --store that processes share"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--workers", "2", "--count", "1", "--store", "sqlite:x.db"], "cannot go with --workers"),
    (["--mls-tls", "--workers", "2"], "--workers is for the TLS extension mode"),
])
def test_cli_workers_refused_with_a_reason(args, message, tmp_path):
    import subprocess

    from hostile import PY, env
    r = subprocess.run([PY, "-m", "tlslite_mls", "server", *args, "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=60, env=env(), cwd=tmp_path)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
