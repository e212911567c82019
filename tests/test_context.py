"""The context API in both modes: against itself and against the modes' own classes."""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable

import pytest

import tlslite_mls
from tlslite_mls import AcceptAnyCredential, ClientContext, ServerContext
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite

LABEL = b"context test"
MODES = [("extension", {}), ("mls-tls", {})]


def identity(name: bytes, suite: int = 1) -> tuple:
    key, _ = get_cipher_suite(suite).signature.generate()
    return Credential.basic(name), key


class Served:
    """One accepted connection handled in a thread; ``result``/``error`` after join."""

    def __init__(self, handler: Callable[[socket.socket], Any]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.result: Any = None
        self.error: Any = None
        self.thread = threading.Thread(target=self._run, args=(handler,), daemon=True)
        self.thread.start()

    def _run(self, handler: Callable[[socket.socket], Any]) -> None:
        try:
            sock, _ = self.listener.accept()
            sock.settimeout(60)
            self.result = handler(sock)
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    def join(self) -> Any:
        self.thread.join(60)
        self.listener.close()
        assert not self.thread.is_alive(), "server thread hung"
        if self.error is not None:
            raise self.error
        return self.result

    def connect(self) -> socket.socket:
        return socket.create_connection(self.address, timeout=60)


def echo_twice(ctx: ServerContext, epochs: list) -> Callable[[socket.socket], Any]:
    def handler(sock: socket.socket) -> Any:
        conn = ctx.wrap_socket(sock, server_side=True)
        conn.on_epoch_change = lambda c, e: epochs.append(e)
        for _ in range(2):
            conn.sendall(conn.recv(100))
        out = (conn.negotiated, conn.cipher_suite, conn.epoch, conn.peer_identity,
               conn.exporter(LABEL, b"", 32))
        conn.close()
        return out
    return handler


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_contexts_of_one_mode_talk_and_report_the_first_epoch_change(mode):
    server_ctx = ServerContext(identity(b"server"), mode=mode)
    server_epochs: list = []
    client_epochs: list = []
    client_ctx = ClientContext(identity(b"client"), mode=mode, expected_identity=b"server",
                               on_epoch_change=lambda c, e: client_epochs.append(
                                   (e, c.exporter(LABEL, b"", 32))))
    served = Served(echo_twice(server_ctx, server_epochs))
    with client_ctx.wrap_socket(served.connect(), server_hostname="localhost") as conn:
        assert conn.negotiated and conn.epoch == 1 and conn.peer_identity == b"server"
        assert conn.local_identity == b"client"
        first = conn.exporter(LABEL, b"", 32)
        for msg in (b"one", b"two"):
            conn.sendall(msg)
            assert conn.recv(100) == msg
        # The client's automatic first update moved both sides to epoch 2, and the
        # callback said so before the new exporter was visible.
        assert [e for e, _ in client_epochs] == [2] and conn.epoch == 2
        last = conn.exporter(LABEL, b"", 32)
        assert client_epochs[0][1] == last != first
        suite = conn.cipher_suite
    negotiated, s_suite, s_epoch, peer, s_export = served.join()
    assert negotiated and s_suite == suite and s_epoch == 2 and peer == b"client"
    assert s_export == last and server_epochs == [2]


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_update_from_either_side_through_the_context(mode):
    server_ctx = ServerContext(mode=mode)
    client_ctx = ClientContext(mode=mode, auth_policy=AcceptAnyCredential())

    def handler(sock):
        conn = server_ctx.wrap_socket(sock)
        seen = []
        conn.on_epoch_change = lambda c, e: seen.append(e)
        conn.sendall(conn.recv(100))       # ping: the client's first update arrives
        conn.sendall(conn.recv(100))       # pong: its last marker came before it
        conn.update(wait=True)             # the server's own epoch change
        conn.sendall(conn.recv(100))
        values = conn.exporter(LABEL, b"x", 16), conn.epoch, seen
        conn.close()
        return values

    served = Served(handler)
    conn = client_ctx.wrap_socket(served.connect())
    seen: list = []
    conn.on_epoch_change = lambda c, e: seen.append(e)
    conn.sendall(b"ping")
    assert conn.recv(100) == b"ping"
    conn.sendall(b"pong")
    assert conn.recv(100) == b"pong"
    conn.sendall(b"three")
    assert conn.recv(100) == b"three"
    export, epoch, server_seen = served.join()
    assert conn.epoch == epoch == 3 and seen == [2, 3] and server_seen == [2, 3]
    assert conn.exporter(LABEL, b"x", 16) == export
    assert conn.recv(10) == b""
    conn.close()


def test_extension_context_client_against_the_mode_s_own_server():
    from tlslite_mls.cli import throwaway_tls_identity
    from tlslite_mls.context import tls_handshake_settings
    from tlslite_mls.tls import MLSServerSettings, MLSTLSConnection
    tls = throwaway_tls_identity()

    def handler(sock):
        conn = MLSTLSConnection(sock, mls_settings=MLSServerSettings(mode="required"))
        conn.handshakeServer(certChain=tls.chain, privateKey=tls.key,
                             settings=tls_handshake_settings())
        conn.sendall(conn.recv(100))
        out = conn.mls_epoch, conn.mls_exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(handler)
    conn = ClientContext(mls="required", auth_policy=AcceptAnyCredential()).wrap_socket(
        served.connect())
    conn.sendall(b"hi")
    assert conn.recv(100) == b"hi"
    epoch, export = served.join()
    assert conn.epoch == epoch == 2 and conn.exporter(LABEL, b"", 32) == export
    conn.close()


def test_extension_mode_s_own_client_against_a_context_server():
    from tlslite_mls.context import tls_handshake_settings
    from tlslite_mls.tls import MLSClientSettings, MLSTLSConnection
    ctx = ServerContext(identity(b"srv"), mls="required")

    def handler(sock):
        conn = ctx.wrap_socket(sock)
        conn.sendall(conn.recv(100))
        out = conn.negotiated, conn.peer_identity, conn.epoch, conn.exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(handler)
    conn = MLSTLSConnection(served.connect(), mls_settings=MLSClientSettings(
        mode="required", expected_identity=b"srv", credential=Credential.basic(b"cli"),
        signature_key=identity(b"x")[1]))
    conn.handshakeClientCert(settings=tls_handshake_settings())
    conn.sendall(b"hi")
    assert conn.recv(100) == b"hi"
    negotiated, peer, epoch, export = served.join()
    assert negotiated and peer == b"cli" and epoch == conn.mls_epoch == 2
    assert conn.mls_exporter(LABEL, b"", 32) == export
    conn.close()


def test_mls_tls_context_against_the_mode_s_own_classes():
    from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSServer,
                                    MLSTLSServerSettings)

    def own_server(sock):
        conn = MLSTLSServer(sock, MLSTLSServerSettings())
        conn.write(conn.read(100))
        out = conn.epoch, conn.exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(own_server)
    conn = ClientContext(mode="mls-tls", auth_policy=AcceptAnyCredential()).wrap_socket(
        served.connect())
    conn.sendall(b"a")
    assert conn.recv(10) == b"a"
    epoch, export = served.join()
    assert conn.epoch == epoch and conn.exporter(LABEL, b"", 32) == export
    conn.close()

    ctx = ServerContext(mode="mls-tls")

    def context_server(sock):
        conn = ctx.wrap_socket(sock)
        conn.sendall(conn.recv(100))
        out = conn.epoch, conn.exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(context_server)
    client = MLSTLSClient(served.connect(), MLSTLSClientSettings(
        auth_policy=AcceptAnyCredential()))
    client.write(b"b")
    assert client.read(10) == b"b"
    epoch, export = served.join()
    assert client.epoch == epoch and client.exporter(LABEL, b"", 32) == export
    client.close()


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_resumption_through_the_context(mode):
    from tlslite_mls.store import open_store
    server_ctx = ServerContext(mode=mode, store=open_store("memory:"),
                               **({"tickets": True} if mode == "extension" else {}))
    client_ctx = ClientContext(mode=mode, auth_policy=AcceptAnyCredential(),
                               store=open_store("memory:"))

    def handler(sock):
        conn = server_ctx.wrap_socket(sock)
        conn.sendall(conn.recv(100))
        out = conn.resumed, conn.epoch, conn.exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(handler)
    conn = client_ctx.wrap_socket(served.connect())
    conn.sendall(b"first")
    assert conn.recv(100) == b"first"
    resumed, epoch, _ = served.join()
    assert not resumed and not conn.resumed
    session, before = conn.session, conn.epoch
    conn.close()

    served = Served(handler)
    conn = client_ctx.wrap_socket(served.connect(), session=session)
    assert conn.resumed and conn.epoch == before + 2
    conn.sendall(b"again")
    assert conn.recv(100) == b"again"
    resumed, epoch, export = served.join()
    assert resumed and epoch == conn.epoch and export == conn.exporter(LABEL, b"", 32)
    conn.close()


