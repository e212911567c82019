"""``demo`` part 1: an extension-mode server and client on 127.0.0.1, explained.

:func:`cmd_demo` is called by :mod:`tlslite_mls.demo` (which adds MLS-TLS mode and the
MLS core); the demo never prints key material, only hashes of exporter values.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import threading
import time
from typing import Any

from ..mls.crypto import get_cipher_suite
from ..tls import MLSServerSettings, MLSTLSConnection
from ..tls.certificates import throwaway_tls_identity
from .client import make_client_settings
from .output import suite_name, tls_suite_name
from .server import make_server_settings, tls_settings

__all__ = ["cmd_demo"]

UPDATE_REQUEST = b"[server: please change the epoch]"


def _demo_echo(conn: MLSTLSConnection) -> None:
    """The demo server's echo; a request line makes the server start an epoch change."""
    while True:
        data = conn.read()
        if not data:
            break
        if bytes(data) == UPDATE_REQUEST and not conn.mls_update_in_flight:
            conn.mls_update()
        conn.write(data)


def _exchange(conn: MLSTLSConnection, message: bytes) -> bytes:
    conn.write(message)
    echoed = b""
    while len(echoed) < len(message):
        echoed += bytes(conn.read())
    return echoed


def _fp(conn: Any) -> str:
    # A hash of an exporter output: the demo never prints key material itself.
    return hashlib.sha256(conn.mls_exporter(b"demo fingerprint", b"", 32)).hexdigest()[:32] \
        if conn is not None else "-"


def _demo_pin(settings: MLSServerSettings) -> Any:
    from ..mls.auth import PublicIdentity
    suite = settings.suites[0]
    key = get_cipher_suite(suite).signature.public_key(settings.signature_key)
    return PublicIdentity(key, settings.credential.identity, suite)


def cmd_demo(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    from .parser import build_parser, normalize
    parser = build_parser()
    server_args = normalize(parser.parse_args(["server", "--mls", "required", "--identity",
                                               "demo-server", "127.0.0.1:0"]))
    client_args = normalize(parser.parse_args(["client", "--mls", "required", "--identity",
                                               "demo-client", "--expect-identity",
                                               "demo-server", "127.0.0.1:0"]))
    s_settings = make_server_settings(server_args)
    c_settings, _ = make_client_settings(client_args)
    # The demo knows the server's key, so the client pins it (with the name).
    c_settings.pinned_keys = [_demo_pin(s_settings)]
    how = c_settings.validate().peer_authentication()
    tls = throwaway_tls_identity()
    server_tls = tls_settings()
    server_tls.ticketKeys = [os.urandom(32)]  # tickets, for the resumption at the end
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    servers: list = []
    errors: list = []

    def serve() -> None:
        for _ in range(2):  # the first connection, then its resumption
            sock, _ = srv.accept()
            conn = MLSTLSConnection(sock, mls_settings=s_settings, keylog=args.keylog)
            try:
                conn.handshakeServer(certChain=tls.chain, privateKey=tls.key,
                                     settings=server_tls)
                servers.append(conn)
                _demo_echo(conn)
            except Exception as exc:  # noqa: BLE001 - shown in the account
                errors.append(exc)
            finally:
                sock.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    w = out.write
    w(f"server  listening on 127.0.0.1:{port}, MLS required, basic identity 'demo-server'\n")
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn = MLSTLSConnection(sock, mls_settings=c_settings, keylog=args.keylog)
    try:
        conn.handshakeClientCert(settings=tls_settings())
    except Exception as exc:  # noqa: BLE001
        w(f"handshake failed: {exc}\n")
        return 1
    took = (time.perf_counter() - start) * 1000
    tls_suite = tls_suite_name(conn)
    message = b"hello over TLS 1.3 keyed by MLS"
    first_epoch = conn.mls_epoch
    echoed = _exchange(conn, message)
    server = servers[0] if servers else None
    fp_c, fp_s = _fp(conn), _fp(server)
    w(f"client  connected; handshake took {took:.0f} ms\n")
    w(f"  protocol           TLS 1.3, {tls_suite}, no (EC)DHE: the shared secret is "
      f"MLS-Exporter(\"TLS shared secret\")\n")
    w(f"  MLS negotiated     {conn.mls_negotiated}\n")
    w(f"  MLS cipher suite   {suite_name(conn.mls_cipher_suite)}\n")
    w(f"  MLS epoch          {first_epoch} after the handshake; the client's first update "
      f"(mls_handshake connection_update) gives client {conn.mls_epoch}, server "
      f"{server.mls_epoch if server else '-'}\n")
    w(f"  client identity    {conn.mls_local_identity!r} (server saw "
      f"{server.mls_peer_identity if server else '-'!r})\n")
    w(f"  server identity    {conn.mls_peer_identity!r}, {how}\n")
    w(f"  TLS certificates   {'sent' if conn.session.serverCertChain else 'none (MLS authenticates)'}\n")
    w(f"  exporter fp        client {fp_c}\n")
    w(f"                     server {fp_s}  {'(equal)' if fp_c == fp_s else '(DIFFERENT!)'}\n")
    w(f"  data               sent {message!r}, echoed {echoed!r}\n")
    ok = conn.mls_negotiated and fp_c == fp_s and echoed == message

    # Epoch changes from both sides while data flows.
    for i, who in enumerate(("client", "server", "client")):
        if who == "client":
            conn.mls_update()  # the markers travel with the data below
            data = b"data sent while the client's epoch change is in flight %d" % i
        else:
            data = UPDATE_REQUEST
        got = _exchange(conn, data)
        if conn.mls_update_in_flight:
            conn.mls_wait()
        fp_c, fp_s = _fp(conn), _fp(server)
        w(f"update  {who} started an epoch change; data echoed intact: {got == data}; "
          f"epoch client {conn.mls_epoch}, server {server.mls_epoch if server else '-'}, "
          f"exporters {'equal' if fp_c == fp_s else 'DIFFERENT!'}\n")
        ok = ok and got == data and fp_c == fp_s
    epoch_before = conn.mls_epoch
    session = conn.session

    # A dropped connection, then resumption: TLS ticket plus MLS request/response.
    sock.close()
    w(f"drop    the TCP connection is cut at epoch {epoch_before} (no close_notify)\n")
    sock2 = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn2 = MLSTLSConnection(sock2, mls_settings=c_settings, keylog=args.keylog)
    try:
        conn2.handshakeClientMLSResume(session, settings=tls_settings())
        data = b"hello again, same MLS group"
        got = _exchange(conn2, data)
        server2 = servers[1] if len(servers) > 1 else None
        fp_c, fp_s = _fp(conn2), _fp(server2)
        w(f"resume  TLS ticket resumption (resumed: {conn2.resumed}), then "
          f"mls_resumption_request/response and markers: epoch {conn2.mls_epoch} "
          f"(= {epoch_before} + 2), exporters {'equal' if fp_c == fp_s else 'DIFFERENT!'}, "
          f"data echoed intact: {got == data}\n")
        ok = ok and conn2.resumed and conn2.mls_epoch == epoch_before + 2 \
            and fp_c == fp_s and got == data
        conn2.close()
    except Exception as exc:  # noqa: BLE001 - shown in the account
        w(f"resume  failed: {type(exc).__name__}: {exc}\n")
        ok = False
    finally:
        sock2.close()
    t.join(10)
    srv.close()
    for exc in errors:  # the cut shows up here as an abrupt close
        w(f"server  a connection ended with {type(exc).__name__}: {exc}\n")
    w("demo OK\n" if ok else "demo FAILED\n")
    return 0 if ok else 1
