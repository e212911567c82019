"""Helper process of the post-handshake tests: a stream peer and a fleet server.

    ph_peer.py stream-server PKI PORT COUNT UPDATE_EVERY
    ph_peer.py stream-client PKI PORT COUNT UPDATE_EVERY
    ph_peer.py fleet-server PKI PORTFILE STORE_SPEC PREFIX_HEX

Stream peers print one JSON line at the end: epoch, exporter, counters. The stream is
numbered, checksummed frames both ways while both sides start epoch changes and TLS
KeyUpdates; every frame is checked on arrival (order, length, checksum).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time

from tlslite.constants import KeyUpdateMessageType

from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.post_handshake import MLSUpdateInFlight
from tlsutil import client_mls, load_pki, server_mls, tls13_settings

TICKET_KEYS = [bytearray(b"f" * 32)]
END = b""


def frame(seq: int, data: bytes) -> bytes:
    body = struct.pack(">I", seq) + data
    body += hashlib.sha256(body).digest()[:8]
    return struct.pack(">I", len(body)) + body


class Reader(threading.Thread):
    """Reads frames until the END frame; checks each one."""

    def __init__(self, conn: MLSTLSConnection) -> None:
        super().__init__(daemon=True)
        self.conn = conn
        self.buf = bytearray()
        self.received = 0
        self.error: "BaseException | None" = None

    def next_frame(self) -> bytes:
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = bytes(self.buf[4:4 + n])
                    del self.buf[:4 + n]
                    return body
            data = self.conn.read()
            if not data:
                raise EOFError("connection closed in the middle of the stream")
            self.buf += data

    def run(self) -> None:
        try:
            while True:
                body = self.next_frame()
                if body == END:
                    return
                seq = struct.unpack(">I", body[:4])[0]
                if seq != self.received:
                    raise AssertionError(f"frame {seq} where {self.received} was due")
                if hashlib.sha256(body[:-8]).digest()[:8] != body[-8:]:
                    raise AssertionError(f"frame {seq}: checksum mismatch")
                self.received += 1
        except BaseException as e:  # raised by the main thread at the end
            import traceback
            traceback.print_exc()
            self.error = e


def stream(conn: MLSTLSConnection, count: int, update_every: int, client: bool) -> dict:
    for s in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        conn.sock.socket.setsockopt(socket.SOL_SOCKET, s, 4 << 20)
    rng = random.Random(1 if client else 2)
    reader = Reader(conn)
    reader.start()
    updates = key_updates = 0
    want_update = False
    for i in range(count):
        if i and i % update_every == (0 if client else update_every // 2):
            want_update = True
        if want_update:
            deadline = time.monotonic() + 10
            while conn.mls_update_in_flight and time.monotonic() < deadline \
                    and reader.is_alive():
                time.sleep(0.001)  # the reader thread completes the change in flight
            try:
                conn.mls_update()
                updates += 1
                want_update = False
            except MLSUpdateInFlight:
                pass
        if i and i % 37 == 0:
            deadline = time.monotonic() + 10
            while conn.mls_update_in_flight and time.monotonic() < deadline \
                    and reader.is_alive():
                time.sleep(0.001)
            try:
                for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
                    pass
                key_updates += 1
            except MLSUpdateInFlight:
                pass
        conn.write(frame(i, os.urandom(rng.randint(1, 3000))))
    conn.write(struct.pack(">I", 0))  # END
    reader.join(120)
    if reader.error is not None:
        raise reader.error
    assert reader.received == count, (reader.received, count)
    # Quiet end: finish what is in flight, then one deliberate crossing (both sides
    # commit before reading the other's commit), then the closing frames.
    conn.mls_wait()
    conn.mls_update()
    conn.mls_wait()
    conn.write(struct.pack(">I", 0))
    tail = Reader(conn)
    tail.buf = reader.buf
    tail.run()
    if tail.error is not None:
        raise tail.error
    return {"epoch": conn.mls_epoch, "exporter": conn.mls_exporter(b"end", b"", 32).hex(),
            "received": reader.received, "updates": updates + 1, "key_updates": key_updates,
            "changes": conn.mls_epoch_changes, "crossed": conn.mls_crossed_updates,
            "tls_exporter": bytes(conn.keyingMaterialExporter(b"EXPORTER-end", 16)).hex()}


def stream_server(pki: str, port: int, count: int, update_every: int) -> None:
    chain, key = load_pki(pki)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(1)
    sock, _ = lsock.accept()
    sock.settimeout(120)
    conn = MLSTLSConnection(sock)
    conn.handshakeServerMLS(server_mls(), certChain=chain, privateKey=key,
                            settings=tls13_settings())
    print(json.dumps(stream(conn, count, update_every, False)), flush=True)
    conn.close()


def stream_client(pki: str, port: int, count: int, update_every: int) -> None:
    deadline = time.time() + 30
    while True:  # the server process may still be starting
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=120)
            break
        except ConnectionRefusedError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    conn = MLSTLSConnection(sock)
    conn.handshakeClientMLS(client_mls(), settings=tls13_settings())
    print(json.dumps(stream(conn, count, update_every, True)), flush=True)
    conn.close()


def fleet_server(pki: str, portfile: str, spec: str, prefix: str) -> None:
    """One server of a fleet: the shared store, the shared ticket keys."""
    from tlslite_mls.store import open_store
    from tlslite_mls.tls.server import MLSServer
    chain, key = load_pki(pki)
    store = open_store(spec, prefix=bytes.fromhex(prefix))
    server = MLSServer(("127.0.0.1", 0), chain, key, server_mls(store=store),
                       settings=tls13_settings(ticketKeys=TICKET_KEYS))
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.address[1]))
    os.replace(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stream-server":
        stream_server(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "stream-client":
        stream_client(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "fleet-server":
        fleet_server(*args)
    else:
        raise SystemExit(f"unknown command {cmd}")