def test_a_client_context_needs_a_way_to_authenticate_the_server():
    for mode in ("extension", "mls-tls"):
        with pytest.raises(ValueError, match="authenticate the server"):
            ClientContext(mode=mode)
    # Mode off needs none: there is no MLS credential to judge.
    ClientContext(mls="off")


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "tls"}, "mode must be"),
    ({"mls": "sometimes"}, "mls must be one of"),
    ({"mode": "mls-tls", "mls": "preferred"}, "extension-mode choice"),
    ({"mode": "mls-tls", "insecure": True}, "MLS-TLS never falls back"),
    ({"suites": [0x9999]}, "unsupported MLS cipher suite"),
    ({"identity": 42}, "identity must be"),
    ({"pinned_keys": b"\x01" * 32}, "not one"),
])
def test_context_options_are_checked_when_the_context_is_made(kwargs, message):
    kwargs.setdefault("auth_policy", AcceptAnyCredential())
    with pytest.raises(ValueError, match=message):
        ClientContext(**kwargs)


def test_server_context_refuses_what_its_mode_cannot_do():
    with pytest.raises(ValueError, match="extension-mode options"):
        ServerContext(mode="mls-tls", tickets=True)
    with pytest.raises(ValueError, match="go together"):
        ServerContext(certfile="x.pem")
    with pytest.raises(ValueError, match="needs a ClientContext"):
        ServerContext().wrap_socket(socket.socket(), server_side=False)
    with pytest.raises(ValueError, match="needs a ServerContext"):
        ClientContext(mls="off").wrap_socket(socket.socket(), server_side=True)


