"""Fallback to classic TLS 1.3 with peers that do not know the extension.

Our client (a separate process, see peer_client.py) against OpenSSL, GnuTLS
(in its own network namespace), Python ``ssl`` and plain tlslite-ng servers;
our server against the matching clients. Every case checks TLS 1.3, that the
extension is not echoed, and data in both directions; some force a
HelloRetryRequest, one sends a ClientHello larger than one record.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import textwrap

import pytest
from tlslite import TLSConnection
from tlslite.constants import AlertDescription, AlertLevel, ContentType
from tlslite.messages import Alert
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert

from helpers import require
from tlslite_mls.codepoints import TLS_EXT_MLS_HANDSHAKE
from tlslite_mls.probe.raw import RecordingSocket, records
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.errors import MLSNegotiationError
from tlsutil import (PY, client_mls, close_quietly, env_with_repo, pair, run_in_thread,
                     serve_one, server_mls, stop, tls13_settings)

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_CLIENT = os.path.join(HERE, "peer_client.py")


def _our_client(pki, port: int, *args: str) -> dict:
    """Our client in its own process; it trusts ``pki``'s CA for the TLS certificate."""
    cmd = [PY, PEER_CLIENT, "127.0.0.1", str(port), "--ca", pki.ca_path, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env_with_repo())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_fallback(res: dict, reply: str) -> None:
    assert "error" not in res, res
    assert res["version"] == [3, 4]
    assert res["mls"] is False
    assert res["fell_back"] is True
    assert res["certificate"].startswith("verified for '127.0.0.1' against 1 trust anchor"), res
    for types in res["server_hellos"]:
        assert TLS_EXT_MLS_HANDSHAKE not in types
    assert res["reply"] == reply


# --------------------------------------------------------------------------
# our client against classic servers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("extra,client_args", [
    ((), ()),
    (("-groups", "P-384"), ()),                              # HelloRetryRequest
    ((), ("--identity-size", "20000")),                      # ClientHello over 16 KB
], ids=["plain", "hrr", "big-client-hello"])
def test_client_vs_openssl(pki, openssl_server, extra, client_args):
    port, _ = openssl_server(*extra)
    res = _our_client(pki, port, *client_args)
    _check_fallback(res, "olleh\n")
    if extra:
        assert len(res["server_hellos"]) == 2


def test_required_client_vs_openssl(pki, openssl_server):
    port, log = openssl_server()
    res = _our_client(pki, port, "--mode", "required")
    assert "handshake_failure" in res["error"] and "MLS is required" in res["error"]
    log.seek(0)
    assert "handshake failure" in log.read()


def _gnutls_serv(pki, port: int, opts: str, *client_args: str) -> dict:
    script = textwrap.dedent(f"""
        ip link set lo up
        gnutls-serv --echo -p {port} --x509keyfile {pki.key_path} \\
            --x509certfile {pki.cert_path} {opts} >/dev/null 2>&1 & S=$!
        for i in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done
        {PY} {PEER_CLIENT} 127.0.0.1 {port} --ca {pki.ca_path} {' '.join(client_args)}
        kill $S
        """)
    out = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True,
                         text=True, timeout=90, env=env_with_repo())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("opts", [
    "-a",
    "",  # default: asks for a client certificate
    "-a --priority NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP384R1",  # HRR
], ids=["plain", "client-cert-request", "hrr"])
def test_client_vs_gnutls(pki, opts):
    require(shutil.which("gnutls-serv") is not None, "gnutls-serv (gnutls-bin)")
    require(shutil.which("unshare") is not None and shutil.which("ip") is not None,
            "unshare and ip (network namespace for gnutls-serv)")
    require(os.geteuid() == 0, "root, for a private network namespace")
    res = _gnutls_serv(pki, 4433, opts)
    _check_fallback(res, "hello\n")
    if "GROUP" in opts:
        assert len(res["server_hellos"]) == 2


PY_SSL_SERVER = textwrap.dedent("""
    import socket, ssl, sys
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
    print(srv.getsockname()[1], flush=True)
    while True:
        c, _ = srv.accept()
        try:
            with ctx.wrap_socket(c, server_side=True) as t:
                data = t.recv(4096)
                t.sendall(b"py:" + data)
        except (ssl.SSLError, OSError):
            pass
    """)


def test_client_vs_python_ssl(pki):
    p = subprocess.Popen([PY, "-c", PY_SSL_SERVER, pki.cert_path, pki.key_path],
                         stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        res = _our_client(pki, port)
        _check_fallback(res, "py:hello\n")
    finally:
        stop(p)


def _plain_tlslite_server(pki, sock, settings):
    conn = TLSConnection(sock)
    conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(), settings=settings)
    version = conn.version
    data = conn.read()
    conn.write(b"tl:" + bytes(data))
    conn.close()
    return version


