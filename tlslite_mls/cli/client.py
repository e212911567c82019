"""``client``: stdin to the server, replies to stdout, one summary line on stderr.

Extension mode here; ``--mls-tls`` runs :func:`tlslite_mls.cli.mlstls.run_client`.
A server that answers the ClientHello with ``decode_error`` before anything else is
taken for an MLS-TLS server (that is how one rejects a ClientHello), and the error
says to add ``--mls-tls``.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Any, Optional

from tlslite.constants import AlertDescription
from tlslite.errors import TLSRemoteAlert

from ..tls import MLSClientSettings, MLSTLSConnection
from .errors import CLIError, explain, usage_error
from .network import connect
from .identities import (client_authentication, is_ip, mls_identity, cli_store,
                         server_name, validated)
from .output import (client_summary, extension_exporter, lingering_close, print_exporter,
                     pump_stdio, stream)
from .server import tls_settings

__all__ = ["run", "make_client_settings"]


def make_client_settings(args: argparse.Namespace) -> tuple[MLSClientSettings, str]:
    """Validated client settings, and what they verify about the server (summary line)."""
    suites, cred, key = mls_identity(args, "client")
    settings = validated(MLSClientSettings(
        mode=args.mls, suites=suites, credential=cred, signature_key=key,
        send_certificates=args.send_certificates,
        store=cli_store(args), **client_authentication(args)))
    return settings, settings.peer_authentication(server_name(args)) \
        if args.mls != "off" else "-"


def _mismatch(exc: BaseException, conn: MLSTLSConnection) -> Optional[CLIError]:
    """An MLS-TLS server rejects a TLS ClientHello with ``decode_error`` (it expected a
    TwoPartyMessage); no TLS 1.3 server answers our well-formed one that way."""
    if isinstance(exc, TLSRemoteAlert) and exc.description == AlertDescription.decode_error \
            and getattr(conn, "version", None) in (None, (0, 0)):
        return CLIError("the server speaks MLS-TLS (it answered the TLS ClientHello with "
                        "decode_error)", "add --mls-tls")
    return None


def _pump(conn: MLSTLSConnection, sock: socket.socket, stdin: Any, stdout: Any,
          linger: float, update_every: int) -> None:
    chunks = 0

    def send(data: bytes) -> None:
        nonlocal chunks
        conn.write(data)
        chunks += 1
        if update_every and conn.mls_negotiated and chunks % update_every == 0 \
                and not conn.mls_update_in_flight:
            conn.mls_update()

    def receive() -> Optional[bytes]:
        # An empty read is the end only once the peer closed: the fast read returns
        # nothing for a record without application data (a session ticket).
        data = conn.read(max=16384)
        if data:
            return bytes(data)
        return None if conn.closed else b""
    pump_stdio(sock, stdin, stdout, linger,
               buffered=lambda: bool(getattr(conn, "_readBuffer", None)),
               send=send, receive=receive, closed=lambda: conn.closed, bounded_reads=True)


def run(args: argparse.Namespace) -> int:
    """The extension-mode client (options already checked)."""
    mls, how = make_client_settings(args)
    resume = None
    if args.resume:
        from .sessions import load_session
        resume = load_session(mls.store, args.session_key)
        if resume is None:
            usage_error(f"no session kept under {args.session_key!r} in {args.store}",
                        "run once without --resume (against a server with --tickets)")
    host, port = args.address
    sock = connect(host, port, args.timeout)
    conn = MLSTLSConnection(sock, mls_settings=mls, keylog=args.keylog)
    conn.closeSocket = False  # closed here, after a fatal alert without a reset
    name = server_name(args)
    # SNI carries host names only (RFC 6066 section 3); an IP is checked all the same.
    hello = {"settings": tls_settings(), "serverName": None if is_ip(name) else name,
             "alpn": [p.encode() for p in args.alpn] if args.alpn else None}
    try:
        if resume is not None:
            conn.handshakeClientMLSResume(resume, **hello)
        else:
            conn.handshakeClientCert(**hello)
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        lingering_close(sock)
        mismatch = _mismatch(exc, conn)
        if mismatch:
            raise mismatch from None
        print(f"client: handshake failed: {explain(exc)}", file=sys.stderr, flush=True)
        return 1
    print(client_summary(conn, how, mls.insecure), file=sys.stderr, flush=True)
    print_exporter(args.exporter_label, args.exporter_length, *extension_exporter(conn))
    code = stream(lambda: _pump(conn, sock, sys.stdin, sys.stdout.buffer, args.linger,
                                args.update_every), conn, sock)
    if args.session_key:
        from .sessions import save_session
        if not save_session(mls.store, args.session_key, conn.session):
            print("client: the server sent no session ticket (start it with --tickets): "
                  "nothing kept for --resume", file=sys.stderr, flush=True)
    return code