def test_contexts_and_connections_show_no_key_material():
    cred, key = identity(b"me")
    ctx = ClientContext((cred, key), auth_policy=AcceptAnyCredential())
    assert key.hex() not in repr(ctx) and "mode=extension" in repr(ctx)
    assert tlslite_mls.ClientContext is ClientContext


def python_ssl_echo(pki_dir) -> Served:
    """A Python ``ssl`` TLS 1.3 server (a classic peer) that echoes one message."""
    import ssl
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki_dir / "cert.pem", pki_dir / "key.pem")

    def handler(sock):
        try:
            with server_ctx.wrap_socket(sock, server_side=True) as s:
                s.sendall(s.recv(100))
        except (ssl.SSLError, OSError) as exc:
            return exc
    return Served(handler)


def test_classic_fallback_is_verified_by_default(tmp_path):
    from tls.tlsutil import make_pki
    make_pki(tmp_path)
    from tlslite.errors import TLSLocalAlert
    served = python_ssl_echo(tmp_path)
    with pytest.raises(TLSLocalAlert, match="unknown_ca|bad_certificate"):
        ClientContext(auth_policy=AcceptAnyCredential()).wrap_socket(
            served.connect(), server_hostname="localhost")
    served.join()

    for ctx in (ClientContext(trust_anchors=[tmp_path / "ca.pem"]),
                ClientContext(auth_policy=AcceptAnyCredential(), insecure=True)):
        served = python_ssl_echo(tmp_path)
        with ctx.wrap_socket(served.connect(), server_hostname="localhost") as conn:
            assert not conn.negotiated and conn.epoch is None
            assert conn.tls_cipher_suite.startswith("TLS_")
            conn.sendall(b"classic")
            assert conn.recv(100) == b"classic"
            with pytest.raises(ValueError, match="not negotiated"):
                conn.exporter(LABEL, b"", 32)
        assert served.join() is None


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_identity_files_and_pins_in_both_modes(mode, tmp_path):
    from tlslite_mls.identity import generate_identity, public_identity_pem
    for name in ("server", "client", "stranger"):
        ident = generate_identity(1, name)
        (tmp_path / f"{name}.pem").write_bytes(ident.to_pem())
        (tmp_path / f"{name}.pub").write_bytes(public_identity_pem(ident.public()))
    server_ctx = ServerContext(tmp_path / "server.pem", mode=mode,
                               pinned_keys=[tmp_path / "client.pub"])

    def handler(sock):
        try:
            conn = server_ctx.wrap_socket(sock)
            conn.sendall(conn.recv(100))
            conn.close()
            return conn.peer_identity
        except Exception as exc:  # noqa: BLE001 - the refused client
            return exc

    served = Served(handler)
    ctx = ClientContext(str(tmp_path / "client.pem"), mode=mode,
                        pinned_keys=[str(tmp_path / "server.pub")])
    with ctx.wrap_socket(served.connect()) as conn:
        assert conn.peer_identity == b"server" and conn.local_identity == b"client"
        conn.sendall(b"pinned")
        assert conn.recv(100) == b"pinned"
    assert served.join() == b"client"

    # A client that pins another key refuses this server.
    served = Served(handler)
    with pytest.raises(Exception, match="access_denied|refused|pinned|not the"):
        ClientContext(tmp_path / "client.pem", mode=mode, mls="required" if mode ==
                      "extension" else None, pinned_keys=[tmp_path / "stranger.pub"]
                      ).wrap_socket(served.connect())
    served.join()


