"""MLS client and MLS server in one process: the negotiated handshake itself."""

from __future__ import annotations

import pytest
from tlslite.constants import ExtensionType
from tlslite.messages import ServerHello

from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlsutil import client_mls, pair, server_mls, tls13_settings


def _server(pki, mls=None, settings=None, **kw):
    def run(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(mls or server_mls(), certChain=pki.chain(),
                                privateKey=pki.key(), settings=settings or tls13_settings(), **kw)
        data = conn.read()
        conn.write(b"echo:" + bytes(data))
        return conn
    return run


def _client(mls=None, settings=None, **kw):
    def run(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(mls or client_mls(), settings=settings or tls13_settings(),
                                **kw)
        conn.write(b"ping")
        return conn, bytes(conn.read())
    return run


def test_mls_negotiated(pki):
    c, s = pair(_client(), _server(pki))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    srv = s.value
    assert reply == b"echo:ping"
    assert conn.version == (3, 4) and srv.version == (3, 4)
    assert conn.mls_negotiated and srv.mls_negotiated
    assert conn.mls_cipher_suite == srv.mls_cipher_suite == 1
    assert conn.mls_epoch == srv.mls_epoch
    assert conn.mls_peer_identity == srv.mls_local_identity
    assert conn.mls_local_identity == srv.mls_peer_identity
    assert conn.mls_exporter(b"x", b"y", 20) == srv.mls_exporter(b"x", b"y", 20)
    # no certificate messages by default
    assert conn.session.serverCertChain is None
    assert conn.ecdhCurve is None
    assert conn.keyingMaterialExporter(b"EXPORTER-test", 16) == \
        srv.keyingMaterialExporter(b"EXPORTER-test", 16)


def test_mls_with_certificates(pki):
    c, s = pair(_client(client_mls(send_certificates=True)),
                _server(pki, server_mls(send_certificates=True)))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert reply == b"echo:ping" and conn.mls_negotiated
    assert conn.session.serverCertChain is not None


def test_mls_after_hello_retry_request(pki):
    seen = []
    orig = ServerHello.parse

    def spy(self, p):
        r = orig(self, p)
        seen.append(r)
        return r
    ServerHello.parse = spy
    try:
        c, s = pair(_client(settings=tls13_settings(keyShares=["secp256r1"])),
                    _server(pki, settings=tls13_settings(keyShares=["x25519"],
                                                         eccCurves=["x25519"])))
    finally:
        ServerHello.parse = orig
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert reply == b"echo:ping" and conn.mls_negotiated and s.value.mls_negotiated
    assert len(seen) == 2  # HRR, then the ServerHello
    final = seen[-1]
    from tlslite_mls.tls.connection import HOOKS
    # On the wire there is no key_share; without the hook patch the client adds
    # a synthetic one locally, after hashing.
    assert (final.getExtension(ExtensionType.key_share) is None) == HOOKS


def test_server_declines_keypackage(pki):
    """Unacceptable MLS suite: classic TLS 1.3 with the client's key shares."""
    c, s = pair(_client(client_mls(pki, suites=[3]), serverName="localhost"),
                _server(pki, server_mls(suites=[1])))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert reply == b"echo:ping" and not conn.mls_negotiated
    assert conn.mls_fell_back
    assert conn.server_certificate_check == "verified for 'localhost' against 1 trust anchor"
    assert not s.value.mls_negotiated and "0x0003" in s.value.mls_declined_reason
    assert conn.session.serverCertChain is not None
    assert conn.ecdhCurve is not None


def test_required_client_declined(pki):
    from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
    c, s = pair(_client(client_mls(mode="required", suites=[3])),
                _server(pki, server_mls(suites=[1])))
    assert isinstance(c.error, TLSLocalAlert) and "handshake_failure" in str(c.error)
    assert isinstance(s.error, TLSRemoteAlert) and "handshake_failure" in str(s.error)


def _spy_key_shares_and_retries(monkeypatch):
    """Key shares in every ClientHello written and HelloRetryRequests parsed (all threads)."""
    from tlslite.constants import TLS_1_3_HRR
    from tlslite.messages import ClientHello
    seen = {"shares": set(), "hrr": 0}  # (a ClientHello is written more than once)
    write, parse = ClientHello.write, ServerHello.parse

    def write_spy(self):
        seen["shares"].add(len(self.getExtension(ExtensionType.key_share).client_shares))
        return write(self)

    def parse_spy(self, p):
        hello = parse(self, p)
        seen["hrr"] += hello.random == TLS_1_3_HRR
        return hello
    monkeypatch.setattr(ClientHello, "write", write_spy)
    monkeypatch.setattr(ServerHello, "parse", parse_spy)
    return seen


@pytest.mark.parametrize("server_mode", ["preferred", "required"])
def test_required_client_sends_no_key_share(pki, monkeypatch, server_mode):
    """docs/profile.md section 3: a required client never falls back, so its ClientHello
    has an empty key_share (no x25519 key generated), and a server that takes the
    KeyPackage never asks for a share."""
    from tlslite_mls.tls import accel
    seen = _spy_key_shares_and_retries(monkeypatch)
    made = []
    calc = accel.OpenSSLX25519.calc_public_value
    monkeypatch.setattr(accel.OpenSSLX25519, "calc_public_value",
                        lambda self, *a: made.append(1) or calc(self, *a))
    c, s = pair(_client(client_mls(mode="required")),
                _server(pki, server_mls(mode=server_mode)))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert reply == b"echo:ping" and conn.mls_negotiated and s.value.mls_negotiated
    assert conn.ecdhCurve is None and s.value.ecdhCurve is None
    assert seen == {"shares": {0}, "hrr": 0} and made == []


def test_preferred_client_keeps_its_key_share(pki, monkeypatch):
    seen = _spy_key_shares_and_retries(monkeypatch)
    c, s = pair(_client(client_mls(mode="preferred")), _server(pki))
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value[0].mls_negotiated and seen == {"shares": {1}, "hrr": 0}


def test_server_declining_up_front_asks_required_client_for_a_share(pki, monkeypatch):
    """An unacceptable MLS suite is found before the ClientHello is answered: the server
    asks for a share as RFC 8446 says, and the required client refuses."""
    from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
    seen = _spy_key_shares_and_retries(monkeypatch)
    c, s = pair(_client(client_mls(mode="required", suites=[3])),
                _server(pki, server_mls(suites=[1])))
    assert isinstance(c.error, TLSLocalAlert) and "asked for a key share" in str(c.error)
    assert isinstance(s.error, TLSRemoteAlert) and "handshake_failure" in str(s.error)
    assert seen == {"shares": {0}, "hrr": 1}


def test_server_declining_late_cannot_fall_back_without_a_share(pki):
    """A credential the server's policy refuses is found only when the group is built,
    after the server chose not to ask for a share: it answers with the decline's alert
    (as a required server does), never a key exchange with the placeholder share."""
    from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
    c, s = pair(_client(client_mls(mode="required")),
                _server(pki, server_mls(expected_identity=b"somebody else")))
    assert isinstance(s.error, TLSLocalAlert) and "sent no key share" in str(s.error), s.error
    assert isinstance(c.error, TLSRemoteAlert) and "access_denied" in str(c.error), c.error


def test_required_server_declines(pki):
    from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
    c, s = pair(_client(client_mls(suites=[3])),
                _server(pki, server_mls(mode="required", suites=[1])))
    assert isinstance(s.error, TLSLocalAlert) and "declined" in str(s.error)
    assert isinstance(c.error, TLSRemoteAlert) and "handshake_failure" in str(c.error)


def test_client_hello_over_16k(pki):
    """A KeyPackage with a 20 kB identity: the ClientHello spans two records."""
    from tlslite_mls.mls.credentials import Credential
    from tlslite_mls.mls.crypto import get_cipher_suite
    priv, _ = get_cipher_suite(1).generate_signature_key_pair()
    mls = client_mls(suites=[1], credential=Credential.basic(b"i" * 20000),
                            signature_key=priv)
    c, s = pair(_client(mls), _server(pki))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert reply == b"echo:ping" and conn.mls_negotiated
    assert s.value.mls_peer_identity == b"i" * 20000


def test_plain_tlslite_client_and_mode_off(pki):
    from tlslite import TLSConnection

    def client(sock):
        conn = TLSConnection(sock)
        conn.handshakeClientCert(settings=tls13_settings())
        conn.write(b"ping")
        return conn, bytes(conn.read())
    c, s = pair(client, _server(pki))
    assert c.error is None and s.error is None
    assert c.value[1] == b"echo:ping" and not s.value.mls_negotiated
    c, s = pair(_client(client_mls(pki, mode="off"), serverName="localhost"), _server(pki))
    assert c.error is None and s.error is None
    assert not c.value[0].mls_negotiated and not c.value[0].mls_fell_back
    assert c.value[0].server_certificate_check.startswith("verified for 'localhost'")


def test_settings_validation():
    with pytest.raises(ValueError, match="mode"):
        MLSClientSettings(mode="sometimes").validate()
    with pytest.raises(ValueError, match="suites"):
        MLSClientSettings(suites=[]).validate()
    with pytest.raises(ValueError, match="0x7777"):
        MLSClientSettings(suites=[0x7777]).validate()
    with pytest.raises(ValueError, match="signature_key"):
        MLSClientSettings(credential=object()).validate()
    with pytest.raises(ValueError, match="extension_type"):
        MLSServerSettings(extension_type=70000).validate()
    with pytest.raises(ValueError, match="key_package_lifetime"):
        MLSClientSettings(key_package_lifetime=10 ** 9).validate()
    with pytest.raises(ValueError, match="state_lifetime"):
        MLSServerSettings(state_lifetime=0).validate()
    assert "key" not in repr(MLSClientSettings(signature_key=b"secret", credential=object()))
    with pytest.raises(ValueError, match="signature_key"):
        MLSServerSettings(credential=object(), signature_key="text").validate()


def test_settings_parse_the_signature_key_once():
    """validate() wraps key bytes in one SigningKey, whichever copy is validated."""
    from tlslite_mls.mls.crypto import SigningKey
    priv, _ = get_cipher_suite(1).generate_signature_key_pair()
    settings = MLSServerSettings(credential=Credential.basic(b"s"), signature_key=priv)
    first = settings.validate().signature_key
    assert isinstance(first, SigningKey) and first.private_bytes == priv
    assert settings.validate().signature_key is first
    assert settings.validate().validate().signature_key is first
    assert settings.signature_key == priv  # the caller's object is left as given
    mapped = MLSServerSettings(credential={1: Credential.basic(b"s")},
                               signature_key={1: priv}).validate()
    assert isinstance(mapped.signature_key[1], SigningKey)
