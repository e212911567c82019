"""Shared helpers of the TLS tests: a throw-away PKI, socket pairs, peers."""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from cryptography import x509
from tlslite import HandshakeSettings, X509CertChain, parsePEMKey

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
if str(REPO / "tests") not in sys.path:  # helper processes import this module directly
    sys.path.insert(0, str(REPO / "tests"))

from pki import TestCA, pem_pair  # noqa: E402


@dataclass
class TLSPKI:
    """A test CA and the TLS server certificate it issued for ``localhost`` and
    127.0.0.1; clients name the CA as their trust anchor."""

    dir: Path
    cert_pem: str
    key_pem: str
    ca_pem: str

    @property
    def cert_path(self) -> str:
        return str(self.dir / "cert.pem")

    @property
    def key_path(self) -> str:
        return str(self.dir / "key.pem")

    @property
    def ca_path(self) -> str:
        return str(self.dir / "ca.pem")

    def chain(self) -> X509CertChain:
        c = X509CertChain()
        c.parsePemList(self.cert_pem)
        return c

    def key(self) -> Any:
        return parsePEMKey(self.key_pem, private=True)

    def anchors(self) -> list:
        """The CA certificate, for ``trust_anchors``."""
        return x509.load_pem_x509_certificates(self.ca_pem.encode())


def make_pki(directory: Path, names: tuple = ("localhost", "127.0.0.1")) -> TLSPKI:
    ca = TestCA("tlslite_mls TLS test CA")
    cert_pem, key_pem = pem_pair(*ca.issue_tls(names))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cert.pem").write_text(cert_pem)
    (directory / "key.pem").write_text(key_pem)
    ca_pem = ca.pem().decode()
    (directory / "ca.pem").write_text(ca_pem)
    return TLSPKI(directory, cert_pem, key_pem, ca_pem)


def load_pki(directory: str) -> tuple[X509CertChain, Any]:
    """The (chain, key) of a make_pki directory, for helper processes."""
    d = Path(directory)
    chain = X509CertChain()
    chain.parsePemList((d / "cert.pem").read_text())
    return chain, parsePEMKey((d / "key.pem").read_text(), private=True)


def load_anchors(directory: str) -> list:
    """The trust anchors of a make_pki directory, for helper processes."""
    return x509.load_pem_x509_certificates((Path(directory) / "ca.pem").read_bytes())


def tls13_settings(**overrides: Any) -> HandshakeSettings:
    s = HandshakeSettings()
    s.minVersion = (3, 4)
    s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


class Result:
    def __init__(self) -> None:
        self.value: Any = None
        self.error: Optional[BaseException] = None


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, Result]:
    res = Result()

    def target() -> None:
        try:
            res.value = fn()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            res.error = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, res


def pair(client: Callable[[socket.socket], Any], server: Callable[[socket.socket], Any],
         timeout: float = 30.0) -> tuple[Result, Result]:
    """Run ``server`` in a thread and ``client`` here, over a socket pair."""
    a, b = socket.socketpair()
    a.settimeout(timeout)
    b.settimeout(timeout)
    t, sres = run_in_thread(lambda: server(b))
    cres = Result()
    try:
        cres.value = client(a)
    except BaseException as e:  # noqa: BLE001
        cres.error = e
    finally:
        pass
    t.join(timeout)
    for s in (a, b):
        try:
            s.close()
        except OSError:
            pass
    assert not t.is_alive(), "server thread hung"
    return cres, sres


def serve_one(handle: Callable[[socket.socket], Any]) -> tuple[int, Callable[[], Any]]:
    """A TCP server on 127.0.0.1 for one connection, which ``handle(sock)`` serves in a
    thread: (port, ``finish``); ``finish()`` waits for it and returns what ``handle``
    returned, or fails the test with its error."""
    srv = socket.create_server(("127.0.0.1", 0))

    def serve() -> Any:
        s, _ = srv.accept()
        s.settimeout(30)
        with s:
            return handle(s)
    t, result = run_in_thread(serve)

    def finish() -> Any:
        t.join(30)
        srv.close()
        assert not t.is_alive(), "server thread hung"
        assert result.error is None, result.error
        return result.value
    return srv.getsockname()[1], finish


def close_quietly(conn: Any) -> None:
    """Close a TLS connection whose classic peer may already have gone away."""
    try:
        conn.close()
    except Exception:  # noqa: BLE001
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: Optional[subprocess.Popen] = None, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"peer exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def env_with_repo() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests"), str(REPO / "tests" / "tls"),
                                         env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# --------------------------------------------------------------------------
# MLS settings with a named server identity the client checks
# --------------------------------------------------------------------------
SERVER_IDENTITY = b"tls-test-server"
_IDENTITY_KEYS: dict = {}


def basic_identity(name: bytes, suites: Any) -> tuple[dict, dict]:
    """(credential, signature_key) mappings suite -> value for a basic identity.

    Keys are cached per (name, suite): generating them is not what the tests test.
    """
    from tlslite_mls.mls.credentials import Credential
    from tlslite_mls.mls.crypto import get_cipher_suite
    creds, keys = {}, {}
    for suite in suites:
        key = _IDENTITY_KEYS.get((name, suite))
        if key is None:
            key = get_cipher_suite(suite).generate_signature_key_pair()[0]
            _IDENTITY_KEYS[(name, suite)] = key
        creds[suite], keys[suite] = Credential.basic(name), key
    return creds, keys


def server_mls(**kw: Any) -> Any:
    """MLSServerSettings with the basic identity SERVER_IDENTITY for its suites."""
    from tlslite_mls.tls import MLSServerSettings
    from tlslite_mls.tls.settings import DEFAULT_MLS_SUITES
    if "credential" not in kw:
        kw["credential"], kw["signature_key"] = basic_identity(
            SERVER_IDENTITY, kw.get("suites", DEFAULT_MLS_SUITES))
    return MLSServerSettings(**kw)


def client_mls(pki: Optional[TLSPKI] = None, **kw: Any) -> Any:
    """MLSClientSettings that expect SERVER_IDENTITY unless told otherwise.

    ``pki``: trust its CA, for the server's TLS certificate on classic fallback; the
    anchors then judge an MLS credential too (an x509 chain named SERVER_IDENTITY), so
    only for handshakes that fall back.
    """
    from tlslite_mls.tls import MLSClientSettings
    if not {"auth_policy", "trust_anchors", "expected_identity"} & set(kw):
        kw["expected_identity"] = SERVER_IDENTITY
    if pki is not None:
        kw["trust_anchors"] = pki.anchors()
    return MLSClientSettings(**kw)


def assert_epoch_formula_gives_handshake_secrets(conn, early=None):
    """Epoch 1's exporter through the section 5 formula gives the handshake's own keys.

    ``early``: the connection's EarlySecret; None for a handshake without a PSK.
    """
    from tlslite_mls.tls.epoch_keys import early_secret, epoch_traffic_secrets, prf_params
    st = conn._mls_ph
    name, size = prf_params(conn.session.cipherSuite)
    if early is None:
        early = early_secret(name, size, None)
    shared = conn.mls_exporter(b"TLS shared secret", b"", size)
    got = epoch_traffic_secrets(shared, early, st.transcript_hash, name, size)
    assert tuple(bytes(x) for x in got) == \
        (bytes(conn.session.cl_app_secret), bytes(conn.session.sr_app_secret))
