"""Command line: ``server``, ``client`` and ``demo`` of the TLS extension mode.

``python -m tlslite_mls server [options] HOST:PORT``  echo server
``python -m tlslite_mls client [options] HOST:PORT``  stdin to the server, replies to stdout,
                                                      one summary line on stderr
``python -m tlslite_mls demo``                        both on 127.0.0.1, with an account

Without credential options every run makes throw-away identities: a basic MLS
credential with a fresh signature key, and (server) a self-signed ECDSA TLS
certificate for clients that fall back to classic TLS 1.3 (which such clients
cannot verify: give the server ``--cert``/``--key`` from a CA they trust).

A client that ends up with classic TLS verifies the server's certificate against
``--trust-anchor`` (else the system trust store) for ``--server-name`` (else the
host dialled); ``--insecure`` skips that, and every summary line says so.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import html
import ipaddress
import logging
import os
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional, Sequence

from tlslite import HandshakeSettings, X509CertChain, parsePEMKey
from tlslite.constants import CipherSuite

from .mls.auth import AcceptAnyCredential
from .mls.credentials import Credential
from .mls.crypto import get_cipher_suite
from .tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from .serving import (ConnectionServer, Guard, add_limit_arguments, limits_from_args,
                      limits_text, log_to_stderr, short_identity)
from .store.factory import store_name
from .tls.settings import DEFAULT_MLS_SUITES

log = logging.getLogger("tlslite_mls.server")

def suites_for_scheme(scheme: str) -> list[int]:
    """The MLS suites whose signature scheme is ``scheme`` (a key can serve them all)."""
    from .mls.crypto import supported_cipher_suites
    return [s for s in supported_cipher_suites() if _scheme_of(s) == scheme]


def usage_error(message: str) -> NoReturn:
    """One line on stderr and exit code 2: a mistake in the options or in a file they name."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


# ----------------------------------------------------------------------------
# identities
# ----------------------------------------------------------------------------
@dataclass
class TLSIdentity:
    """A TLS certificate chain and key in tlslite-ng's types."""

    chain: X509CertChain
    key: Any


