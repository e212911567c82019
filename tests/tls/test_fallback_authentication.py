"""Classic fallback authenticates the server (docs/profile.md sections 4 and 10).

A ``preferred`` client that meets a server without the extension (real OpenSSL
``s_server`` instances, and a man-in-the-middle that terminates TLS itself)
validates the server's certificate as ``ssl.create_default_context()`` does:
chain to the named trust anchors or the system store, the name or IP address
dialled, the validity period. Refusals carry the section 4 alert, which the
server logs, and the command line reports them in one line with exit code 1.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from tlslite.constants import AlertDescription
from tlslite.errors import TLSLocalAlert

from cryptography.hazmat.primitives.asymmetric import ed25519

from pki import TestCA, pem_pair, self_signed_tls
from tlslite_mls.tls import MLSClientSettings, MLSTLSConnection
from tlslite_mls.tls.certcheck import ServerCertificateError
from tlsutil import PY, SERVER_IDENTITY, env_with_repo, stop, tls13_settings

RUN = "import sys; from tlslite_mls.cli import main; sys.exit(main(sys.argv[1:]))"

# The alert as OpenSSL's s_server logs it on receipt.
OPENSSL_SAYS = {"unknown_ca": "alert unknown ca", "bad_certificate": "alert bad certificate",
                "certificate_expired": "alert certificate expired"}


class Certs:
    """PEM files of the cases, all but two from the test CA of ``pki``."""

    def __init__(self, directory: Path, ca_pem_path: str, ca: TestCA) -> None:
        self.dir = directory
        self.ca = ca_pem_path
        attacker = TestCA("Interception Proxy CA")
        self._write("wrong-name", ca.issue_tls(("other.test",)))
        self._write("expired", ca.issue_tls(not_before=datetime.timedelta(days=-60),
                                            not_after=datetime.timedelta(days=-30)))
        self._write("ip-only", ca.issue_tls(("127.0.0.1",)))
        self._write("dns-only", ca.issue_tls(("localhost",)))
        self._write("self-signed", self_signed_tls())
        self._write("attacker", attacker.issue_tls())
        # An x509 MLS credential (Ed25519, MLS suite 1) from the same CA as the TLS
        # certificates: one set of anchors serves both checks.
        mls_key = ed25519.Ed25519PrivateKey.generate()
        self._write("mls", (ca.issue_cert(mls_key.public_key(), "localhost"), mls_key))

    def _write(self, name: str, pair) -> None:
        cert, key = pem_pair(*pair)
        (self.dir / f"{name}.crt").write_text(cert)
        (self.dir / f"{name}.key").write_text(key)

    def cert(self, name: str) -> str:
        return str(self.dir / f"{name}.crt")

    def key(self, name: str) -> str:
        return str(self.dir / f"{name}.key")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    # Its own CA, so the case certificates need no private key of the session's pki.
    d = tmp_path_factory.mktemp("fallback-certs")
    ca = TestCA("fallback test CA")
    (d / "ca.pem").write_bytes(ca.pem())
    c = Certs(d, str(d / "ca.pem"), ca)
    c._write("good", ca.issue_tls(("localhost", "127.0.0.1")))
    ed_ca = TestCA("fallback Ed25519 CA", key_type="ed25519")
    (d / "ed-ca.pem").write_bytes(ed_ca.pem())
    c._write("ed25519", ed_ca.issue_tls(("localhost",), key_type="ed25519"))
    return c


def _client(port: int, *args: str, env: dict | None = None, data: str = "hello\n"):
    return subprocess.run([PY, "-c", RUN, "client", "--linger", "0.5", *args,
                           f"127.0.0.1:{port}"], input=data, capture_output=True, text=True,
                          timeout=60, env=env or env_with_repo())


def _server_log(log, expected: str, timeout: float = 10.0) -> str:
    """s_server's output once ``expected`` shows up in it (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        log.seek(0)
        text = log.read()
        if expected in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def _assert_refused(r, alert: str, reason: str) -> None:
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("client: handshake failed: " + alert + ": "), lines
    assert reason in lines[0], lines