@pytest.mark.parametrize("hrr", [False, True], ids=["plain", "hrr"])
def test_client_vs_plain_tlslite(pki, hrr):
    settings = tls13_settings(eccCurves=["secp256r1"], keyShares=["secp256r1"]) if hrr \
        else tls13_settings()
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        s, _ = srv.accept()
        with s:
            return _plain_tlslite_server(pki, s, settings)
    t, result = run_in_thread(serve)
    try:
        res = _our_client(pki, port)
    finally:
        t.join(30)
        srv.close()
    assert result.error is None, result.error
    assert result.value == (3, 4)
    _check_fallback(res, "tl:hello\n")
    assert len(res["server_hellos"]) == (2 if hrr else 1)


# --------------------------------------------------------------------------
# our server against classic clients
# --------------------------------------------------------------------------
def _serve_once(pki, mls=None, settings=None):
    """Our MLS server on a TCP port: one connection, echo one read."""
    def serve(s):
        conn = MLSTLSConnection(s)
        conn.handshakeServerMLS(mls or server_mls(), certChain=pki.chain(),
                                privateKey=pki.key(), settings=settings or tls13_settings())
        conn.negotiated_version = conn.version
        data = conn.read()
        conn.write(b"mls-srv:" + bytes(data))
        close_quietly(conn)
        return conn
    port, done = serve_one(serve)

    def finish():
        conn = done()
        assert conn.negotiated_version == (3, 4)
        assert not conn.mls_negotiated
        return conn
    return port, finish


HRR_SERVER = dict(eccCurves=["secp384r1"], keyShares=["secp384r1"])


@pytest.mark.parametrize("hrr", [False, True], ids=["plain", "hrr"])
def test_server_vs_openssl_client(pki, hrr):
    require(shutil.which("openssl") is not None, "openssl")
    port, finish = _serve_once(pki, settings=tls13_settings(**HRR_SERVER) if hrr else None)
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-quiet",
           "-CAfile", pki.ca_path, "-verify_return_error", "-verify_ip", "127.0.0.1",
           "-groups", "X25519:P-384"]
    out = subprocess.run(cmd, input="hello\n", capture_output=True, text=True, timeout=30)
    finish()
    assert "mls-srv:hello" in out.stdout, out.stderr


@pytest.mark.parametrize("hrr", [False, True], ids=["plain", "hrr"])
def test_server_vs_gnutls_client(pki, hrr):
    require(shutil.which("gnutls-cli") is not None, "gnutls-cli (gnutls-bin)")
    port, finish = _serve_once(pki, settings=tls13_settings(**HRR_SERVER) if hrr else None)
    prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
    if hrr:
        prio += ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1"
    cmd = ["gnutls-cli", "--x509cafile", pki.ca_path, "--priority", prio, "-p", str(port),
           "127.0.0.1"]
    out = subprocess.run(cmd, input="hello\n", capture_output=True, text=True, timeout=30)
    finish()
    assert "mls-srv:hello" in out.stdout, out.stdout + out.stderr
    assert "TLS1.3" in out.stdout + out.stderr


