"""transcript.py: a TLS 1.3-only handshake hashes with SHA-256/384 alone; anything that
may negotiate TLS 1.2 keeps tlslite-ng's full set of transcript hashes."""

from __future__ import annotations

import hashlib
import os

import pytest
from tlslite import HandshakeSettings
from tlslite.handshakehashes import HandshakeHashes

from tlslite_mls.tls.connection import MLSTLSConnection
from tlslite_mls.tls.transcript import TLS13HandshakeHashes
from tlsutil import client_mls, pair, server_mls, tls13_settings


def test_digests_match_tlslite_and_copies_are_independent():
    ours, theirs = TLS13HandshakeHashes(), HandshakeHashes()
    for _ in range(5):
        msg = bytearray(os.urandom(100))
        ours.update(msg)
        theirs.update(msg)
    snapshot = ours.copy()
    assert type(snapshot) is TLS13HandshakeHashes
    for name in ("sha256", "sha384"):
        assert ours.digest(name) == theirs.digest(name)
    ours.update(b"more")
    assert snapshot.digest("sha256") == theirs.digest("sha256")
    assert ours.digest("sha256") != theirs.digest("sha256")
    assert ours.digest("sha384") == hashlib.sha384(bytes(theirs.digest("intrinsic")) + b"more").digest()


@pytest.mark.parametrize("name", ["md5", "sha1", "sha224", "sha512", "intrinsic", None])
def test_other_digests_are_refused_not_wrong(name):
    with pytest.raises(ValueError, match="TLS 1.3-only transcript"):
        TLS13HandshakeHashes().digest(name)
    with pytest.raises(ValueError):
        TLS13HandshakeHashes().digestSSL(bytearray(48), b"CLNT")


def _handshake(pki, client_settings, server_settings):
    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=server_settings)
        conn.write(b"!")
        return type(conn._handshake_hash), conn.version

    def client(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(client_mls(), settings=client_settings)
        assert conn.read() == b"!" and conn.mls_negotiated
        return type(conn._handshake_hash), conn.version

    c, s = pair(client, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    return c.value, s.value


def test_tls13_only_handshake_uses_the_narrow_transcript(pki):
    c, s = _handshake(pki, tls13_settings(), tls13_settings())
    assert c == (TLS13HandshakeHashes, (3, 4)) and s == (TLS13HandshakeHashes, (3, 4))


def test_handshake_that_may_negotiate_tls12_keeps_every_hash(pki):
    c, s = _handshake(pki, HandshakeSettings(), HandshakeSettings())
    assert c == (HandshakeHashes, (3, 4)) and s == (HandshakeHashes, (3, 4))
