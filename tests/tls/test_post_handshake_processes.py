"""Post-handshake MLS across processes and faults (docs/profile.md sections 5-7).

(a) a long-lived connection between two processes: numbered, checksummed frames both
    ways while both sides change epochs (crossing too) and send TLS KeyUpdates;
(b) the connection cut before and after every message of the update and resumption
    exchanges; the client resumes and the stream goes on, nothing lost or duplicated;
(c) a fleet: two server processes on one Redis; a ticket from one resumes on the
    other, and a KeyPackage replayed to the second after the first used it is refused.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tlslite.constants import AlertDescription

from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.post_handshake import UpdatePolicy
from tlslite_mls.tls.server import MLSServer
from tlsutil import (PY, client_mls, env_with_repo, free_port, server_mls, stop,
                     tls13_settings)

HERE = Path(__file__).resolve().parent
PEER = str(HERE / "ph_peer.py")


# -- (a) ---------------------------------------------------------------------------------------

def test_long_lived_stream_with_epoch_changes(pki):
    port = free_port()
    count, every = 900, 16
    env = env_with_repo()
    srv = subprocess.Popen([PY, PEER, "stream-server", str(pki.dir), str(port), str(count),
                            str(every)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, text=True)
    cli = subprocess.Popen([PY, PEER, "stream-client", str(pki.dir), str(port), str(count),
                            str(every)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, text=True)
    try:
        c_out, c_err = cli.communicate(timeout=200)
        s_out, s_err = srv.communicate(timeout=30)
    finally:
        stop(cli)
        stop(srv)
    assert cli.returncode == 0 and srv.returncode == 0, (c_err[-3000:], s_err[-3000:])
    c, s = json.loads(c_out.strip().splitlines()[-1]), json.loads(s_out.strip().splitlines()[-1])
    assert c["received"] == s["received"] == count
    assert c["epoch"] == s["epoch"] and c["exporter"] == s["exporter"]
    assert c["tls_exporter"] == s["tls_exporter"]
    assert c["epoch"] - 1 >= 50, (c, s)           # epoch changes from both sides
    assert c["updates"] >= 20 and s["updates"] >= 20, (c, s)
    assert c["crossed"] + s["crossed"] >= 1, (c, s)
    assert c["key_updates"] + s["key_updates"] >= 5, (c, s)
    assert c["changes"] == s["changes"] == c["epoch"] - 1


# -- (b) ---------------------------------------------------------------------------------------

class Cut(ConnectionResetError):
    """The test cut the connection here."""


class CuttingConnection(MLSTLSConnection):
    """Counts mls_handshake messages sent and received; cuts at one of them.

    ``plan`` is shared by all connections of a run: ``{"n": seen so far,
    "cuts": {index: "before"|"after"}, "log": [...]}``. "before" loses the message
    (a sent one never leaves, a received one is never processed); "after" cuts
    right behind it.
    """

    plan: dict = {}

    def _cut_point(self, what: str) -> "str | None":
        p = self.plan
        index = p["n"]
        p["n"] += 1
        p["log"].append(what)
        return p["cuts"].get(index)

    def _cut(self) -> None:
        try:
            self.sock.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.socket.close()
        raise Cut("cut by the test")

    def _mls_send(self, st, message):
        hit = self._cut_point("send:" + message.kind.name)
        if hit == "before":
            self._cut()
        yield from super()._mls_send(st, message)
        if hit:
            self._cut()

    def _mls_on_message(self, st, body):
        from tlslite_mls.twoparty.messages import TwoPartyMLSMessage
        kind = TwoPartyMLSMessage.deserialize(body).kind.name
        hit = self._cut_point("recv:" + kind)
        if hit == "before":
            self._cut()
        yield from super()._mls_on_message(st, body)
        if hit:
            self._cut()


def _fault_server(pki, store, accepted, conns):
    def handler(conn):
        conns.append(conn)
        n = 0
        while True:
            data = conn.read()
            if not data:
                return
            seq = struct.unpack(">I", bytes(data[:4]))[0]
            if seq == len(accepted):
                accepted.append(seq)       # new
            elif seq > len(accepted):
                raise AssertionError(f"gap: {seq} after {len(accepted)}")
            n += 1
            if n % 3 == 0 and not conn.mls_update_in_flight:
                conn.mls_update()          # server-initiated updates too
            conn.write(struct.pack(">I", seq))
    return MLSServer(("127.0.0.1", 0), pki.chain(), pki.key(), server_mls(store=store),
                     settings=tls13_settings(ticketKeys=[bytearray(b"c" * 32)]),
                     handler=handler, timeout=10).start()


def _run_stream(port, cstore, total, plan):
    """Send ``total`` numbered messages, reconnecting (resuming) after every failure."""
    CuttingConnection.plan = plan
    seq, conn, session, failures, resumed = 0, None, None, 0, 0
    while seq < total:
        try:
            if conn is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                conn = CuttingConnection(sock)
                if session is not None:
                    resumed += 1  # attempts
                    conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                                  settings=tls13_settings())
                else:
                    conn.handshakeClientMLS(client_mls(store=cstore), settings=tls13_settings())
            conn.write(struct.pack(">I", seq))
            ack = struct.unpack(">I", bytes(conn.read()))[0]
            assert ack == seq, (ack, seq)
            if conn.session.tickets:
                session = conn.session
            seq += 1
            if seq % 2 == 0 and not conn.mls_update_in_flight:
                conn.mls_update()
        except Exception as e:  # the cut, or an alert after it (a stale server thread)
            failures += 1
            assert failures < 6, f"too many failures: {e!r}"
            if conn is not None and conn.session is not None and conn.session.tickets:
                session = conn.session
            conn = None
    final = (conn.mls_epoch, conn.mls_exporter(b"f", b"", 16))
    conn.close()
    return final, failures, resumed


def _check_run(port, total, cuts, accepted, conns):
    accepted.clear()
    plan = {"n": 0, "cuts": dict(cuts), "log": []}
    (epoch, exp), failures, resumed = _run_stream(port, MemoryStore(), total, plan)
    assert accepted == list(range(total)), (cuts, accepted, plan["log"])
    # A server thread of the cut connection may still finish its step and make the
    # next connection's store write conflict: that connection fails cleanly too.
    assert len(cuts) <= failures <= len(cuts) + 2, (cuts, failures, plan["log"])
    time.sleep(0.05)
    srv = conns[-1]
    assert srv.mls_epoch == epoch and srv.mls_exporter(b"f", b"", 16) == exp
    return plan["log"], resumed


def test_cut_at_every_step_and_resume(pki):
    total = 7
    store = MemoryStore()
    accepted, conns = [], []
    server = _fault_server(pki, store, accepted, conns)
    port = server.address[1]
    try:
        steps, _ = _check_run(port, total, {}, accepted, conns)
        kinds = {s.split(":")[1] for s in steps}
        assert {"CONNECTION_UPDATE", "EPOCH_KEY_UPDATE"} <= kinds
        # every message of the updates (client's initial one, client's and server's later ones)
        resumed_total = 0
        for at in range(len(steps)):
            for when in ("before", "after"):
                _, resumed = _check_run(port, total, {at: when}, accepted, conns)
                resumed_total += resumed
        assert resumed_total >= len(steps)  # most cuts come after the tickets
        # every message of the resumption exchange: a first cut once the tickets are in
        # (behind the server's first marker), then a second cut at each later message
        first = steps.index("recv:EPOCH_KEY_UPDATE")
        log, _ = _check_run(port, total, {first: "after"}, accepted, conns)
        start = log.index("send:RESUMPTION_REQUEST")
        assert log[start:start + 4] == [
            "send:RESUMPTION_REQUEST", "recv:RESUMPTION_RESPONSE", "send:EPOCH_KEY_UPDATE",
            "recv:EPOCH_KEY_UPDATE"], log
        for j in range(4):
            for when in ("before", "after"):
                log, resumed = _check_run(port, total, {first: "after", start + j: when},
                                          accepted, conns)
                assert resumed >= 2, log
    finally:
        server.shutdown()


# -- (c) ---------------------------------------------------------------------------------------

def _redis_url():
    sys.path.insert(0, str(HERE.parent / "store"))
    try:
        from conftest import redis_ping  # the store tests' helper
    finally:
        sys.path.pop(0)
    from helpers import require
    url = os.environ.get("TLSLITE_MLS_REDIS_URL", "redis://127.0.0.1:6390/0")
    require(redis_ping(url), f"a Redis server at {url} (.ci/setup.d/30-redis.sh)")
    return url


class RecordingSocket:
    """A socket that keeps a copy of everything sent."""

    def __init__(self, sock):
        self._sock = sock
        self.sent = bytearray()

    def send(self, data, flags=0):
        n = self._sock.send(data, flags)
        self.sent += bytes(data[:n])
        return n

    def sendall(self, data):
        self._sock.sendall(data)
        self.sent += bytes(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_fleet_shares_groups_and_replay_cache(pki, tmp_path):
    url = _redis_url()
    prefix = f"tlslite_mls_fleet:{uuid.uuid4().hex}:".encode()
    env = env_with_repo()
    procs, ports = [], []
    try:
        for name in ("a", "b"):
            portfile = tmp_path / f"{name}.port"
            procs.append(subprocess.Popen([PY, PEER, "fleet-server", str(pki.dir), str(portfile),
                                           url, prefix.hex()], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            deadline = time.time() + 20
            while not portfile.exists():
                assert procs[-1].poll() is None, procs[-1].stderr.read().decode()[-2000:]
                assert time.time() < deadline, "fleet server did not start"
                time.sleep(0.05)
            ports.append(int(portfile.read_text()))
        cstore = MemoryStore()
        # A: a full MLS handshake; the client keeps its ClientHello bytes
        raw = RecordingSocket(socket.create_connection(("127.0.0.1", ports[0]), timeout=10))
        conn = MLSTLSConnection(raw)
        conn.handshakeClientMLS(client_mls(store=cstore), settings=tls13_settings())
        conn.write(b"hello a")
        assert bytes(conn.read()) == b"hello a"
        n = conn.mls_epoch
        session = conn.session
        assert session.tickets
        hello = bytes(raw.sent)
        hello = hello[:5 + struct.unpack(">H", hello[3:5])[0]]  # the ClientHello record
        assert hello[0] == 22 and hello[5] == 1
        conn.close()
        # B: resumes A's group with A's ticket
        conn = MLSTLSConnection(socket.create_connection(("127.0.0.1", ports[1]), timeout=10))
        conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                      settings=tls13_settings())
        assert conn.resumed and conn.mls_epoch == n + 2
        conn.write(b"hello b")
        assert bytes(conn.read()) == b"hello b"
        conn.mls_update(wait=True)
        conn.close()
        # B refuses the KeyPackage A consumed: no Welcome in its ServerHello
        with socket.create_connection(("127.0.0.1", ports[1]), timeout=10) as s:
            assert_replay_refused(s, hello)
    finally:
        for p in procs:
            stop(p)
        import redis
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=prefix + b"*"))
        if keys:
            client.delete(*keys)
        client.close()


def assert_replay_refused(sock: socket.socket, hello: bytes) -> None:
    """Send a recorded ClientHello record; the ServerHello must carry no Welcome."""
    sock.sendall(hello)
    reply = b""
    while len(reply) < 5 or len(reply) < 5 + struct.unpack(">H", reply[3:5])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    assert reply[0] == 22 and reply[5] == 2, reply[:8]  # a ServerHello: classic TLS
    sh = reply[5:5 + struct.unpack(">H", reply[3:5])[0]]
    assert b"\xff\x4d" not in _extension_types(sh)


def _extension_types(server_hello: bytes) -> bytes:
    """The extension type codes of a ServerHello handshake message, concatenated."""
    p = 4 + 2 + 32
    p += 1 + server_hello[p]          # session id
    p += 2 + 1                        # suite, compression
    end = p + 2 + struct.unpack(">H", server_hello[p:p + 2])[0]
    p += 2
    out = b""
    while p < end:
        out += server_hello[p:p + 2]
        p += 4 + struct.unpack(">H", server_hello[p + 2:p + 4])[0]
    return out