# --------------------------------------------------------------------------
# against OpenSSL s_server
# --------------------------------------------------------------------------
def test_fallback_accepts_ca_certificate_with_the_right_name(openssl_server, certs):
    port, _ = openssl_server(cert=certs.cert("good"), key=certs.key("good"))
    r = _client(port, "--trust-anchor", certs.ca, "--server-name", "localhost")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "olleh\n"
    assert "MLS not negotiated, fell back to classic TLS 1.3 with TLS_" in r.stderr
    assert "server certificate verified for 'localhost' against 1 trust anchor" in r.stderr


@pytest.mark.parametrize("anchors", ["named", "system"])
def test_fallback_refuses_self_signed_certificate(openssl_server, certs, anchors):
    """Refused both against named anchors and with the default, the system store."""
    port, log = openssl_server(cert=certs.cert("self-signed"), key=certs.key("self-signed"))
    extra = ["--trust-anchor", certs.ca] if anchors == "named" else ["--expect-identity", "srv"]
    r = _client(port, "--server-name", "localhost", *extra)
    _assert_refused(r, "unknown_ca", "self-signed certificate 'CN=localhost' is not a trust "
                                     "anchor")
    if anchors == "system":
        assert "the system trust store" in r.stderr
    assert OPENSSL_SAYS["unknown_ca"] in _server_log(log, OPENSSL_SAYS["unknown_ca"])


def test_fallback_refuses_certificate_for_another_name(openssl_server, certs):
    port, log = openssl_server(cert=certs.cert("wrong-name"), key=certs.key("wrong-name"))
    r = _client(port, "--trust-anchor", certs.ca, "--server-name", "localhost")
    _assert_refused(r, "bad_certificate", "not valid for 'localhost' (it names other.test)")
    assert OPENSSL_SAYS["bad_certificate"] in _server_log(log, OPENSSL_SAYS["bad_certificate"])


def test_fallback_refuses_expired_certificate(openssl_server, certs):
    port, log = openssl_server(cert=certs.cert("expired"), key=certs.key("expired"))
    r = _client(port, "--trust-anchor", certs.ca, "--server-name", "localhost")
    _assert_refused(r, "certificate_expired", "server certificate 'CN=localhost' expired on ")
    assert OPENSSL_SAYS["certificate_expired"] in \
        _server_log(log, OPENSSL_SAYS["certificate_expired"])


def test_fallback_checks_the_ip_address_dialled(openssl_server, certs):
    """Without --server-name the host dialled is the name: 127.0.0.1 must be an IP SAN."""
    port, _ = openssl_server(cert=certs.cert("ip-only"), key=certs.key("ip-only"))
    r = _client(port, "--expect-identity", "srv", "--trust-anchor", certs.ca)
    assert r.returncode == 0, r.stderr
    assert "server certificate verified for '127.0.0.1'" in r.stderr
    port, log = openssl_server(cert=certs.cert("dns-only"), key=certs.key("dns-only"))
    r = _client(port, "--expect-identity", "srv", "--trust-anchor", certs.ca)
    _assert_refused(r, "bad_certificate", "not valid for '127.0.0.1' (it names localhost)")
    assert OPENSSL_SAYS["bad_certificate"] in _server_log(log, OPENSSL_SAYS["bad_certificate"])


def test_fallback_validates_ed25519_certificates(openssl_server, certs):
    """Ed25519 keys and signatures, which ssl accepts and the Web PKI verifier does not."""
    port, _ = openssl_server(cert=certs.cert("ed25519"), key=certs.key("ed25519"))
    r = _client(port, "--trust-anchor", str(certs.dir / "ed-ca.pem"), "--server-name",
                "localhost")
    assert r.returncode == 0, r.stderr
    assert "server certificate verified for 'localhost' against 1 trust anchor" in r.stderr
    port, log = openssl_server(cert=certs.cert("ed25519"), key=certs.key("ed25519"))
    r = _client(port, "--trust-anchor", certs.ca, "--server-name", "localhost")
    _assert_refused(r, "unknown_ca", "issued by 'CN=fallback Ed25519 CA'")
    assert OPENSSL_SAYS["unknown_ca"] in _server_log(log, OPENSSL_SAYS["unknown_ca"])


