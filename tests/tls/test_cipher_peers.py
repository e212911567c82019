"""Record ciphers beyond AES-GCM and ChaCha20 (accel.py, ciphers.py) against peers we
did not write: OpenSSL ``s_server``/``s_client``, Python ``ssl``, GnuTLS ``gnutls-cli``.

Each case negotiates one suite (TLS 1.3 AES-CCM and CCM_8, TLS 1.2 AES-CBC with
encrypt-then-MAC and without, AES-CCM, 3DES-CBC), moves several records each way, and
checks that the peer read ours, we read theirs, and no pure-Python cipher ran on our
side (``AEADWatch`` refuses them all).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess

import pytest

from helpers import AEADWatch, require
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.accel import OpenSSLAEAD
from tlslite_mls.tls.ciphers import OpenSSLCBC
from tlsutil import client_mls, close_quietly, serve_one, server_mls, tls13_settings

TLS13, TLS12 = (3, 4), (3, 3)
LINES = [b"first record\n", b"x" * 3000 + b"\n", b"third\n"]


def _settings(version, cipher, mac="aead"):
    return tls13_settings(minVersion=version, maxVersion=version, cipherNames=[cipher],
                          macNames=[mac])


def _check_ours(conn, kind) -> None:
    assert conn.getCipherImplementation() == "openssl"
    for obj in (conn._recordLayer._readState.encContext,
                conn._recordLayer._writeState.encContext):
        assert type(obj) is kind, obj


def _read_line(conn) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        data += bytes(conn.read())
    return data


# --------------------------------------------------------------------------
# our client against openssl s_server -rev (each line comes back reversed)
# --------------------------------------------------------------------------
CLIENT_CASES = [
    ("-tls1_3", ["-ciphersuites", "TLS_AES_128_CCM_SHA256"], TLS13, "aes128ccm", "aead",
     OpenSSLAEAD),
    ("-tls1_3", ["-ciphersuites", "TLS_AES_128_CCM_8_SHA256"], TLS13, "aes128ccm_8", "aead",
     OpenSSLAEAD),
    ("-tls1_2", ["-cipher", "ECDHE-ECDSA-AES128-SHA"], TLS12, "aes128", "sha", OpenSSLCBC),
    ("-tls1_2", ["-cipher", "ECDHE-ECDSA-AES128-SHA256", "-no_etm"], TLS12, "aes128",
     "sha256", OpenSSLCBC),
    ("-tls1_2", ["-cipher", "ECDHE-ECDSA-AES256-SHA384"], TLS12, "aes256", "sha384",
     OpenSSLCBC),
    ("-tls1_2", ["-cipher", "ECDHE-ECDSA-AES128-CCM8"], TLS12, "aes128ccm_8", "aead",
     OpenSSLAEAD),
]


@pytest.mark.parametrize("version_flag,extra,version,cipher,mac,kind", CLIENT_CASES,
                         ids=["tls13-ccm", "tls13-ccm8", "tls12-aes128-sha-etm",
                              "tls12-aes128-sha256-mte", "tls12-aes256-sha384", "tls12-ccm8"])
def test_our_client_vs_openssl_server(monkeypatch, pki, openssl_server, version_flag, extra,
                                      version, cipher, mac, kind):
    watch = AEADWatch().install(monkeypatch)
    port, log = openssl_server(*extra, version=version_flag)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn = MLSTLSConnection(sock, mls_settings=client_mls(pki, mode="preferred"))
        conn.handshakeClientCert(settings=_settings(version, cipher, mac),
                                 serverName="localhost")
        assert conn.version == version and conn.getCipherName() == cipher
        assert conn.mls_fell_back == (version == TLS13)
        assert conn._recordLayer.encryptThenMAC == (kind is OpenSSLCBC and "-no_etm" not in
                                                    extra)
        for line in LINES:
            conn.write(line)
            assert _read_line(conn) == line[:-1][::-1] + b"\n"
        _check_ours(conn, kind)
        conn.close()
    assert not watch.pure_python


# --------------------------------------------------------------------------
# their clients against our server (echoes one read with a prefix)
# --------------------------------------------------------------------------
def _serve(pki, settings):
    """Our server on a TCP port for one connection; ``finish()`` returns its state."""
    def serve(s):
        conn = MLSTLSConnection(s)
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=settings)
        pending, answered = b"", 0
        while answered < len(LINES):  # their client may put several lines in a record
            pending += bytes(conn.read())
            *lines, pending = pending.split(b"\n")
            for line in lines:
                conn.write(b"mls-srv:" + line + b"\n")
                answered += 1
        state = (conn.version, conn.getCipherName(), conn.getCipherImplementation(),
                 type(conn._recordLayer._readState.encContext),
                 type(conn._recordLayer._writeState.encContext))
        close_quietly(conn)
        return state
    return serve_one(serve)


def _expect(out: str, finish, version, cipher, kind) -> None:
    state = finish()
    for line in LINES:
        assert "mls-srv:" + line.decode() in out
    assert state == (version, cipher, "openssl", kind, kind), state


SERVER_CASES = [
    (["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"], TLS13, "aes128ccm", "aead",
     OpenSSLAEAD),
    (["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256"], TLS13, "aes128ccm_8",
     "aead", OpenSSLAEAD),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"], TLS12, "aes128", "sha256",
     OpenSSLCBC),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA", "-no_etm"], TLS12, "aes128", "sha",
     OpenSSLCBC),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-CCM"], TLS12, "aes128ccm", "aead",
     OpenSSLAEAD),
]


@pytest.mark.parametrize("args,version,cipher,mac,kind", SERVER_CASES,
                         ids=["tls13-ccm", "tls13-ccm8", "tls12-aes128-sha256-etm",
                              "tls12-aes128-sha-mte", "tls12-ccm"])
def test_openssl_client_vs_our_server(monkeypatch, pki, args, version, cipher, mac, kind):
    require(shutil.which("openssl") is not None, "openssl")
    watch = AEADWatch().install(monkeypatch)
    port, finish = _serve(pki, _settings(version, cipher, mac))
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-quiet", "-CAfile",
           pki.ca_path, "-verify_return_error", "-verify_ip", "127.0.0.1", *args]
    out = subprocess.run(cmd, input=b"".join(LINES).decode(), capture_output=True,
                         text=True, timeout=60)
    _expect(out.stdout, finish, version, cipher, kind)
    assert not watch.pure_python


PY_SSL_CASES = [("ECDHE-ECDSA-AES128-SHA", "aes128", "sha", OpenSSLCBC),
                ("ECDHE-ECDSA-AES256-SHA384", "aes256", "sha384", OpenSSLCBC),
                ("ECDHE-ECDSA-AES128-CCM", "aes128ccm", "aead", OpenSSLAEAD)]


@pytest.mark.parametrize("openssl_name,cipher,mac,kind", PY_SSL_CASES,
                         ids=[c[0] for c in PY_SSL_CASES])
def test_python_ssl_client_vs_our_server(monkeypatch, pki, openssl_name, cipher, mac, kind):
    """Python's ``ssl`` has no API for TLS 1.3 suites, so TLS 1.2 only."""
    watch = AEADWatch().install(monkeypatch)
    port, finish = _serve(pki, _settings(TLS12, cipher, mac))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(openssl_name)
    ctx.load_verify_locations(pki.ca_path)
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as t:
            assert t.cipher()[0] == openssl_name
            for line in LINES:
                t.sendall(line)
                while not out.endswith(b"\n"):
                    out += t.recv(65536)
                out += b"|"
    _expect(out.decode(), finish, TLS12, cipher, kind)
    assert not watch.pure_python


