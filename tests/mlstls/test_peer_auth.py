"""MLS-TLS: the same authentication choices as the extension mode, in both roles."""

from __future__ import annotations

import pytest
from tlslite.constants import AlertDescription as AD

from pki import TestCA
from tlslite_mls.mls.auth import PublicIdentity
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mlstls import (MLSTLSLocalAlert, MLSTLSRemoteAlert, MLSTLSServerSettings)
from test_channel import Pair, client_settings, roundtrip

SUITE = 0x0003  # Ed25519: the suite whose x509 credentials the old verifier refused
CS = get_cipher_suite(SUITE)


def _basic(name: bytes):
    priv, pub = CS.generate_signature_key_pair()
    return Credential.basic(name), priv, pub


def _x509(ca: TestCA, name: str, server: bool):
    priv, pub = CS.generate_signature_key_pair()
    return Credential.x509(ca.credential_chain(CS, priv, name, server=server)), priv, pub


def _server(**kw):
    cred, priv, _ = kw.pop("identity", None) or _basic(b"server")
    return MLSTLSServerSettings(suites=[SUITE], credential=cred, signature_key=priv, **kw)


def _accepted(pair: Pair) -> Pair:
    pair.client.handshake()
    roundtrip(pair.client, b"hello")
    pair.client.close()
    pair.join()
    assert pair.server_error is None
    return pair


def _refused(pair: Pair, alert: int) -> None:
    with pytest.raises(MLSTLSRemoteAlert) as info:
        pair.client.handshake()
    assert info.value.description == alert
    pair.join()
    assert isinstance(pair.server_error, MLSTLSLocalAlert)
    assert pair.server_error.description == alert


def test_mls_tls_server_honours_trust_anchors_for_client_credentials():
    """Issue: ``--mls-tls --trust-anchor`` accepted any client. A basic and a
    self-signed x509 client are refused; a client with a chain to the anchor passes."""
    ca = TestCA(key_type="ed25519")
    settings = _server(trust_anchors=[ca.cert])
    assert "x509 chain verified" in settings.validate().peer_authentication()
    cred, priv, _ = _basic(b"client")
    _refused(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                  settings), AD.access_denied)
    cred, priv, _ = _x509(TestCA("self", key_type="ed25519"), "client.test", server=False)
    _refused(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                  settings), AD.bad_certificate)
    cred, priv, _ = _x509(ca.intermediate(key_type="ed25519"), "client.test", server=False)
    p = _accepted(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                       settings))
    assert p.server.peer_identity == b"client.test"


def test_mls_tls_server_checks_the_client_name_with_trust_anchors():
    ca = TestCA(key_type="ed25519")
    cred, priv, _ = _x509(ca, "client.test", server=False)
    settings = _server(trust_anchors=[ca.cert], expected_identity="alice.test")
    _refused(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                  settings), AD.bad_certificate)


def test_mls_tls_client_pinned_key_refuses_a_server_with_the_same_name():
    """Issue: the expected identity is a name only. An impostor server that claims the
    pinned server's name is refused by its key; the real one is accepted."""
    real = _basic(b"server")
    impostor = _basic(b"server")
    pin = PublicIdentity(real[2], b"server", SUITE)
    settings = client_settings(suites=[SUITE], auth_policy=None, pinned_keys=[pin],
                               expected_identity=b"server")
    assert "pinned signature key" in settings.validate().peer_authentication()
    p = Pair(settings, _server(identity=impostor))
    with pytest.raises(MLSTLSLocalAlert, match="not a pinned key") as info:
        p.client.handshake()
    assert info.value.description == AD.access_denied
    p.join()
    _accepted(Pair(settings, _server(identity=real)))


def test_mls_tls_server_pins_client_keys():
    cred, priv, pub = _basic(b"client")
    settings = _server(pinned_keys=[pub])
    other_cred, other_priv, _ = _basic(b"client")
    _refused(Pair(client_settings(suites=[SUITE], credential=other_cred,
                                  signature_key=other_priv), settings), AD.access_denied)
    _accepted(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                   settings))


def test_mls_tls_server_expected_identity_is_a_name_check():
    settings = _server(expected_identity=b"alice")
    assert "name only, not verified" in settings.validate().peer_authentication()
    cred, priv, _ = _basic(b"bob")
    _refused(Pair(client_settings(suites=[SUITE], credential=cred, signature_key=priv),
                  settings), AD.access_denied)


def test_mls_tls_conflicting_authentication_options_are_refused():
    ca = TestCA()
    with pytest.raises(ValueError, match="stands alone"):
        client_settings(expected_identity=b"x").validate()
    with pytest.raises(ValueError, match="not both"):
        _server(trust_anchors=[ca.cert], pinned_keys=[b"k" * 32]).validate()
    with pytest.raises(ValueError, match="server_name"):
        client_settings(auth_policy=None, trust_anchors=[ca.cert]).validate()