def test_system_trust_store_follows_ssl_cert_file(openssl_server, certs):
    """No anchors named: the system store, where OpenSSL (and ssl) would look."""
    port, _ = openssl_server(cert=certs.cert("good"), key=certs.key("good"))
    env = env_with_repo()
    env["SSL_CERT_FILE"] = certs.ca
    r = _client(port, "--expect-identity", "srv", "--server-name", "localhost", env=env)
    assert r.returncode == 0, r.stderr
    assert f"verified for 'localhost' against the system trust store ({certs.ca})" in r.stderr


def test_insecure_accepts_unverifiable_certificate_and_says_so(openssl_server, certs):
    port, _ = openssl_server(cert=certs.cert("self-signed"), key=certs.key("self-signed"))
    r = _client(port, "--expect-identity", "srv", "--insecure")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "olleh\n"
    assert "fell back to classic TLS 1.3 with TLS_" in r.stderr
    assert "server certificate NOT verified (--insecure)" in r.stderr


def test_library_refusal_is_an_alert_caused_by_server_certificate_error(openssl_server, certs):
    """The library: TLSLocalAlert with the section 4 alert, its cause names the reason."""
    port, log = openssl_server(cert=certs.cert("expired"), key=certs.key("expired"))
    mls = MLSClientSettings(expected_identity=SERVER_IDENTITY,
                            trust_anchors=[Path(certs.ca).read_bytes()])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn = MLSTLSConnection(sock)
        with pytest.raises(TLSLocalAlert) as info:
            conn.handshakeClientMLS(mls, settings=tls13_settings(), serverName="localhost")
    assert info.value.description == AlertDescription.certificate_expired
    cause = info.value.__cause__
    assert isinstance(cause, ServerCertificateError)
    assert cause.alert == AlertDescription.certificate_expired and "expired" in cause.reason
    assert not conn.mls_fell_back and conn.server_certificate_check is None
    assert OPENSSL_SAYS["certificate_expired"] in \
        _server_log(log, OPENSSL_SAYS["certificate_expired"])


def test_tls12_fallback_is_verified_too(openssl_server, certs):
    """A client that allows TLS 1.2 checks the certificate of a TLS 1.2 server alike."""
    port, log = openssl_server(cert=certs.cert("self-signed"), key=certs.key("self-signed"),
                               version="-tls1_2")
    mls = MLSClientSettings(expected_identity=SERVER_IDENTITY)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn = MLSTLSConnection(sock)
        with pytest.raises(TLSLocalAlert) as info:
            conn.handshakeClientMLS(mls, settings=tls13_settings(minVersion=(3, 3)),
                                    serverName="localhost")
    assert info.value.description == AlertDescription.unknown_ca
    assert OPENSSL_SAYS["unknown_ca"] in _server_log(log, OPENSSL_SAYS["unknown_ca"])