def throwaway_tls_identity(name: str = "localhost") -> TLSIdentity:
    """A self-signed ECDSA P-256 certificate, for classic-TLS fallback only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return load_tls_identity(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode())


def load_tls_identity(cert_pem: str, key_pem: str) -> TLSIdentity:
    chain = X509CertChain()
    chain.parsePemList(cert_pem)
    return TLSIdentity(chain, parsePEMKey(key_pem, private=True))


def _scheme_of(suite: int) -> Optional[str]:
    try:
        return get_cipher_suite(suite).signature.name
    except Exception:  # noqa: BLE001 - an unknown suite is refused by the settings
        return None


def _identity_file(args: argparse.Namespace) -> tuple[list[int], Credential, Any]:
    """(suites, credential, signature key) of ``--identity-file``: its suite and the
    others with its signature scheme, or those of ``--suite`` that have it."""
    from .identity import load_identity
    if args.identity or args.mls_cert or args.mls_key:
        usage_error("--identity-file replaces --identity and --mls-cert/--mls-key: give one")
    try:
        ident = load_identity(args.identity_file)
    except ValueError as e:
        usage_error(str(e))
    scheme = ident.suite.signature.name
    # The identity's suite first, then the others its key can sign for.
    suites = [s for s in args.suite if _scheme_of(s) == scheme] if args.suite \
        else [ident.cipher_suite] + [s for s in suites_for_scheme(scheme)
                                     if s != ident.cipher_suite]
    if not suites:
        usage_error(f"no chosen MLS suite signs with {scheme}, the key type of "
                    f"{args.identity_file} (made for suite 0x{ident.cipher_suite:04x})")
    return suites, ident.credential, ident.signature_key


def mls_identity(args: argparse.Namespace, role: str) -> tuple[list[int], Credential, Any]:
    """(suites, credential, signature key) from the options, or a throw-away identity."""
    if getattr(args, "identity_file", None):
        return _identity_file(args)
    suites = list(args.suite) if args.suite else list(DEFAULT_MLS_SUITES)
    if args.mls_cert or args.mls_key:
        if not (args.mls_cert and args.mls_key):
            raise SystemExit("--mls-cert and --mls-key go together")
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        from .identity import private_key_from_pem
        with open(args.mls_cert, "rb") as f:
            certs = x509.load_pem_x509_certificates(f.read())
        with open(args.mls_key, "rb") as f:
            try:
                key, kind = private_key_from_pem(f.read())
            except ValueError as e:
                usage_error(f"{args.mls_key}: {e}")
        usable = suites_for_scheme(kind)
        suites = [s for s in suites if s in usable] if args.suite else usable
        if not suites:
            raise SystemExit(f"no chosen MLS suite fits a {kind} key (try {usable})")
        ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
        return suites, Credential.x509(ders), key
    name = args.identity or f"{role}-{os.urandom(3).hex()}"
    scheme = get_cipher_suite(suites[0]).signature
    key, _ = scheme.generate()
    suites = [s for s in suites if get_cipher_suite(s).signature is scheme]
    return suites, Credential.basic(name.encode()), key


def _read_anchors(path: str) -> list:
    from cryptography import x509
    try:
        with open(path, "rb") as f:
            anchors = x509.load_pem_x509_certificates(f.read())
    except OSError as e:
        usage_error(f"{path}: cannot read the trust anchors: {e.strerror or e}")
    except ValueError as e:
        usage_error(f"{path}: not PEM certificates: {e}")
    return anchors


def peer_authentication(args: argparse.Namespace, peer_role: str) -> dict:
    """Settings keywords saying how the peer's MLS credential is judged, from the
    options both modes and both roles share: ``--pin``, ``--trust-anchor``,
    ``--expect-identity``, ``--accept-any-identity`` (client). ``peer_role`` is
    ``"server"`` for a client, ``"client"`` for a server. An x509 server credential is
    checked for ``--expect-identity``, else ``--server-name``, else the host dialled.

    The MLS credential replaces the server certificate, so a client must be told how
    to check it; accepting anyone takes an option that says so. Options that cannot
    go together are refused, never silently dropped.
    """
    from .identity import load_public_identity
    anchors = getattr(args, "trust_anchor", None)
    expected = getattr(args, "expect_identity", None)
    pins = getattr(args, "pin", None) or []
    accept_any = getattr(args, "accept_any_identity", False)
    if accept_any and (anchors or expected or pins):
        usage_error("--accept-any-identity stands alone (it accepts any server): drop "
                    "--pin, --trust-anchor and --expect-identity")
    if anchors and pins:
        usage_error("--trust-anchor and --pin are two ways to authenticate the peer: "
                    "give one")
    kw: dict[str, Any] = {}
    if anchors:
        kw["trust_anchors"] = _read_anchors(anchors)
    if pins:
        try:
            kw["pinned_keys"] = [load_public_identity(p) for p in pins]
        except ValueError as e:
            usage_error(str(e))
    if expected:
        kw["expected_identity"] = expected.encode()
    if accept_any:
        kw["auth_policy"] = AcceptAnyCredential()
    if peer_role == "server" and not kw and (getattr(args, "mls_tls", False)
                                             or getattr(args, "mls", None) != "off"):
        usage_error("say how to authenticate the server's MLS credential: --pin FILE, "
                    "--expect-identity NAME, --trust-anchor FILE with --server-name, or "
                    "--accept-any-identity" + ("" if getattr(args, "mls_tls", False)
                                               else " (or --mls off)"))
    return kw


def validated(settings: Any) -> Any:
    """``settings.validate()``, with a configuration mistake as a one-line error."""
    try:
        return settings.validate()
    except ValueError as e:
        usage_error(str(e))


def client_authentication(args: argparse.Namespace) -> dict:
    """MLSClientSettings keywords that say how the server is authenticated: the MLS
    credential as :func:`peer_authentication` says, and classic fallback's TLS
    certificate check (docs/profile.md section 10: ``--trust-anchor`` and the server name
    serve it too; without anchors it uses the system trust store; ``--insecure``)."""
    kw: dict = {"server_name": args.server_name} if args.server_name else {}
    if args.insecure:
        if args.mls == "required":
            raise SystemExit("--insecure skips the certificate check of classic fallback, "
                             "and --mls required never falls back")
        kw["insecure"] = True
    kw.update(peer_authentication(args, "server"))
    if args.trust_anchor and args.mls != "off" and \
            _is_ip(args.expect_identity or server_name(args)):
        raise SystemExit("--trust-anchor judges the server's x509 MLS credential by DNS "
                         "name: give --server-name NAME (or dial the server by name)")
    return kw




def server_name(args: argparse.Namespace) -> str:
    """The name the server must prove: ``--server-name``, else the host dialled."""
    return args.server_name or args.address[0]


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------
# shared pieces
# ----------------------------------------------------------------------------
def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def tls_settings() -> HandshakeSettings:
    s = HandshakeSettings()
    s.minVersion = (3, 4)
    s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]  # one real share: enough for classic fallback
    return s


def _suite_name(suite: Optional[int]) -> str:
    if suite is None:
        return "-"
    try:
        return f"0x{suite:04x} {get_cipher_suite(suite).name}"
    except Exception:  # noqa: BLE001 - an unknown id still prints
        return f"0x{suite:04x}"


def summary(conn: MLSTLSConnection) -> str:
    """One line: protocol, MLS or not (fell back or not), suite, epoch, peer identity."""
    version = {(3, 4): "TLS 1.3", (3, 3): "TLS 1.2"}.get(conn.version, str(conn.version))
    if conn.mls_negotiated:
        return (f"{version}, MLS negotiated, MLS suite {_suite_name(conn.mls_cipher_suite)}, "
                f"epoch {conn.mls_epoch}, peer identity "
                f"{short_identity(conn.mls_peer_identity or b'')}")
    reason = f" ({conn.mls_declined_reason})" if conn.mls_declined_reason else ""
    how = "fell back to classic" if conn.mls_fell_back else "classic"
    return f"{version}, MLS not negotiated{reason}, {how} {version} with {tls_suite_name(conn)}"


def tls_suite_name(conn: Any) -> str:
    """The IANA name of the connection's TLS cipher suite."""
    session = getattr(conn, "session", None)
    suite = getattr(session, "cipherSuite", None)
    return CipherSuite.ietfNames.get(suite, "?") if suite is not None else "?"


