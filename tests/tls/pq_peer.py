"""One side of the post-quantum process test (extension mode), as a process of its own.

    pq_peer.py server PKI SUITE      prints its port, serves two connections, prints JSON
    pq_peer.py client PKI SUITE PORT prints one JSON line

Connection 1: the handshake in ``SUITE``, then an epoch change started by the server
and one started by the client while data flows, then both sides compare exporters
over the connection. Connection 2: the client resumes the first connection's ticket;
the server finds the group in its own store (docs/profile.md section 6), both reach epoch
N + 2 and compare exporters again.
"""

from __future__ import annotations

import json
import socket
import sys

from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.post_handshake import UpdatePolicy
from tlsutil import client_mls, load_pki, server_mls, tls13_settings

TICKET_KEYS = [bytearray(b"q" * 32)]
EXPORTER = (b"pq process test", b"", 32)


def _facts(conn: MLSTLSConnection) -> dict:
    return {"mls": conn.mls_negotiated, "suite": conn.mls_cipher_suite, "epoch": conn.mls_epoch,
            "exporter": conn.mls_exporter(*EXPORTER).hex()}


def serve(pki_dir: str, suite: int) -> None:
    chain, key = load_pki(pki_dir)
    mls = server_mls(suites=[suite], store=MemoryStore())
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    out = []
    for phase in ("first", "resume"):
        sock, _ = listener.accept()
        sock.settimeout(120)
        conn = MLSTLSConnection(sock)
        conn.mls_update_policy = UpdatePolicy(initial_update=False)
        conn.handshakeServerMLS(mls, certChain=chain, privateKey=key,
                                settings=tls13_settings(ticketKeys=TICKET_KEYS))
        facts = {"phase": phase, "resumed": conn.resumed, "start_epoch": conn.mls_epoch}
        while True:
            data = bytes(conn.read())
            if data == b"bye":
                break
            if data == b"update-please":
                conn.mls_update()  # server-initiated epoch change
            conn.write(b"echo:" + data)
        conn.write(json.dumps(_facts(conn)).encode())
        conn.close()
        facts.update(_facts(conn))
        out.append(facts)
    print(json.dumps(out), flush=True)


def _exchange(conn: MLSTLSConnection, data: bytes) -> None:
    conn.write(data)
    if bytes(conn.read()) != b"echo:" + data:
        raise SystemExit(f"echo mismatch for {data!r}")


def _finish(conn: MLSTLSConnection) -> dict:
    conn.write(b"bye")
    peer = json.loads(bytes(conn.read()))
    facts = _facts(conn)
    facts["peer_equal"] = peer == facts
    return facts


def connect(pki_dir: str, suite: int, port: int) -> None:
    store = MemoryStore()
    mls = client_mls(suites=[suite], store=store)
    conn = MLSTLSConnection(socket.create_connection(("127.0.0.1", port), timeout=120))
    conn.mls_update_policy = UpdatePolicy(initial_update=False)
    conn.handshakeClientMLS(mls, settings=tls13_settings())
    first = {"resumed": conn.resumed, "start_epoch": conn.mls_epoch}
    _exchange(conn, b"hello")
    _exchange(conn, b"update-please")  # the server starts an epoch change
    _exchange(conn, b"after server update")
    conn.mls_update(wait=True)         # the client starts one
    _exchange(conn, b"after client update")
    first.update(_finish(conn), epoch_changes=conn.mls_epoch_changes)
    session = conn.session
    conn.close()

    conn = MLSTLSConnection(socket.create_connection(("127.0.0.1", port), timeout=120))
    conn.mls_update_policy = UpdatePolicy(initial_update=False)
    conn.handshakeClientMLSResume(session, mls, settings=tls13_settings())
    second = {"resumed": conn.resumed, "start_epoch": conn.mls_epoch}
    _exchange(conn, b"resumed")
    second.update(_finish(conn))
    conn.close()
    print(json.dumps([first, second]), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], int(sys.argv[3], 0))
    else:
        connect(sys.argv[2], int(sys.argv[3], 0), int(sys.argv[4]))
