"""Extension mode: pinned keys, names and x509 anchors judge the peer in both roles."""

from __future__ import annotations

import pytest

from pki import TestCA
from tlslite_mls.mls.auth import PublicIdentity
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from tlsutil import pair, tls13_settings

SUITE = 0x0001  # the default suite, Ed25519
CS = get_cipher_suite(SUITE)


def _basic(name: bytes):
    priv, pub = CS.generate_signature_key_pair()
    return Credential.basic(name), priv, pub


def _run(client: MLSClientSettings, server: MLSServerSettings, pki):
    def srv(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server, certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings())
        conn.write(b"x")
        return conn

    def cli(sock):
        conn = MLSTLSConnection(sock)
        # SNI: the name the server's TLS certificate is checked for if MLS is declined.
        conn.handshakeClientMLS(client, settings=tls13_settings(), serverName="localhost")
        conn.read()
        return conn
    return pair(cli, srv)


def _client(**kw):
    cred, priv, _ = kw.pop("identity", None) or _basic(b"client")
    return MLSClientSettings(suites=[SUITE], credential=cred, signature_key=priv, **kw)


def _server(**kw):
    cred, priv, _ = kw.pop("identity", None) or _basic(b"server")
    return MLSServerSettings(suites=[SUITE], credential=cred, signature_key=priv, **kw)


def test_pinned_server_key_refuses_an_impostor_with_the_same_name(pki):
    """Issue: --expect-identity is a name only, so a second server claiming the name
    passed. With the real server's key pinned the impostor is refused."""
    real, impostor = _basic(b"server"), _basic(b"server")
    pin = PublicIdentity(real[2], b"server", SUITE)
    name_only = _client(mode="required", expected_identity=b"server")
    c, _ = _run(name_only, _server(identity=impostor), pki)
    assert c.error is None and c.value.mls_negotiated  # the name alone lets it in
    assert "name only, not verified" in name_only.validate().peer_authentication()
    pinned = _client(mode="required", pinned_keys=[pin], expected_identity=b"server")
    c, _ = _run(pinned, _server(identity=impostor), pki)
    assert c.error is not None and "not a pinned key" in str(c.error)
    c, s = _run(pinned, _server(identity=real), pki)
    assert c.error is None and c.value.mls_negotiated, c.error
    assert "pinned signature key" in pinned.validate().peer_authentication()


def test_server_pins_client_keys(pki, pki_in_system_store):
    cred, priv, pub = _basic(b"client")
    server = _server(pinned_keys=[pub])
    c, s = _run(_client(expected_identity=b"server", identity=(cred, priv, pub)), server, pki)
    assert s.error is None and s.value.mls_negotiated
    c, s = _run(_client(expected_identity=b"server"), server, pki)  # another key
    assert s.error is None and not s.value.mls_negotiated  # preferred: declined MLS
    assert "not a pinned key" in (s.value.mls_declined_reason or "")


def test_server_expected_identity_checks_the_client_name(pki, pki_in_system_store):
    server = _server(expected_identity="alice")
    assert "name only, not verified" in server.validate().peer_authentication()
    c, s = _run(_client(expected_identity=b"server", identity=_basic(b"bob")), server, pki)
    assert s.error is None and not s.value.mls_negotiated
    c, s = _run(_client(expected_identity=b"server", identity=_basic(b"alice")), server, pki)
    assert s.error is None and s.value.mls_negotiated


@pytest.mark.parametrize("suite", [0x0001, 0x0002, 0x0004, 0x0005, 0x0007])
def test_x509_credentials_for_every_scheme_in_both_roles(pki, suite):
    """Issue: x509 MLS credentials for the Ed25519 suites were refused."""
    cs = get_cipher_suite(suite)
    ca = TestCA(key_type="ed25519")
    s_priv, _ = cs.generate_signature_key_pair()
    c_priv, _ = cs.generate_signature_key_pair()
    s_cred = Credential.x509(ca.credential_chain(cs, s_priv, "server.test"))
    c_cred = Credential.x509(ca.credential_chain(cs, c_priv, "client.test", server=False))
    client = MLSClientSettings(mode="required", suites=[suite], credential=c_cred,
                               signature_key=c_priv, trust_anchors=[ca.cert],
                               server_name="server.test")
    server = MLSServerSettings(mode="required", suites=[suite], credential=s_cred,
                               signature_key=s_priv, trust_anchors=[ca.cert])
    c, s = _run(client, server, pki)
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value.mls_peer_identity == b"server.test"
    assert s.value.mls_peer_identity == b"client.test"


def test_conflicting_options_are_refused():
    with pytest.raises(ValueError, match="stands alone"):
        from tlslite_mls.mls.auth import AcceptAnyCredential
        _server(auth_policy=AcceptAnyCredential(), expected_identity=b"x").validate()
    with pytest.raises(ValueError, match="name different servers"):
        _client(trust_anchors=[TestCA().cert], expected_identity=b"a.test",
                server_name="b.test").validate()