def client_summary(conn: MLSTLSConnection, how: str, insecure: bool) -> str:
    """The client's line: :func:`summary` plus what authenticated the server."""
    line = summary(conn)
    if conn.mls_negotiated:
        line += f", server credential: {how}"
        if insecure:
            line += ", TLS certificate check off (--insecure)"
        return line
    check = conn.server_certificate_check or "not sent"
    return line + ", server certificate " + check.replace("(insecure)", "(--insecure)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mls", choices=["off", "preferred", "required"], default="preferred",
                   help="MLS mode (default preferred)")
    p.add_argument("--suite", type=lambda s: int(s, 0), action="append",
                   help="MLS cipher suite id, repeatable, preferred first")
    p.add_argument("--identity", help="basic MLS credential with this identity "
                                      "(a new key every run; see --identity-file)")
    p.add_argument("--identity-file", metavar="FILE",
                   help="MLS identity file (key, credential, suite) made by 'keygen'")
    p.add_argument("--mls-cert", help="PEM certificate chain for an x509 MLS credential")
    p.add_argument("--mls-key", help="PEM private key of --mls-cert")
    p.add_argument("--send-certificates", action="store_true",
                   help="also send TLS certificate messages when MLS is negotiated")
    p.add_argument("--keylog", help="NSS key log file (default $SSLKEYLOGFILE)")


def _client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust-anchor",
                   help="PEM CA certificates: for an x509 server MLS credential, and for the "
                        "server's TLS certificate on classic fallback (default: the system "
                        "trust store)")
    p.add_argument("--server-name",
                   help="server name (SNI, and the name its certificate or x509 credential "
                        "must carry; default: the host dialled)")
    p.add_argument("--expect-identity", metavar="NAME",
                   help="the server's name (alone: a name check only, not verified; with "
                        "--pin or --trust-anchor: checked as well)")
    p.add_argument("--accept-any-identity", action="store_true",
                   help="accept any server MLS credential (unauthenticated; for tests)")
    p.add_argument("--insecure", action="store_true",
                   help="do not verify the server's TLS certificate when falling back to "
                        "classic TLS (unauthenticated; said in the summary line)")


# ----------------------------------------------------------------------------
# server
# ----------------------------------------------------------------------------
def _echo(conn: MLSTLSConnection) -> None:
    while True:
        data = conn.read()
        if not data:
            break
        conn.write(data)


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


