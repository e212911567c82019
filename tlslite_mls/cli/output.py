"""What the commands print: summary lines, exporter values, logging, the stdio pump."""

from __future__ import annotations

import logging
import os
import select
import socket
import sys
import time
from typing import Any, Callable, Optional

from tlslite.constants import CipherSuite

from ..mls.crypto import get_cipher_suite
from ..serving import short_identity

__all__ = ["suite_name", "summary", "tls_suite_name", "client_summary", "mls_tls_summary",
           "extension_exporter", "print_exporter", "setup_logging", "pump_stdio", "stream", "lingering_close"]


def suite_name(suite: Optional[int]) -> str:
    """``0x0001 MLS_128_...`` for a summary line; ``-`` when there is none."""
    if suite is None:
        return "-"
    try:
        return f"0x{suite:04x} {get_cipher_suite(suite).name}"
    except Exception:  # noqa: BLE001 - an unknown id still prints
        return f"0x{suite:04x}"


def tls_suite_name(conn: Any) -> str:
    """The IANA name of the connection's TLS cipher suite."""
    session = getattr(conn, "session", None)
    suite = getattr(session, "cipherSuite", None)
    return CipherSuite.ietfNames.get(suite, "?") if suite is not None else "?"


def summary(conn: Any) -> str:
    """Extension mode: protocol, MLS or not (fell back or not), suite, epoch, peer."""
    version = {(3, 4): "TLS 1.3", (3, 3): "TLS 1.2"}.get(conn.version, str(conn.version))
    proto = getattr(getattr(conn, "session", None), "appProto", None) \
        or getattr(conn, "next_proto", None)
    alpn = f", ALPN {bytes(proto).decode(errors='replace')}" if proto else ""
    if conn.mls_negotiated:
        return (f"{version}, MLS negotiated, MLS suite {suite_name(conn.mls_cipher_suite)}, "
                f"epoch {conn.mls_epoch}, peer identity "
                f"{short_identity(conn.mls_peer_identity or b'')}{alpn}")
    reason = f" ({conn.mls_declined_reason})" if conn.mls_declined_reason else ""
    how = "fell back to classic" if conn.mls_fell_back else "classic"
    return (f"{version}, MLS not negotiated{reason}, {how} {version} with "
            f"{tls_suite_name(conn)}{alpn}")


def client_summary(conn: Any, how: str, insecure: bool) -> str:
    """The extension client's line: :func:`summary` plus what authenticated the server."""
    line = summary(conn)
    if getattr(conn, "mls_resumed", False):
        line += ", resumed"
    if conn.mls_negotiated or getattr(conn, "mls_resumed", False):
        line += f", server credential: {how}"
        if insecure:
            line += ", TLS certificate check off (--insecure)"
        return line
    check = conn.server_certificate_check or "not sent"
    return line + ", server certificate " + check.replace("(insecure)", "(--insecure)")


def mls_tls_summary(conn: Any) -> str:
    """MLS-TLS: mode, MLS suite, record protection, epoch, peer identity."""
    how = "resumed" if conn.resumed else "new session"
    return (f"MLS-TLS ({how}), MLS suite {suite_name(conn.cipher_suite)}, records "
            f"{conn.record_cipher_suite}, epoch {conn.epoch}, peer identity "
            f"{short_identity(conn.peer_identity or b'')}")


def extension_exporter(conn: Any) -> tuple[Callable[[bytes, bytes, int], bytes], str]:
    """An extension-mode connection's exporter for ``-l``: the MLS exporter when MLS
    was negotiated, else TLS 1.3's; and its name for the output."""
    if conn.mls_negotiated:
        return conn.mls_exporter, f"MLS-Exporter (epoch {conn.mls_epoch})"
    return (lambda label, context, length: bytes(conn.keyingMaterialExporter(label, length)),
            "TLS 1.3 exporter")


def print_exporter(label: Optional[str], length: int, export: Callable[[bytes, bytes, int],
                   bytes], which: str, out: Any = None) -> None:
    """The ``-l LABEL -L LENGTH`` line, like tlslite-ng's ``tls.py``: label, length,
    which exporter, and the value in hex (on stderr, beside the summary line)."""
    if not label:
        return
    value = export(label.encode(), b"", length)
    print(f"Exporter label: {label}\nExporter length: {length}\nExporter: {which}\n"
          f"Keying material: {value.hex()}", file=out or sys.stderr, flush=True)


def setup_logging(verbose: int, prefix: str) -> None:
    """``-v``: the package's loggers (``tlslite_mls``) at INFO on stderr; ``-vv``: DEBUG."""
    if not verbose:
        return
    from ..serving import log_to_stderr
    log_to_stderr(prefix)
    logging.getLogger("tlslite_mls").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def pump_stdio(sock: socket.socket, stdin: Any, stdout: Any, linger: float, *,
               buffered: Callable[[], bool], send: Callable[[bytes], None],
               receive: Callable[[], Optional[bytes]], closed: Callable[[], bool],
               bounded_reads: bool = False) -> None:
    """stdin -> server, server -> stdout, on one thread; linger after stdin ends.

    Shared by both modes' clients. ``receive`` returns None once the peer closed,
    ``b""`` when a record carried nothing for the application (an MLS message).
    ``bounded_reads``: once stdin has ended, a read that gets no byte for ``linger``
    seconds ends the pump (an extension-mode read blocks until application data
    comes, so an MLS message alone would otherwise keep it waiting for ever).
    """
    fd = stdin.fileno()
    stdin_open = True
    last = time.monotonic()
    while not closed():
        if buffered():
            readable: list = [sock]
        else:
            waits = [sock] + ([fd] if stdin_open else [])
            timeout = None if stdin_open else max(0.0, linger - (time.monotonic() - last))
            readable, _, _ = select.select(waits, [], [], timeout)
            if not readable:
                return  # stdin done and the server is quiet
        if fd in readable and stdin_open:
            data = os.read(fd, 16384)
            if data:
                send(data)
            else:
                stdin_open = False
                if bounded_reads:
                    sock.settimeout(max(linger, 0.05))
            last = time.monotonic()
        if sock in readable:
            try:
                data = receive()
            except (socket.timeout, TimeoutError):
                if stdin_open or not bounded_reads:
                    raise
                return
            if data is None:
                return
            if data:
                stdout.write(data)
                stdout.flush()
            last = time.monotonic()


def stream(pump: Callable[[], None], conn: Any, sock: socket.socket) -> int:
    """Both modes' clients after the handshake: run ``pump``, report a failure in one
    line (exit code 1), close the connection (the server may be gone) and the socket."""
    sock.settimeout(None)
    try:
        pump()
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        from .errors import explain
        print(f"client: connection failed: {explain(exc)}", file=sys.stderr, flush=True)
        return 1
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
        sock.close()
    return 0


def lingering_close(sock: socket.socket, wait: float = 1.0) -> None:
    """Half-close, then read what the peer still sends before closing.

    Closing with unread data in the receive buffer makes the kernel send a TCP reset,
    which can destroy the alert just sent before the peer reads it (Java's JSSE then
    reports "Connection reset" instead of our handshake_failure).
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not sock.recv(16384):
                break
    except OSError:
        pass
    finally:
        sock.close()