# --------------------------------------------------------------------------
# a man in the middle that terminates TLS with its own certificate
# --------------------------------------------------------------------------
class TerminatingProxy:
    """127.0.0.1 TCP proxy that ends the client's TLS itself (its own certificate, no
    MLS extension) and relays the plaintext over classic TLS to the real server."""

    def __init__(self, cert: str, key: str, upstream_port: int) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.upstream = upstream_port
        self.errors: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(raw,), daemon=True).start()

    def _relay(self, raw: socket.socket) -> None:
        raw.settimeout(30)
        try:
            down = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.errors.append(str(e))
            raw.close()
            return
        up_ctx = ssl.create_default_context()
        up_ctx.check_hostname = False
        up_ctx.verify_mode = ssl.CERT_NONE  # the attacker does not care who is upstream
        with down, up_ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.upstream),
                                                               timeout=30)) as up:
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
            time.sleep(5)

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(4096):
                dst.sendall(data)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def mls_server(certs):
    """Our CLI server, MLS preferred: an x509 MLS credential and a TLS certificate for
    'localhost', both from the test CA."""
    p = subprocess.Popen([PY, "-c", RUN, "server", "--mls-cert", certs.cert("mls"),
                          "--mls-key", certs.key("mls"), "--cert", certs.cert("good"),
                          "--key", certs.key("good"), "127.0.0.1:0"],
                         env=env_with_repo(), stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    port = int(line.split("listening on 127.0.0.1:")[1].split(",")[0])
    yield port
    stop(p)
    p.stderr.close()


def test_man_in_the_middle_with_its_own_certificate_is_refused(mls_server, certs):
    trust = ("--trust-anchor", certs.ca, "--server-name", "localhost")
    # Straight to the server: MLS, its x509 credential checked against the anchors.
    r = _client(mls_server, *trust)
    assert r.returncode == 0, r.stderr
    assert "MLS negotiated" in r.stderr and "x509 chain verified to 1 trust anchor(s), name 'localhost'" in r.stderr
    proxy = TerminatingProxy(certs.cert("attacker"), certs.key("attacker"), mls_server)
    try:
        # Through the proxy the extension never reaches the server; the same anchors
        # and name judge the proxy's certificate.
        r = _client(proxy.port, *trust)
        _assert_refused(r, "unknown_ca", "issued by 'CN=Interception Proxy CA'")
        deadline = time.monotonic() + 10
        while not proxy.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any("ALERT_UNKNOWN_CA" in e for e in proxy.errors), proxy.errors
        # What --insecure gives up: the same proxy now reads everything.
        r = _client(proxy.port, *trust, "--insecure")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "hello\n"
        assert "fell back to classic TLS 1.3 with TLS_" in r.stderr
        assert "server certificate NOT verified (--insecure)" in r.stderr
    finally:
        proxy.close()


# --------------------------------------------------------------------------
# the setting and the flag
# --------------------------------------------------------------------------
def test_insecure_shows_in_the_summary_when_mls_is_negotiated(mls_server, certs):
    r = _client(mls_server, "--trust-anchor", certs.ca, "--server-name", "localhost",
                "--insecure")
    assert r.returncode == 0, r.stderr
    assert "MLS negotiated" in r.stderr
    assert "TLS certificate check off (--insecure)" in r.stderr


def test_insecure_is_refused_where_there_is_no_fallback():
    r = _client(9, "--expect-identity", "srv", "--insecure", "--mls", "required")
    assert r.returncode == 2 and "never falls back" in r.stderr
    assert "Traceback" not in r.stderr
    r = _client(9, "--expect-identity", "srv", "--insecure", "--mls-tls")
    assert r.returncode == 2 and "MLS-TLS has no fallback" in r.stderr
    with pytest.raises(ValueError, match="never falls back"):
        MLSClientSettings(mode="required", expected_identity=b"x", insecure=True).validate()
    with pytest.raises(ValueError, match="insecure"):
        MLSClientSettings(expected_identity=b"x", insecure="yes").validate()


def test_verification_is_the_default():
    assert MLSClientSettings(expected_identity=b"x").validate().insecure is False
    from tlslite_mls.cli import build_parser
    args = build_parser().parse_args(["client", "--expect-identity", "x", "127.0.0.1:1"])
    assert args.insecure is False


def test_accept_any_identity_with_anchors_is_refused_in_one_line():
    r = _client(9, "--accept-any-identity", "--trust-anchor", "/nonexistent")
    # A usage mistake: exit code 2.
    assert r.returncode == 2 and "stands alone" in r.stderr and "Traceback" not in r.stderr


def test_repr_shows_insecure_without_secrets():
    text = repr(MLSClientSettings(expected_identity=b"x", insecure=True))
    assert "TLS certificate on fallback: NOT verified (insecure)" in text
    assert "system trust store" in repr(MLSClientSettings(expected_identity=b"x"))


def test_client_without_any_name_refuses_fallback(pki):
    """A socket with no IP peer (socketpair) and no server name: nothing to check the
    certificate against, so bad_certificate rather than an unchecked session."""
    from tlslite import TLSConnection
    from tlsutil import client_mls, pair

    def server(sock):
        TLSConnection(sock).handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                                            settings=tls13_settings())

    def client(sock):
        MLSTLSConnection(sock).handshakeClientMLS(client_mls(pki), settings=tls13_settings())
    c, _ = pair(client, server)
    assert isinstance(c.error, TLSLocalAlert), c.error
    assert c.error.description == AlertDescription.bad_certificate
    assert "no server name" in str(c.error)


def test_required_client_never_falls_back(openssl_server, certs):
    port, _ = openssl_server(cert=certs.cert("good"), key=certs.key("good"))
    r = _client(port, "--expect-identity", "srv", "--mls", "required")
    _assert_refused(r, "handshake_failure", "MLS is required")
