"""Command line pieces of MLS-TLS mode: echo server, client, demo and benchmark.

Meant to be wired into ``python -m tlslite_mls server/client --mls-tls`` (the server
and client parsers of :mod:`tlslite_mls.cli` plus :func:`add_arguments`), the demo
(:func:`demo_mls_tls`) and ``python -m tlslite_mls bench`` (:func:`bench_mls_tls`).
It also runs on its own::

    python -m tlslite_mls.mlstls.cli server [options] HOST:PORT
    python -m tlslite_mls.mlstls.cli client [options] HOST:PORT
    python -m tlslite_mls.mlstls.cli demo
    python -m tlslite_mls.mlstls.cli bench [-n N]

Behaviour matches the extension mode's: the server echoes every chunk, the client
sends stdin, writes the replies to stdout and prints one summary line on stderr
(mode, MLS suite, epoch, peer identity). Without credential options each run makes
a throw-away basic identity.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import select
import socket
import statistics
import sys
import threading
import time
from typing import Any, Callable, Optional, Sequence, TextIO

from ..mls.crypto import get_cipher_suite
from ..serving import ConnectionServer, Guard, short_identity
from .connection import MLSTLSChannel, MLSTLSClient, MLSTLSServer, UpdateInFlight
from .settings import DEFAULT_MLS_TLS_SUITES, MLSTLSClientSettings, MLSTLSServerSettings
from .suites import UnsupportedSuiteError, record_suite

log = logging.getLogger("tlslite_mls.server")

__all__ = ["add_arguments", "make_server_settings", "make_client_settings",
           "summary",
           "cmd_server", "cmd_client", "echo", "demo_mls_tls", "bench_mls_tls", "main"]


# ----------------------------------------------------------------------------
# options and settings
# ----------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser, role: str) -> None:
    """Add the options only MLS-TLS has to a server (``role="server"``) or client parser.

    The common ones (``--suite``, ``--identity``, ``--mls-cert``/``--mls-key``,
    ``--expect-identity``, ``--trust-anchor``, ``--server-name``, ``--timeout``,
    ``--linger``, ``--count``, the address) are the extension mode's.
    """
    parser.add_argument("--store", default=None,
                        help="state store (both modes): memory:, sqlite:///PATH or "
                             "redis://...; one that cannot be opened ends the command")
    parser.add_argument("--max-stored-groups", type=int, default=None, metavar="N",
                        help="groups the --store keeps for resumption at most, the least "
                             "recently written evicted first (default 100000)")
    g = parser.add_argument_group("MLS-TLS mode")
    g.add_argument("--update-every", type=int, default=0, metavar="N",
                   help="start an MLS epoch change after every N chunks (0: never)")
    if role == "client":
        g.add_argument("--session-key", default=None,
                       help="keep the session in --store under this name (for --resume)")
        g.add_argument("--resume", action="store_true",
                       help="resume the session kept under --session-key")
        g.add_argument("--no-initial-update", action="store_true",
                       help="skip the client's epoch change right after the handshake")


def _identity(args: argparse.Namespace, role: str) -> tuple[list[int], Any, bytes]:
    from ..cli import mls_identity
    ns = argparse.Namespace(**vars(args))
    if not getattr(ns, "suite", None):
        # The extension mode's default suites include none this mode refuses, but
        # its order does not prefer ChaCha20 (the fastest record AEAD here).
        ns.suite = None if (getattr(ns, "mls_cert", None) or getattr(ns, "mls_key", None)
                            or getattr(ns, "identity_file", None)) \
            else list(DEFAULT_MLS_TLS_SUITES)
    for name in ("identity", "mls_cert", "mls_key", "identity_file"):
        if not hasattr(ns, name):
            setattr(ns, name, None)
    suites, cred, key = mls_identity(ns, role)
    if (getattr(args, "identity_file", None) or getattr(args, "mls_cert", None)) \
            and not getattr(args, "suite", None):
        # Of the suites the identity's key signs for, those this mode can use (its own
        # suite stays first; if this mode cannot use it, validate() says so).
        suites = suites[:1] + [s for s in suites[1:] if _usable(s)]
    return suites, cred, key


def _host(args: argparse.Namespace) -> Optional[str]:
    address = getattr(args, "address", None)
    return address[0] if address else None


def _usable(suite: int) -> bool:
    try:
        record_suite(suite)
    except UnsupportedSuiteError:
        return False
    return True


def _store(args: argparse.Namespace) -> Any:
    from ..cli import cli_store
    return cli_store(args)


def make_server_settings(args: argparse.Namespace) -> MLSTLSServerSettings:
    """Server settings from parsed options (validated: a bad suite fails here). Clients
    are judged by the same options as in the extension mode (``--pin``,
    ``--trust-anchor``, ``--expect-identity``); with none, any client is accepted."""
    from ..cli import peer_authentication, validated
    suites, cred, key = _identity(args, "server")
    return validated(MLSTLSServerSettings(suites=suites, credential=cred, signature_key=key,
                                          store=_store(args),
                                          **peer_authentication(args, "client")))


def make_client_settings(args: argparse.Namespace) -> tuple[MLSTLSClientSettings, str]:
    """Client settings and what they verify about the server, from parsed options."""
    from ..cli import peer_authentication, validated
    suites, cred, key = _identity(args, "client")
    session_key = getattr(args, "session_key", None)
    settings = validated(MLSTLSClientSettings(
        suites=suites, credential=cred, signature_key=key, store=_store(args),
        timeout=getattr(args, "timeout", 30.0),
        # An x509 server credential must carry this name (MLS-TLS has no SNI).
        server_name=getattr(args, "server_name", None) or _host(args),
        session_key=session_key.encode() if session_key else None,
        resume=bool(getattr(args, "resume", False)),
        initial_update=not getattr(args, "no_initial_update", False),
        **peer_authentication(args, "server")))
    return settings, settings.peer_authentication()


def _suite_name(suite: Optional[int]) -> str:
    if suite is None:
        return "-"
    return f"0x{suite:04x} {get_cipher_suite(suite).name}"


def summary(conn: MLSTLSChannel) -> str:
    """One line: mode, MLS suite, record protection, epoch, peer identity."""
    how = "resumed" if conn.resumed else "new session"
    return (f"MLS-TLS ({how}), MLS suite {_suite_name(conn.cipher_suite)}, records "
            f"{conn.record_cipher_suite}, epoch {conn.epoch}, peer identity "
            f"{short_identity(conn.peer_identity or b'')}")


# ----------------------------------------------------------------------------
# server
# ----------------------------------------------------------------------------
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


def _echo_handler(settings: MLSTLSServerSettings, update_every: int,
                  keylog: Optional[str] = None) -> Callable[[socket.socket, Guard], None]:
    """One connection: handshake (under the guard's deadline), summary line, echo."""
    def handle(sock: socket.socket, guard: Guard) -> None:
        conn = MLSTLSServer(sock, settings, keylog=keylog)
        try:
            conn.handshake()
            guard.handshake_done()
            log.info("%s, client credential: %s, from %s", summary(conn),
                     settings.peer_authentication(), guard.peer)
            chunks = echo(conn, update_every)
            log.info("closed after %d chunks at epoch %s (%d epoch changes, %d started "
                     "here), %s", chunks, conn.epoch, conn.epoch_changes, conn.updates_started,
                     guard.peer)
        finally:
            conn.close()
    return handle


def cmd_server(args: argparse.Namespace, ready: Optional[threading.Event] = None,
               bound: Optional[list] = None) -> int:
    """The echo server: ``--count`` connections one at a time, or forever in threads."""
    from ..serving import limits_from_args, limits_text, log_to_stderr
    from ..store import store_name
    log_to_stderr()
    limits = limits_from_args(args)
    settings = make_server_settings(args)
    host, port = args.address
    srv = socket.create_server((host, port), backlog=128)
    if bound is not None:
        bound.append(srv.getsockname()[1])
    from ..cli import identity_text
    spec = getattr(args, "store", None)
    log.info("listening on %s:%d, MLS-TLS, suites %s, identity %s, client credential: %s, "
             "store %s, %s", host, srv.getsockname()[1],
             ", ".join(f"0x{s:04x}" for s in settings.suites),
             identity_text(settings.credential), settings.peer_authentication(),
             store_name(spec) if spec else "memory (default)", limits_text(limits))
    if ready is not None:
        ready.set()
    server = ConnectionServer(srv, _echo_handler(settings, getattr(args, "update_every", 0) or 0,
                                                   getattr(args, "keylog", None)),
                              mode="MLS-TLS", limits=limits)
    try:
        server.serve(count=getattr(args, "count", 0) or 0)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


# ----------------------------------------------------------------------------
# client
# ----------------------------------------------------------------------------
def _pump(conn: MLSTLSChannel, stdin: Any, stdout: Any, linger: float,
          update_every: int) -> None:
    """stdin -> server, server -> stdout; an epoch change every ``update_every`` chunks."""
    from ..cli import pump_stdio
    chunks = 0

    def send(data: bytes) -> None:
        nonlocal chunks
        conn.write(data)
        chunks += 1
        if update_every and chunks % update_every == 0 and not conn.update_in_flight:
            conn.start_update()

    def receive() -> Optional[bytes]:
        if not conn.pending() and not conn.pump_one():
            return None  # close_notify
        return conn.read_buffered(16384)

    pump_stdio(conn.sock, stdin, stdout, linger, buffered=conn.pending, send=send,
               receive=receive, closed=lambda: conn.closed)


def cmd_client(args: argparse.Namespace) -> int:
    """Send stdin, print replies; one summary line on stderr. 1 if the handshake fails."""
    settings, how = make_client_settings(args)
    host, port = args.address
    try:
        sock = socket.create_connection((host, port), timeout=settings.timeout)
    except OSError as exc:
        print(f"client: cannot connect: {exc}", file=sys.stderr, flush=True)
        return 1
    conn = MLSTLSClient(sock, settings, keylog=getattr(args, "keylog", None))
    try:
        conn.handshake()
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        print(f"client: handshake failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        return 1
    print(f"{summary(conn)}, server credential: {how}", file=sys.stderr, flush=True)
    sock.settimeout(None)
    try:
        _pump(conn, sys.stdin, sys.stdout.buffer, getattr(args, "linger", 2.0),
              getattr(args, "update_every", 0) or 0)
    except Exception as exc:  # noqa: BLE001
        print(f"client: connection failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        return 1
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
    return 0


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


# ----------------------------------------------------------------------------
# standalone entry point
# ----------------------------------------------------------------------------
def main(argv: Optional[Sequence[str]] = None) -> int:
    """``server``/``client`` are the main command line's with ``--mls-tls``;
    ``demo`` and ``bench [-n N] [--suite S]`` run this mode's parts alone."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("server", "client"):
        from ..cli import main as cli_main
        return cli_main([args[0], "--mls-tls", *args[1:]])
    p = argparse.ArgumentParser(prog="python -m tlslite_mls.mlstls.cli",
                                description="MLS-TLS mode (MLS replaces the TLS handshake); "
                                            "server and client take the options of "
                                            "'python -m tlslite_mls server|client --mls-tls'")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("server", help="echo server")
    sub.add_parser("client", help="stdin to the server, replies to stdout")
    sub.add_parser("demo", help="server and client on 127.0.0.1, with an account")
    b = sub.add_parser("bench", help="handshakes/s and epoch changes/s on loopback")
    b.add_argument("-n", type=int, default=20)
    b.add_argument("--suite", type=lambda s: int(s, 0), default=0x0003)
    parsed = p.parse_args(args)
    if parsed.command == "demo":
        return demo_mls_tls()
    result = bench_mls_tls(parsed.n, parsed.suite)
    for key, value in result.items():
        print(f"{key:22} {value}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