def _server_handler(settings: MLSServerSettings, tls: TLSIdentity, keylog: Optional[str],
                    serve: Callable[[MLSTLSConnection], None] = _echo
                    ) -> Callable[[socket.socket, Guard], None]:
    """One connection: handshake (under the guard's deadline), summary line, then
    ``serve`` (echo, or the HTTP page)."""
    def handle(sock: socket.socket, guard: Guard) -> None:
        conn = MLSTLSConnection(sock, mls_settings=settings, keylog=keylog)
        try:
            conn.handshakeServer(certChain=tls.chain, privateKey=tls.key,
                                 settings=tls_settings())
        except Exception:
            if conn.mls_declined_reason:  # why the client got no MLS (it then gave up)
                log.info("MLS declined for %s: %s", guard.peer, conn.mls_declined_reason)
            raise
        guard.handshake_done()
        line = summary(conn)
        if conn.mls_negotiated:
            line += f", client credential: {settings.peer_authentication()}"
        log.info("%s, from %s", line, guard.peer)
        serve(conn)
        conn.close()
    return handle


def open_cli_store(spec: Optional[str], max_groups: Optional[int] = None) -> Any:
    """The ``--store`` option's store, probed once; a store that cannot be opened ends
    the command with one line naming it (no traceback). ``max_groups``: the
    ``--max-stored-groups`` cap (docs/profile.md section 9), which needs a store."""
    if not spec:
        if max_groups is not None:
            raise SystemExit("error: --max-stored-groups needs --store")
        return None
    from .store import StoreError, open_store_checked
    options = {} if max_groups is None else {"max_groups": max_groups}
    try:
        return open_store_checked(spec, **options)
    except (ValueError, StoreError) as exc:
        raise SystemExit(f"error: {exc}") from None


def cli_store(args: argparse.Namespace) -> Any:
    """The store ``--store`` and ``--max-stored-groups`` name (None without ``--store``)."""
    return open_cli_store(getattr(args, "store", None), getattr(args, "max_stored_groups", None))


def make_server_settings(args: argparse.Namespace) -> MLSServerSettings:
    suites, cred, key = mls_identity(args, "server")
    return MLSServerSettings(mode=args.mls, suites=suites, credential=cred, signature_key=key,
                             send_certificates=args.send_certificates,
                             store=cli_store(args),
                             **peer_authentication(args, "client"))


