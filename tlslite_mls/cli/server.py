"""``server``: the echo server of both modes (``--mls-tls`` selects MLS-TLS).

Extension mode: TLS 1.3 with the MLS handshake extension, classic TLS 1.3 for clients
without it (``--mls``), session tickets with ``--tickets``/``--ticket-key-file``.
A client that sends an MLS-TLS first flight gets ``unexpected_message`` at once
(the extension-mode server does that itself).
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import socket
import threading
from typing import Any, Callable, Optional

from ..serving import Guard, limits_from_args, limits_text
from ..store.factory import store_name
from ..tls import MLSServerSettings, MLSTLSConnection
from .errors import usage_error
from .network import listen, serve
from .identities import (identity_text, mls_identity, cli_store, peer_authentication,
                         tls_identity, validated)
from .output import extension_exporter, print_exporter, summary

log = logging.getLogger("tlslite_mls.server")

__all__ = ["run", "make_server_settings", "tls_settings", "ticket_keys", "server_workers"]

def tls_settings() -> Any:
    """TLS 1.3 only, one x25519 share (enough for classic fallback)."""
    from tlslite import HandshakeSettings
    s = HandshakeSettings()
    s.minVersion = (3, 4)
    s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]
    return s


def ticket_keys(args: argparse.Namespace) -> list[bytes]:
    """``--tickets``: a key for this process; ``--ticket-key-file``: the key in that file
    (64 hex digits), made there (readable by its owner only) if it does not exist."""
    path = getattr(args, "ticket_key_file", None)
    if not path:
        return [os.urandom(32)] if getattr(args, "tickets", False) else []
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read().strip()
    except FileNotFoundError:
        key = os.urandom(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            usage_error(f"{path}: cannot create the ticket key file: {e.strerror or e}")
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
        return [key]
    except OSError as e:
        usage_error(f"{path}: cannot read the ticket key file: {e.strerror or e}")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        usage_error(f"{path}: not a ticket key file (expected 64 hex digits)",
                    "remove it to have a new one made")
    return [key]


def _echo(conn: MLSTLSConnection) -> None:
    while True:
        data = conn.read()
        if not data:
            break
        conn.write(data)


def _update_echo(every: int) -> Callable[[MLSTLSConnection], None]:
    """Echo, starting an MLS epoch change after every ``every`` chunks."""
    def echo_updating(conn: MLSTLSConnection) -> None:
        chunks = 0
        while True:
            data = conn.read()
            if not data:
                break
            conn.write(data)
            chunks += 1
            if conn.mls_negotiated and chunks % every == 0 and not conn.mls_update_in_flight:
                conn.mls_update()
    return echo_updating


def _http(conn: MLSTLSConnection) -> None:
    """Answers the first HTTP/1.x request of a connection with a page saying what was
    negotiated, so that browsers and HTTP clients can be pointed at the server."""
    data = bytes(conn.read() or b"")
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    text = html.escape(f"{summary(conn)}; request: {line}")
    body = (f"<!DOCTYPE html><html><head><title>tlslite_mls</title></head>"
            f"<body><p id=\"tls\">{text}</p></body></html>\n").encode()
    conn.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
               b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)


def _handler(settings: MLSServerSettings, tls: Any, args: argparse.Namespace,
             respond: Callable[[MLSTLSConnection], None], tickets: list[bytes]
             ) -> Callable[[socket.socket, Guard], Callable[[], None]]:
    """One connection: handshake (under the guard's deadline), summary line, then
    ``respond`` (echo, or the HTTP page). ``tickets``: the ticket keys (made once, so
    that every worker process has the same)."""
    handshake_settings = tls_settings()
    handshake_settings.ticketKeys = tickets
    alpn = [p.encode() for p in args.alpn] if args.alpn else None

    def handle(sock: socket.socket, guard: Guard) -> Callable[[], None]:
        conn = MLSTLSConnection(sock, mls_settings=settings, keylog=args.keylog)
        try:
            conn.handshakeServer(certChain=tls.chain, privateKey=tls.key,
                                 settings=handshake_settings, alpn=alpn)
        except Exception:
            if conn.mls_declined_reason:  # why the client got no MLS (it then gave up)
                log.info("MLS declined for %s: %s", guard.peer, conn.mls_declined_reason)
            raise
        guard.handshake_done()
        line = summary(conn)
        if conn.mls_negotiated:
            line += f", client credential: {settings.peer_authentication()}"
        log.info("%s, from %s", line, guard.peer)
        print_exporter(args.exporter_label, args.exporter_length, *extension_exporter(conn))

        def serve() -> None:  # in a thread of its own (serving.ConnectionServer)
            respond(conn)
            conn.close()
        return serve
    return handle


def make_server_settings(args: argparse.Namespace) -> MLSServerSettings:
    suites, cred, key = mls_identity(args, "server")
    return MLSServerSettings(mode=args.mls, suites=suites, credential=cred, signature_key=key,
                             send_certificates=args.send_certificates,
                             store=cli_store(args),
                             **peer_authentication(args, "client"))


def run(args: argparse.Namespace, ready: Optional[threading.Event] = None,
        bound: Optional[list] = None) -> int:
    """The extension-mode server (options already checked)."""
    limits = limits_from_args(args)
    settings = validated(make_server_settings(args))
    tls = tls_identity(args)
    if args.http:
        respond: Callable[[MLSTLSConnection], None] = _http
    elif args.update_every:
        respond = _update_echo(args.update_every)
    else:
        respond = _echo
    keys = ticket_keys(args)
    host, port = args.address
    mode = f"TLS extension mode, MLS {args.mls}"
    workers = server_workers(args)
    if workers > 1:
        from .workers import start_pool
        pool = start_pool(args, lambda: _handler(validated(make_server_settings(args)), tls,
                                                 args, respond, keys), mode, limits, workers)
        address = pool.address
    else:
        srv = listen(host, port)
        address = srv.getsockname()
    if bound is not None:
        bound.append(address[1])
    tickets = "tickets on" + (f" (key in {args.ticket_key_file})" if args.ticket_key_file
                              else "") if (args.tickets or args.ticket_key_file) else "no tickets"
    log.info("listening on %s:%d, MLS %s, identity %s, client credential: %s, store %s, "
             "%s, %s%s", host, address[1], args.mls, identity_text(settings.credential),
             settings.peer_authentication(),
             store_name(args.store) if args.store else "memory (default)", tickets,
             limits_text(limits), f", {workers} worker processes" if workers > 1 else "")
    if ready is not None:
        ready.set()
    if workers > 1:
        from .workers import wait_pool
        return wait_pool(pool)
    return serve(srv, _handler(settings, tls, args, respond, keys), mode, limits, args.count)


def server_workers(args: argparse.Namespace) -> int:
    """``--workers``: explicit, or the number of CPUs when a store several processes
    can share is configured (and connections are not counted), else one."""
    store = args.store or ""
    shared = store.startswith(("sqlite:", "redis:", "rediss:"))
    workers = args.workers
    if workers is None:
        from ..workers import default_workers
        return default_workers() if shared and not args.count else 1
    if workers < 1:
        usage_error("--workers must be at least 1")
    if workers > 1 and args.count:
        usage_error("--count serves connections one at a time; it cannot go with --workers "
                    "above 1")
    if workers > 1 and not shared:
        usage_error("--workers above 1 needs a --store that processes share (sqlite:PATH or "
                    "redis://...): each worker is a process of its own")
    return workers
