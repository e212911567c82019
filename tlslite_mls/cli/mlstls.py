"""``server --mls-tls`` and ``client --mls-tls``: MLS-TLS mode's echo server and client.

MLS replaces the TLS handshake; the options mean what they mean in the extension
mode (identity, peer authentication, store, limits, exporter), the extension-only
ones are refused by :mod:`tlslite_mls.cli.checks` before this runs.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
from typing import Any, Callable, Optional

from ..mlstls.connection import MLSTLSChannel, MLSTLSClient, MLSTLSServer, UpdateInFlight
from ..mlstls.demo import echo
from ..mlstls.errors import MLSTLSRemoteAlert
from ..mlstls.settings import (DEFAULT_MLS_TLS_SUITES, MLSTLSClientSettings,
                               MLSTLSServerSettings)
from ..mlstls.suites import UnsupportedSuiteError, record_suite
from ..serving import Guard, limits_from_args, limits_text
from .errors import CLIError
from .network import connect, listen, serve
from .identities import (identity_text, mls_identity, cli_store, peer_authentication,
                         validated)
from .output import mls_tls_summary, print_exporter, pump_stdio, stream

log = logging.getLogger("tlslite_mls.server")

__all__ = ["make_server_settings", "make_client_settings", "run_server", "run_client"]


def _usable(suite: int) -> bool:
    try:
        record_suite(suite)
    except UnsupportedSuiteError:
        return False
    return True


def _identity(args: argparse.Namespace, role: str) -> tuple[list[int], Any, Any]:
    from_file = bool(args.identity_file or args.mls_cert or args.mls_key)
    # The extension mode's default suites do not prefer ChaCha20 (the fastest record
    # AEAD here), so this mode has its own default.
    suites, cred, key = mls_identity(args, role, None if from_file
                                     else list(DEFAULT_MLS_TLS_SUITES))
    if (args.identity_file or args.mls_cert) and not args.suite:
        # Of the suites the identity's key signs for, those this mode can use (its own
        # suite stays first; if this mode cannot use it, validate() says so).
        suites = suites[:1] + [s for s in suites[1:] if _usable(s)]
    return suites, cred, key


def make_server_settings(args: argparse.Namespace) -> MLSTLSServerSettings:
    """Server settings from parsed options (validated: a bad suite fails here)."""
    suites, cred, key = _identity(args, "server")
    return validated(MLSTLSServerSettings(suites=suites, credential=cred, signature_key=key,
                                          store=cli_store(args),
                                          **peer_authentication(args, "client")))


def make_client_settings(args: argparse.Namespace) -> tuple[MLSTLSClientSettings, str]:
    """Client settings and what they verify about the server, from parsed options."""
    suites, cred, key = _identity(args, "client")
    settings = validated(MLSTLSClientSettings(
        suites=suites, credential=cred, signature_key=key, store=cli_store(args),
        timeout=args.timeout,
        # An x509 server credential must carry this name (MLS-TLS has no SNI).
        server_name=args.server_name or args.address[0],
        session_key=args.session_key.encode() if args.session_key else None,
        resume=args.resume, initial_update=not args.no_initial_update,
        **peer_authentication(args, "server")))
    return settings, settings.peer_authentication()


def _echo_handler(settings: MLSTLSServerSettings, args: argparse.Namespace
                  ) -> Callable[[socket.socket, Guard], Callable[[], None]]:
    """One connection: handshake (under the guard's deadline), summary line, echo."""
    def handle(sock: socket.socket, guard: Guard) -> Callable[[], None]:
        conn = MLSTLSServer(sock, settings, keylog=args.keylog)
        try:
            conn.handshake()
            guard.handshake_done()
            log.info("%s, client credential: %s, from %s", mls_tls_summary(conn),
                     settings.peer_authentication(), guard.peer)
            print_exporter(args.exporter_label, args.exporter_length, conn.exporter,
                           f"MLS-Exporter (epoch {conn.epoch})")
        except BaseException:
            conn.close()
            raise

        def serve() -> None:  # in a thread of its own (serving.ConnectionServer)
            try:
                chunks = echo(conn, args.update_every)
                log.info("closed after %d chunks at epoch %s (%d epoch changes, %d started "
                         "here), %s", chunks, conn.epoch, conn.epoch_changes,
                         conn.updates_started, guard.peer)
            finally:
                conn.close()
        return serve
    return handle


def run_server(args: argparse.Namespace, ready: Optional[threading.Event] = None,
               bound: Optional[list] = None) -> int:
    """The echo server: ``--count`` connections one at a time, or forever in threads."""
    from ..store import store_name
    limits = limits_from_args(args)
    settings = make_server_settings(args)
    host, port = args.address
    srv = listen(host, port)
    if bound is not None:
        bound.append(srv.getsockname()[1])
    log.info("listening on %s:%d, MLS-TLS, suites %s, identity %s, client credential: %s, "
             "store %s, %s", host, srv.getsockname()[1],
             ", ".join(f"0x{s:04x}" for s in settings.suites),
             identity_text(settings.credential), settings.peer_authentication(),
             store_name(args.store) if args.store else "memory (default)", limits_text(limits))
    if ready is not None:
        ready.set()
    return serve(srv, _echo_handler(settings, args), "MLS-TLS", limits, args.count)


def _pump(conn: MLSTLSChannel, stdin: Any, stdout: Any, linger: float,
          update_every: int) -> None:
    """stdin -> server, server -> stdout; an epoch change every ``update_every`` chunks."""
    chunks = 0

    def send(data: bytes) -> None:
        nonlocal chunks
        conn.write(data)
        chunks += 1
        if update_every and chunks % update_every == 0 and not conn.update_in_flight:
            try:
                conn.start_update()
            except UpdateInFlight:
                pass

    def receive() -> Optional[bytes]:
        if not conn.pending() and not conn.pump_one():
            return None  # close_notify
        return conn.read_buffered(16384)

    pump_stdio(conn.sock, stdin, stdout, linger, buffered=conn.has_unread, send=send,
               receive=receive, closed=lambda: conn.closed)


def _mismatch(exc: BaseException, answered: bool) -> Optional[str]:
    """The hint when the server seems to speak TLS rather than MLS-TLS: it rejected
    our first flight with ``unexpected_message`` (a ClientHello was expected), or
    closed without a word."""
    if isinstance(exc, MLSTLSRemoteAlert) and exc.description == 10:
        return ("the server speaks TLS, not MLS-TLS (it answered the MLS-TLS first flight "
                "with unexpected_message); drop --mls-tls")
    if not answered and "closed" in str(exc):
        return ("the server closed the connection without answering the MLS-TLS first "
                "flight; if it speaks TLS (the extension mode), drop --mls-tls")
    return None


def run_client(args: argparse.Namespace) -> int:
    """Send stdin, print replies; one summary line on stderr. 1 if the handshake fails."""
    settings, how = make_client_settings(args)
    host, port = args.address
    sock = connect(host, port, settings.timeout)
    conn = MLSTLSClient(sock, settings, keylog=args.keylog)
    try:
        conn.handshake()
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        hint = _mismatch(exc, answered=conn.epoch is not None)
        if hint:
            raise CLIError(hint) from None
        print(f"client: handshake failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        return 1
    print(f"{mls_tls_summary(conn)}, server credential: {how}", file=sys.stderr, flush=True)
    print_exporter(args.exporter_label, args.exporter_length, conn.exporter,
                   f"MLS-Exporter (epoch {conn.epoch})")
    return stream(lambda: _pump(conn, sys.stdin, sys.stdout.buffer, args.linger,
                                args.update_every), conn, sock)