GNUTLS_CASES = [
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+3DES-CBC:-MAC-ALL:+SHA1", TLS12, "3des",
     "sha", OpenSSLCBC),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM", TLS13, "aes128ccm", "aead",
     OpenSSLAEAD),
]


@pytest.mark.parametrize("priority,version,cipher,mac,kind", GNUTLS_CASES,
                         ids=["tls12-3des", "tls13-ccm"])
def test_gnutls_client_vs_our_server(monkeypatch, pki, priority, version, cipher, mac, kind):
    """GnuTLS still speaks 3DES-CBC (OpenSSL 3 and Python ``ssl`` here do not)."""
    require(shutil.which("gnutls-cli") is not None, "gnutls-cli (gnutls-bin)")
    watch = AEADWatch().install(monkeypatch)
    port, finish = _serve(pki, _settings(version, cipher, mac))
    cmd = ["gnutls-cli", "--x509cafile", pki.ca_path, "--priority", priority, "-p", str(port),
           "127.0.0.1"]
    # gnutls-cli hangs up at the end of its input: keep it open until the replies are in
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as peer:
        peer.stdin.write(b"".join(LINES))
        peer.stdin.flush()
        out = b""
        while not out.endswith(b"mls-srv:" + LINES[-1]):
            line = peer.stdout.readline()  # our server closes (EOF) if anything goes wrong
            if not line:
                break
            out += line
        peer.stdin.close()
        peer.wait(30)
    _expect(out.decode(), finish, version, cipher, kind)
    assert not watch.pure_python
