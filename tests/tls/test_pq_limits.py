"""docs/profile.md section 9 with post-quantum suites: a KeyPackage or Welcome that does not
fit into the 65,535-byte TLS extension is refused before it is sent.

ML-DSA-87 certificates are 7.5 KB each, so an x509 credential of 0xF00B reaches the
limit with a long chain: the KeyPackage carries the client's chain once, the Welcome
both members' chains (README: which suite and credential combinations fit).
"""

from __future__ import annotations

import socket

import pytest
from tlslite.constants import AlertDescription
from tlslite.errors import TLSRemoteAlert

from pki import TestCA
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.tls import MLSBodyTooLarge, MLSTLSConnection
from tlsutil import client_mls, make_pki, pair, server_mls, tls13_settings

SUITE = 0xF00B  # ML-KEM-1024, ML-DSA-87


def _x509_identity(ca: TestCA, name: str, server: bool) -> tuple[Credential, bytes]:
    cs = get_cipher_suite(SUITE)
    key, _ = cs.generate_signature_key_pair()
    return Credential.x509(ca.credential_chain(cs, key, name, server=server)), key


@pytest.fixture(scope="module")
def root():
    return TestCA("PQ root", key_type="mldsa87")


def _chain_of(root: TestCA, intermediates: int) -> TestCA:
    ca = root
    for i in range(intermediates):
        ca = ca.intermediate(f"PQ intermediate {i}", key_type="mldsa87")
    return ca


def test_too_large_key_package_refused_before_sending(root):
    cred, key = _x509_identity(_chain_of(root, 7), "client.test", server=False)
    assert sum(len(c) for c in cred.certificates) > 50_000  # 8 certificates of 7.5 KB
    mls = client_mls(mode="required", suites=[SUITE], credential=cred, signature_key=key)
    a, b = socket.socketpair()
    try:
        b.setblocking(False)
        conn = MLSTLSConnection(a)
        with pytest.raises(MLSBodyTooLarge) as info:
            conn.handshakeClientMLS(mls, settings=tls13_settings())
        try:
            received = b.recv(65536)
        except BlockingIOError:
            received = b""
        assert received == b"", received[:16]  # nothing was sent, not even a ClientHello
    finally:
        a.close()
        b.close()
    text = str(info.value)
    assert "suite 0xf00b" in text and "x509 credential of 8 certificate(s)" in text, text
    assert "65535" in text


def _welcome_too_large(root, mode, tls_pki=None):
    """A client KeyPackage that fits (about 45 KB) and a server whose own chain makes
    the Welcome, which carries both, too large. ``tls_pki``: the server's TLS
    certificate, whose CA the client trusts too (it judges classic fallback)."""
    ccred, ckey = _x509_identity(_chain_of(root, 3), "client.test", server=False)
    scred, skey = _x509_identity(_chain_of(root, 3), "server.test", server=True)
    smls = server_mls(mode=mode, suites=[SUITE], credential={SUITE: scred},
                      signature_key={SUITE: skey})
    cmls = client_mls(mode="preferred", suites=[SUITE], credential=ccred, signature_key=ckey,
                      trust_anchors=[root.pem(), *(tls_pki.anchors() if tls_pki else [])],
                      server_name="server.test")

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(smls, certChain=server.pki.chain(), privateKey=server.pki.key(),
                                settings=tls13_settings())
        conn.write(b"x")
        return conn

    def client(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(cmls, settings=tls13_settings())
        conn.read()
        return conn
    return client, server


@pytest.fixture(scope="module")
def server_test_pki(tmp_path_factory):
    """A TLS certificate for server.test, the name the client checks."""
    return make_pki(tmp_path_factory.mktemp("server-test-pki"), names=("server.test",))


def test_too_large_welcome_makes_a_preferred_server_decline(root, server_test_pki):
    client, server = _welcome_too_large(root, "preferred", server_test_pki)
    server.pki = server_test_pki
    c, s = pair(client, server)
    assert s.error is None, s.error
    assert c.error is None and c.value.mls_fell_back, c.error
    assert not s.value.mls_negotiated
    reason = s.value.mls_declined_reason
    assert "MLS Welcome (suite 0xf00b)" in reason and "does not fit" in reason, reason


def test_too_large_welcome_is_handshake_failure_for_a_required_server(root, pki):
    client, server = _welcome_too_large(root, "required")
    server.pki = pki
    c, s = pair(client, server)
    assert isinstance(c.error, TLSRemoteAlert), c.error
    assert c.error.description == AlertDescription.handshake_failure
    assert "does not fit" in str(s.error)