def test_the_readme_api_in_20_lines_runs(tmp_path):
    """The README's snippet, as printed, with identity files made by the keygen command."""
    import re
    import subprocess
    import sys
    from helpers import ROOT
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- api-in-20-lines:begin -->")[1].split(
        "<!-- api-in-20-lines:end -->")[0]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    assert len(code.strip().splitlines()) <= 21
    tool = [sys.executable, "-m", "tlslite_mls", "keygen"]
    for args in (["--suite", "0x0001", "--name", "server", "-o", "server.pem"],
                 ["--export-public", "server.pem", "-o", "server.pub"],
                 ["--suite", "0x0001", "--name", "client", "-o", "client.pem"]):
        subprocess.run(tool + args, cwd=tmp_path, check=True, timeout=120)
    for mode in ("mls-tls", "extension"):
        (tmp_path / "snippet.py").write_text(code.replace('mode = "mls-tls"',
                                                          f'mode = "{mode}"'))
        proc = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, timeout=120,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert "now epoch 2" in lines and lines.count("b'again' True 0x1 2") == 1
        assert lines[lines.index("now epoch 2") + 1].startswith("b'hello' True 0x1 ")
        assert lines[-1].startswith("b'server' ")


@pytest.mark.parametrize("server_mode, client_mode", [("mls-tls", "extension"),
                                                      ("extension", "mls-tls")])
def test_a_mode_mismatch_fails_at_once_with_an_alert(server_mode, client_mode):
    """Before, an MLS-TLS client kept an extension-mode server waiting for the ~64 KiB
    its client_hello seems to declare, until the client's 30 s timeout."""
    import time
    server_ctx = ServerContext(mode=server_mode)

    def handler(sock):
        try:
            server_ctx.wrap_socket(sock)
        except Exception as exc:  # noqa: BLE001 - what the server says
            return exc

    served = Served(handler)
    start = time.monotonic()
    with pytest.raises(Exception, match="decode_error|unexpected_message"):
        ClientContext(mode=client_mode, auth_policy=AcceptAnyCredential()).wrap_socket(
            served.connect())
    assert time.monotonic() - start < 10
    said = str(served.join())
    assert ("looks like a TLS ClientHello" if server_mode == "mls-tls"
            else "the client may speak MLS-TLS") in said


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_x509_credentials_checked_for_the_server_hostname(mode, tmp_path):
    from pki import TestCA
    from tlslite_mls.identity import generate_identity
    ca = TestCA(key_type="p256")
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    server_ctx = ServerContext(generate_identity(0x0002, "server.test", ca.pem(), ca.key_pem()),
                               mode=mode)

    def handler(sock):
        try:
            conn = server_ctx.wrap_socket(sock)
            conn.sendall(conn.recv(100))
            conn.close()
        except Exception as exc:  # noqa: BLE001 - a refused client
            return exc

    client_ctx = ClientContext(mode=mode, suites=[0x0002], trust_anchors=[tmp_path / "ca.pem"],
                               **({"mls": "required"} if mode == "extension" else {}))
    served = Served(handler)
    with client_ctx.wrap_socket(served.connect(), server_hostname="server.test") as conn:
        assert conn.negotiated and conn.peer_identity
        conn.sendall(b"x509")
        assert conn.recv(100) == b"x509"
    served.join()

    served = Served(handler)
    with pytest.raises(Exception, match="bad_certificate|name|server.test"):
        client_ctx.wrap_socket(served.connect(), server_hostname="other.test")
    served.join()
    if mode == "mls-tls":
        with socket.socket() as sock, pytest.raises(ValueError,
                                                    match="server_hostname is needed"):
            client_ctx.wrap_socket(sock)