def test_server_vs_python_ssl_client(pki):
    port, finish = _serve_once(pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(pki.ca_path)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            assert t.version() == "TLSv1.3"
            t.sendall(b"hello")
            assert t.recv(4096) == b"mls-srv:hello"
    finish()


@pytest.mark.parametrize("hrr", [False, True], ids=["plain", "hrr"])
def test_server_vs_plain_tlslite_client(pki, hrr):
    port, finish = _serve_once(pki, settings=tls13_settings(**HRR_SERVER) if hrr else None)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        conn = TLSConnection(raw)
        conn.handshakeClientCert(settings=tls13_settings(
            keyShares=["x25519"], eccCurves=["x25519", "secp384r1"]))
        assert conn.version == (3, 4)
        conn.write(b"hello")
        assert bytes(conn.read()) == b"mls-srv:hello"
    finish()


@pytest.mark.parametrize("mls_mode", ["preferred", "off"])
def test_server_without_alpn_accepts_client_offering_alpn(pki, mls_mode):
    """Browsers and curl offer ALPN; a server that configured none must ignore it."""
    port, finish = _serve_once(pki, mls=server_mls(mode=mls_mode))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(pki.ca_path)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            assert t.selected_alpn_protocol() is None
            t.sendall(b"hello")
            assert t.recv(4096) == b"mls-srv:hello"
    finish()


def test_required_server_vs_plain_client(pki):
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        s, _ = srv.accept()
        with s:
            MLSTLSConnection(s).handshakeServerMLS(
                server_mls(mode="required"), certChain=pki.chain(), privateKey=pki.key(),
                settings=tls13_settings())
    t, result = run_in_thread(serve)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with pytest.raises(TLSRemoteAlert) as remote:
            TLSConnection(raw).handshakeClientCert(settings=tls13_settings())
    t.join(30)
    srv.close()
    assert "handshake_failure" in str(remote.value)
    assert isinstance(result.error, TLSLocalAlert)
    assert "does not offer" in str(result.error)


def _refusal_seen_by_classic_server(pki, mls, server_name=None, client_settings=None) -> tuple:
    """Our client (``mls``) against a plain tlslite-ng server that records what it
    receives: (client error, server error, the record types the server got)."""
    received = {}

    def server(sock):
        rec = RecordingSocket(sock)
        received["rec"] = rec
        TLSConnection(rec).handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                                           settings=tls13_settings())

    def client(sock):
        MLSTLSConnection(sock, mls_settings=mls).handshakeClientCert(
            settings=client_settings or tls13_settings(), serverName=server_name)
    c, s = pair(client, server)
    return c.error, s.error, [t for t, _ in records(bytes(received["rec"].received))]


def test_required_client_refuses_hello_retry_request_for_a_share(pki):
    """docs/profile.md section 3: a required client sends an empty key_share; a classic
    server asks for a share (HelloRetryRequest) and the client refuses, before any key
    exists, with a plaintext handshake_failure."""
    c, s, types = _refusal_seen_by_classic_server(pki, client_mls(mode="required"))
    assert isinstance(c, TLSLocalAlert) and "asked for a key share" in str(c), c
    assert isinstance(c.__cause__, MLSNegotiationError)
    assert isinstance(s, TLSRemoteAlert), s
    assert s.description == AlertDescription.handshake_failure
    assert types == [ContentType.handshake, ContentType.alert], types


def test_required_client_alert_is_encrypted_after_server_hello(pki):
    """After ServerHello a TLS 1.3 server reads with the client handshake traffic key:
    the required-mode refusal must be an encrypted record, or NSS, Go and Java see a
    record error instead of handshake_failure. (A required client that offers a PSK
    keeps real key shares, for psk_dhe_ke resumption; this server does not know the
    PSK and completes a classic ServerHello.)"""
    settings = tls13_settings(pskConfigs=[(b"unknown", bytearray(32), "sha256")])
    c, s, types = _refusal_seen_by_classic_server(pki, client_mls(mode="required"),
                                                  client_settings=settings)
    assert isinstance(c, TLSLocalAlert) and "did not accept" in str(c)
    assert isinstance(s, TLSRemoteAlert), s
    assert s.description == AlertDescription.handshake_failure
    assert types[0] == ContentType.handshake
    assert types[-1] == ContentType.application_data, types  # protected, not a bare alert


def test_certificate_refusal_alert_is_encrypted_after_server_hello(pki):
    """The fallback's certificate alert (docs/profile.md section 10) goes under the client
    handshake traffic key too, and the server reads it as unknown_ca."""
    # No trust anchors: the system store, which lacks the test CA.
    c, s, types = _refusal_seen_by_classic_server(pki, client_mls(), "localhost")
    assert isinstance(c, TLSLocalAlert) and "not trusted" in str(c), c
    assert isinstance(s, TLSRemoteAlert), s
    assert s.description == AlertDescription.unknown_ca
    assert types[0] == ContentType.handshake
    assert types[-1] == ContentType.application_data, types  # protected, not a bare alert


def test_user_canceled_then_close_notify_ends_the_data(pki):
    """RFC 8446 section 6.1: user_canceled is a closure alert. Java's JSSE sends it with
    close_notify when it closes; the reader gets the data, then the end, no exception."""
    def server(sock):
        conn = TLSConnection(sock)
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=tls13_settings())
        conn.write(b"bye")
        for _ in conn._sendMsg(Alert().create(AlertDescription.user_canceled,
                                              AlertLevel.warning)):
            pass
        conn.close()

    def client(sock):
        conn = MLSTLSConnection(sock, mls_settings=client_mls(pki, mode="preferred"))
        conn.handshakeClientCert(settings=tls13_settings(), serverName="localhost")
        return bytes(conn.read()), bytes(conn.read())
    c, s = pair(client, server)
    assert c.error is None, c.error
    assert c.value == (b"bye", b"")
