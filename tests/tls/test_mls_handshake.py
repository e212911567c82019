"""MLS client and MLS server in one process: the negotiated handshake itself."""

from __future__ import annotations

import pytest
from tlslite.constants import ExtensionType
from tlslite.messages import ServerHello

from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from tlsutil import pair, tls13_settings


def _server(pki, mls=None, settings=None, **kw):
    def run(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(mls or MLSServerSettings(), certChain=pki.chain(),
                                privateKey=pki.key(), settings=settings or tls13_settings(), **kw)
        data = conn.read()
        conn.write(b"echo:" + bytes(data))
        return conn
    return run


def _client(mls=None, settings=None, **kw):
    def run(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(mls or MLSClientSettings(), settings=settings or tls13_settings(),
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
    c, s = pair(_client(MLSClientSettings(send_certificates=True)),
                _server(pki, MLSServerSettings(send_certificates=True)))
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
    assert final.getExtension(ExtensionType.key_share) is not None  # synthetic, added locally
