"""Loopback captures for the Wireshark and decode tests: tshark writes the packets of
given ports while a connection of either mode runs, with epoch changes and a
resumption; key logs through SSLKEYLOGFILE's mechanism."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from tlslite import HandshakeSettings

from helpers import require
from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mlstls import MLSTLSClient, MLSTLSClientSettings, MLSTLSServer
from tlslite_mls.mlstls.settings import MLSTLSServerSettings
from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.server import MLSServer


def require_capture() -> None:
    require(shutil.which("tshark") is not None, "tshark (Debian tshark)")
    require(os.geteuid() == 0, "root, to capture on the loopback interface")


@contextlib.contextmanager
def capture(path: Path, ports: list[int]):
    """tshark on loopback, only the given ports, for the duration of the block."""
    bpf = " or ".join(f"tcp port {p}" for p in ports)
    proc = subprocess.Popen(["tshark", "-i", "lo", "-f", bpf, "-w", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "Capturing on" in line or not line:
                break
        assert proc.poll() is None, "tshark did not start capturing"
        time.sleep(1.5)  # "Capturing on" comes a moment before packets are seen
        yield
        time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(30)


def extension_mode_session(port_holder: list, keys: Path, pki, client_mls, server_mls,
                           tls13_settings) -> None:
    """Handshake, the client's first epoch change, one more, then a resumption."""
    settings = HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.ticketKeys = [bytearray(os.urandom(32))]
    srv = MLSServer(("127.0.0.1", port_holder[0]), pki.chain(), pki.key(), server_mls(),
                    settings=settings).start()
    try:
        mls = client_mls()
        c = MLSTLSConnection(socket.create_connection(("127.0.0.1", port_holder[0]), timeout=30),
                             keylog=str(keys))
        c.handshakeClientMLS(mls, settings=tls13_settings())
        c.write(b"one")
        assert c.read() == b"one"
        if c.mls_update_in_flight:
            c.mls_wait()
        c.mls_update(wait=True)
        c.write(b"two")
        assert c.read() == b"two"
        port_holder.append(c.mls_epoch)
        session = c.session
        c.close()
        c2 = MLSTLSConnection(socket.create_connection(("127.0.0.1", port_holder[0]), timeout=30),
                              keylog=str(keys))
        c2.handshakeClientMLSResume(session, mls, settings=tls13_settings())
        c2.write(b"three")
        assert c2.read() == b"three"
        port_holder.append(c2.mls_epoch)
        c2.close()
    finally:
        srv.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mls_tls_session(port: int, keys: Path) -> list[int]:
    """A new MLS-TLS session with one more epoch change, then its resumption; the
    client's key log. Returns the client's epochs at the end of each connection."""
    srv = socket.create_server(("127.0.0.1", port))
    server_store, client_store = MemoryStore(), MemoryStore()

    def serve():
        for _ in range(2):
            sock, _ = srv.accept()
            with sock:
                conn = MLSTLSServer(sock, MLSTLSServerSettings(store=server_store))
                while data := conn.read():
                    conn.write(data)
                conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    epochs = []
    try:
        for resume in (False, True):
            c = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30),
                             MLSTLSClientSettings(auth_policy=AcceptAnyCredential(),
                                                  store=client_store, session_key=b"capture",
                                                  resume=resume), keylog=str(keys))
            c.write(b"hello")
            assert c.read() == b"hello"
            if not resume:
                c.start_update()
                c.write(b"x")
                assert c.read() == b"x"
            epochs.append(c.epoch)
            c.close()
        t.join(30)
    finally:
        srv.close()
    return epochs