def cmd_server(args: argparse.Namespace, ready: Optional[threading.Event] = None,
               bound: Optional[list] = None) -> int:
    log_to_stderr()
    limits = limits_from_args(args)
    settings = validated(make_server_settings(args))
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise SystemExit("--cert and --key go together")
        with open(args.cert) as c, open(args.key) as k:
            tls = load_tls_identity(c.read(), k.read())
    else:
        tls = throwaway_tls_identity()
    host, port = args.address
    workers = server_workers(args)
    serve = _http if getattr(args, "http", False) else _echo
    mode = f"TLS extension mode, MLS {args.mls}"
    if workers > 1:
        from .workers import WorkerPool

        def make_server(listener: socket.socket) -> _WorkerServer:
            # in the worker: its own store connection (the settings open it), and its
            # process id on its log lines
            for h in logging.getLogger("tlslite_mls").handlers:
                if getattr(h, "_tlslite_mls_cli", False):
                    h.setFormatter(logging.Formatter(f"server[{os.getpid()}]: %(message)s"))
            handler = _server_handler(validated(make_server_settings(args)), tls,
                                      args.keylog, serve)
            return _WorkerServer(ConnectionServer(listener, handler, mode=mode, limits=limits))
        pool = WorkerPool((host, port), make_server, workers=workers)
        address = pool.address
        try:
            pool.start()
        except RuntimeError as exc:
            raise SystemExit(f"error: {exc}") from None
    else:
        srv = socket.create_server((host, port), backlog=128)
        address = srv.getsockname()
    if bound is not None:
        bound.append(address[1])
    log.info("listening on %s:%d, MLS %s, identity %s, client credential: %s, store %s, %s%s",
             host, address[1], args.mls, identity_text(settings.credential),
             settings.peer_authentication(),
             store_name(args.store) if getattr(args, "store", None) else "memory (default)",
             limits_text(limits), f", {workers} worker processes" if workers > 1 else "")
    if ready is not None:
        ready.set()
    if workers > 1:
        import signal

        def terminate(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt  # the workers are stopped below
        signal.signal(signal.SIGTERM, terminate)
        try:
            pool.wait()
        except KeyboardInterrupt:
            pass
        finally:
            pool.stop()
        return 0
    server = ConnectionServer(srv, _server_handler(settings, tls, args.keylog, serve),
                              mode=mode, limits=limits)
    try:
        server.serve(count=args.count)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


class _WorkerServer:
    """A worker's ConnectionServer with the interface WorkerPool expects."""

    def __init__(self, server: ConnectionServer) -> None:
        self.server = server
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        self.server.serve(stop=self._stop)

    def shutdown(self) -> None:
        self._stop.set()
        self.server.listener.close()


def server_workers(args: argparse.Namespace) -> int:
    """``--workers``: explicit, or the number of CPUs when a store several processes
    can share is configured (and connections are not counted), else one."""
    store = getattr(args, "store", None) or ""
    shared = store.startswith(("sqlite:", "redis:", "rediss:"))
    workers = getattr(args, "workers", None)
    if workers is None:
        from .workers import default_workers
        return default_workers() if shared and not args.count else 1
    if workers < 1:
        raise SystemExit("error: --workers must be at least 1")
    if workers > 1 and args.count:
        raise SystemExit("error: --count serves connections one at a time; it cannot go "
                         "with --workers above 1")
    if workers > 1 and not shared:
        raise SystemExit("error: --workers above 1 needs a --store that processes share "
                         "(sqlite:PATH or redis://...): each worker is a process of its own")
    return workers


def identity_text(cred: Credential) -> str:
    """The local identity for a listening line: basic name, or x509 and its name."""
    from .mls.auth import credential_identity
    name = short_identity(credential_identity(cred))
    return name if cred.identity else f"x509 {name}"


# ----------------------------------------------------------------------------
# client
# ----------------------------------------------------------------------------
def make_client_settings(args: argparse.Namespace) -> tuple[MLSClientSettings, str]:
    """Validated client settings, and what they verify about the server (summary line)."""
    suites, cred, key = mls_identity(args, "client")
    settings = validated(MLSClientSettings(
        mode=args.mls, suites=suites, credential=cred, signature_key=key,
        send_certificates=args.send_certificates,
        store=cli_store(args), **client_authentication(args)))
    return settings, settings.peer_authentication(server_name(args)) \
        if args.mls != "off" else "-"


def pump_stdio(sock: socket.socket, stdin: Any, stdout: Any, linger: float, *,
               buffered: Callable[[], bool], send: Callable[[bytes], None],
               receive: Callable[[], Optional[bytes]], closed: Callable[[], bool]) -> None:
    """stdin -> server, server -> stdout, on one thread; linger after stdin ends.

    Shared by both modes' clients. ``receive`` returns None once the peer closed,
    ``b""`` when a record carried nothing for the application (an MLS message).
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
            last = time.monotonic()
        if sock in readable:
            data = receive()
            if data is None:
                return
            if data:
                stdout.write(data)
                stdout.flush()
            last = time.monotonic()


def _pump(conn: MLSTLSConnection, sock: socket.socket, stdin: Any, stdout: Any,
          linger: float) -> None:
    def receive() -> Optional[bytes]:
        data = conn.read(max=16384)
        return bytes(data) if data else None
    pump_stdio(sock, stdin, stdout, linger,
               buffered=lambda: bool(getattr(conn, "_readBuffer", None)),
               send=conn.write, receive=receive, closed=lambda: conn.closed)


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


def cmd_client(args: argparse.Namespace) -> int:
    mls, how = make_client_settings(args)
    host, port = args.address
    try:
        sock = socket.create_connection((host, port), timeout=args.timeout)
    except OSError as exc:
        print(f"client: cannot connect to {host}:{port}: {exc}", file=sys.stderr, flush=True)
        return 1
    conn = MLSTLSConnection(sock, mls_settings=mls, keylog=args.keylog)
    conn.closeSocket = False  # closed here, after a fatal alert without a reset
    name = server_name(args)
    try:
        # SNI carries host names only (RFC 6066 section 3); an IP is checked all the same.
        conn.handshakeClientCert(settings=tls_settings(),
                                 serverName=None if _is_ip(name) else name)
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        print(f"client: handshake failed: {exc}", file=sys.stderr, flush=True)
        lingering_close(sock)
        return 1
    print(client_summary(conn, how, mls.insecure), file=sys.stderr, flush=True)
    sock.settimeout(None)
    try:
        _pump(conn, sock, sys.stdin, sys.stdout.buffer, args.linger)
    except Exception as exc:  # noqa: BLE001 - report, don't trace
        print(f"client: connection failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the server may already be gone
            pass
        sock.close()
    return 0


# ----------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------
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
    from .mls.auth import PublicIdentity
    suite = settings.suites[0]
    key = get_cipher_suite(suite).signature.public_key(settings.signature_key)
    return PublicIdentity(key, settings.credential.identity, suite)


def cmd_demo(args: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    server_args = argparse.Namespace(suite=None, identity="demo-server", mls_cert=None,
                                     mls_key=None, mls="required", send_certificates=False)
    client_args = argparse.Namespace(suite=None, identity="demo-client", mls_cert=None,
                                     mls_key=None, mls="required", send_certificates=False,
                                     trust_anchor=None, expect_identity="demo-server",
                                     accept_any_identity=False, server_name=None,
                                     insecure=False, address=("127.0.0.1", 0))
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
    w(f"  MLS cipher suite   {_suite_name(conn.mls_cipher_suite)}\n")
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


# ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tlslite_mls",
                                description="TLS 1.3 with the MLS handshake (extension mode)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("server", help="echo server")
    _common(s)
    s.add_argument("--cert", help="PEM TLS certificate chain (for classic-TLS clients)")
    s.add_argument("--key", help="PEM TLS private key")
    s.add_argument("--trust-anchor",
                   help="PEM CA certificates: clients need an x509 MLS credential chaining "
                        "to them (and carrying --expect-identity, if given)")
    s.add_argument("--expect-identity", metavar="NAME",
                   help="accept only clients with this name (alone: a name check only)")
    _pin_option(s, "client")
    s.add_argument("--count", type=int, default=0,
                   help="serve this many connections, one at a time, then exit (0: forever)")
    s.add_argument("--http", action="store_true",
                   help="instead of echoing, answer each connection's first HTTP request with "
                        "a page saying what was negotiated (for browsers and curl)")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes on the one address, sharing --store (default: "
                        "the number of CPUs with an sqlite: or redis: store, else 1)")
    add_limit_arguments(s)
    _mls_tls_options(s, "server")
    s.add_argument("address", type=parse_address, metavar="HOST:PORT")
    c = sub.add_parser("client", help="stdin to the server, replies to stdout")
    _common(c)
    _client_options(c)
    _pin_option(c, "server")
    c.add_argument("--timeout", type=float, default=30.0, help="connect/handshake timeout")
    c.add_argument("--linger", type=float, default=2.0,
                   help="seconds to wait for replies after stdin ends")
    _mls_tls_options(c, "client")
    c.add_argument("address", type=parse_address, metavar="HOST:PORT")
    from .keygen import add_parser as add_keygen
    add_keygen(sub)
    d = sub.add_parser("demo", help="server and client on 127.0.0.1, with an account")
    d.add_argument("--keylog", help="NSS key log file (default $SSLKEYLOGFILE)")
    return p


def _pin_option(p: argparse.ArgumentParser, peer: str) -> None:
    p.add_argument("--pin", "--expect-key", dest="pin", action="append", metavar="FILE",
                   help=f"accept only a {peer} holding this key: a public identity file "
                        "('keygen --export-public'), repeatable")


def _mls_tls_options(p: argparse.ArgumentParser, role: str) -> None:
    from .mlstls.cli import add_arguments
    p.add_argument("--mls-tls", action="store_true",
                   help="MLS-TLS mode on a dedicated port: MLS replaces the TLS handshake "
                        "(options of the extension mode such as --mls and --cert do not apply)")
    add_arguments(p, role)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "client" and args.mls_tls and args.insecure:
        raise SystemExit("--insecure concerns the classic TLS fallback of the extension mode; "
                         "MLS-TLS has no fallback")
    if args.command == "server" and args.mls_tls and args.workers not in (None, 1):
        raise SystemExit("error: --workers is for the TLS extension mode; an MLS-TLS server "
                         "runs in one process")
    if args.command in ("server", "client") and args.mls_tls:
        from .mlstls import cli as mls_tls_cli
        return (mls_tls_cli.cmd_server if args.command == "server"
                else mls_tls_cli.cmd_client)(args)
    if args.command == "server":
        return cmd_server(args)
    if args.command == "client":
        return cmd_client(args)
    if args.command == "keygen":
        from .keygen import cmd_keygen
        return cmd_keygen(args)
    return cmd_demo(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
