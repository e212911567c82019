"""MLS-TLS mode told and measured: the echo loop, the demo and the benchmark.

:func:`demo_mls_tls` is part 2 of ``python -m tlslite_mls demo``; :func:`bench_mls_tls`
is the MLS-TLS column of ``python -m tlslite_mls bench modes``; :func:`echo` is the
echo loop of both and of ``server --mls-tls``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import socket
import statistics
import sys
import threading
import time
from typing import Optional, TextIO

from ..mls.crypto import get_cipher_suite
from .connection import MLSTLSChannel, MLSTLSClient, MLSTLSServer, UpdateInFlight
from .settings import MLSTLSClientSettings, MLSTLSServerSettings

__all__ = ["echo", "demo_mls_tls", "bench_mls_tls"]


def _suite_name(suite: Optional[int]) -> str:
    if suite is None:
        return "-"
    return f"0x{suite:04x} {get_cipher_suite(suite).name}"


def echo(conn: MLSTLSChannel, update_every: int = 0,
         update_on: Optional[bytes] = None) -> int:
    """Echo every chunk until close_notify; start an epoch change every N chunks,
    and (before echoing it) on a chunk equal to ``update_on``."""
    chunks = 0
    while True:
        data = conn.read()
        if not data:
            return chunks
        if update_on is not None and data == update_on:
            conn.start_update()
        conn.write(data)
        chunks += 1
        if update_every and chunks % update_every == 0:
            try:
                conn.start_update()
            except UpdateInFlight:
                pass  # the next chunk will do
            except (BrokenPipeError, ConnectionResetError):
                # The peer hung up after its last chunk while our commit was on the
                # way (a large post-quantum commit takes several records): the end
                # of the stream, not a failure of the connection.
                return chunks



# ----------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------
def _fingerprint(conn: MLSTLSChannel) -> str:
    # A hash of an exporter output: the demo never prints key material itself.
    return hashlib.sha256(conn.exporter(b"demo fingerprint", b"", 32)).hexdigest()[:24]


def demo_mls_tls(out: TextIO = sys.stdout, suite: int = 0x0003, updates: int = 3) -> int:
    """Handshake, data and epoch changes both ways on 127.0.0.1, told step by step."""
    from ..mls.auth import PublicIdentity
    from ..mls.credentials import Credential
    from ..store import MemoryStore
    w = out.write
    cs = get_cipher_suite(suite)
    s_sig, s_pub = cs.generate_signature_key_pair()
    c_sig, _ = cs.generate_signature_key_pair()
    server_settings = MLSTLSServerSettings(suites=[suite],
                                           credential=Credential.basic(b"demo-server"),
                                           signature_key=s_sig, store=MemoryStore())
    client_store = MemoryStore()

    def client_settings(resume: bool) -> MLSTLSClientSettings:
        return MLSTLSClientSettings(suites=[suite], credential=Credential.basic(b"demo-client"),
                                    signature_key=c_sig,
                                    pinned_keys=[PublicIdentity(s_pub, b"demo-server")],
                                    store=client_store, session_key=b"demo", resume=resume)

    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    server_conns: list[MLSTLSServer] = []
    errors: list[BaseException] = []

    def serve() -> None:
        for _ in range(2):
            sock, _ = srv.accept()
            conn = MLSTLSServer(sock, server_settings)
            server_conns.append(conn)
            try:
                conn.handshake()
                echo(conn, update_on=b"please update")
            except Exception as exc:  # noqa: BLE001 - shown in the account
                errors.append(exc)
            finally:
                conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    w(f"MLS-TLS demo: MLS replaces the TLS handshake, TLS 1.3 records carry the data\n")
    w(f"server  listening on 127.0.0.1:{port}, MLS suite {_suite_name(suite)}\n")
    ok = True
    try:
        start = time.perf_counter()
        conn = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30),
                            client_settings(False))
        conn.handshake()
        took = (time.perf_counter() - start) * 1000
        w(f"client  handshake done in {took:.0f} ms: client_hello(KeyPackage) -> "
          f"server_hello(Welcome), plaintext records\n")
        w(f"  records protected by {conn.record_cipher_suite}, keys from "
          f"MLS-Exporter(\"MLS-TLS c/s ap traffic\")\n")
        w(f"  client identity {conn.local_identity!r}, server identity {conn.peer_identity!r} "
          f"(checked: pinned signature key and name)\n")
        w(f"  epoch {conn.epoch}; the client started its first epoch change at once\n")

        def roundtrip(message: bytes) -> bytes:
            conn.write(message)
            got = b""
            while len(got) < len(message):
                got += conn.read()
            return got

        for i in range(1, updates + 1):
            msg = b"message %d" % i
            echoed = roundtrip(msg)
            ok &= echoed == msg
            w(f"  data    sent {msg!r}, echoed {echoed!r}; epoch now {conn.epoch} "
              f"(send {conn.sending_epoch}, receive {conn.receiving_epoch})\n")
            if i % 2:
                w("  update  server starts an epoch change (connection_update, then markers)\n")
                ok &= roundtrip(b"please update") == b"please update"
            else:
                w("  update  client starts an epoch change\n")
                conn.start_update()
        echoed = roundtrip(b"last message")
        ok &= echoed == b"last message"
        server = server_conns[0]
        fp_c, fp_s = _fingerprint(conn), _fingerprint(server)
        w(f"  data    sent b'last message', echoed {echoed!r}\n")
        w(f"  epochs  client {conn.epoch}, server {server.epoch}; "
          f"{conn.epoch_changes} epoch changes seen by the client\n")
        w(f"  exporter fingerprint client {fp_c}, server {fp_s} "
          f"{'(equal)' if fp_c == fp_s else '(DIFFERENT!)'}\n")
        ok &= fp_c == fp_s and conn.epoch == server.epoch
        epoch_before = conn.epoch
        conn.sock.shutdown(socket.SHUT_RDWR)  # a cut: no close_notify
        conn.sock.close()
        w(f"client  connection cut at epoch {epoch_before}; reconnecting with resumption\n")
        conn = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30),
                            client_settings(True))
        conn.handshake()
        w(f"  resumed: resumption_request/response as the first flights, "
          f"both directions at once at epoch {conn.epoch}\n")
        echoed = roundtrip(b"after resumption")
        ok &= echoed == b"after resumption" and conn.epoch == epoch_before + 2
        w(f"  data    sent b'after resumption', echoed {echoed!r}\n")
        conn.close()
    except Exception as exc:  # noqa: BLE001 - the account says what broke
        w(f"demo failed: {type(exc).__name__}: {exc}\n")
        ok = False
    t.join(10)
    srv.close()
    for exc in errors:
        if "without close_notify" not in str(exc):
            w(f"server error: {type(exc).__name__}: {exc}\n")
            ok = False
    w("MLS-TLS demo OK\n" if ok else "MLS-TLS demo FAILED\n")
    return 0 if ok else 1


# ----------------------------------------------------------------------------
# benchmark
# ----------------------------------------------------------------------------
def _bench_server(listener: socket.socket, suite: int, connections: int) -> None:
    from ..store import MemoryStore
    settings = MLSTLSServerSettings(suites=[suite], store=MemoryStore(), resumable=False)
    for _ in range(connections):
        sock, _ = listener.accept()
        conn = MLSTLSServer(sock, settings)
        try:
            conn.handshake()
            echo(conn, update_on=b"u")
        except Exception:  # noqa: BLE001 - the client side reports
            pass
        finally:
            conn.close()


def bench_mls_tls(n: int = 20, suite: int = 0x0003) -> dict:
    """Handshakes/s and epoch changes/s on loopback, server in another process.

    Handshakes: ``n`` connections, each a new TCP connection, one at a time (the
    client's initial epoch change is off, so this is the handshake alone). Epoch
    changes: ``n`` on one connection, alternately started by client and server; each
    is timed until both sides switched both directions.
    """
    from ..mls.auth import AcceptAnyCredential
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    ctx = multiprocessing.get_context("fork" if "fork" in
                                      multiprocessing.get_all_start_methods() else "spawn")
    proc = ctx.Process(target=_bench_server, args=(listener, suite, n + 1), daemon=True)
    proc.start()
    listener.close()
    settings = MLSTLSClientSettings(suites=[suite], auth_policy=AcceptAnyCredential(),
                                    initial_update=False)
    times = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            conn = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30),
                                settings)
            conn.handshake()
            times.append(time.perf_counter() - start)
            conn.close()
        conn = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30), settings)
        conn.handshake()
        start = time.perf_counter()
        for i in range(n):
            if i % 2:
                conn.write(b"u")          # the server starts this one
                conn.read()
                conn.write(b".")          # its marker reaches us with the echo above;
                conn.read()               # ours reaches it before this echo
            else:
                conn.start_update()
                conn.write(b".")
                conn.read()
                conn.write(b".")
                conn.read()
        updates = time.perf_counter() - start
        epoch = conn.epoch
        conn.close()
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.terminate()
    total = sum(times)
    return {
        "mode": "mls-tls",
        "suite": f"0x{suite:04x}",
        "record_suite": conn.record_cipher_suite,
        "handshakes": n,
        "handshakes_per_s": round(n / total, 1),
        "handshake_ms_median": round(statistics.median(times) * 1000, 2),
        "epoch_changes": n,
        "epoch_changes_per_s": round(n / updates, 1),
        "final_epoch": epoch,
    }
