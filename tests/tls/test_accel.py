"""accel.py: OpenSSL-backed x25519 and record AEADs give tlslite-ng's exact results."""

from __future__ import annotations

import os

import pytest
from tlslite.constants import CipherSuite, GroupName, KeyUpdateMessageType
from tlslite.errors import TLSIllegalParameterException, TLSInternalError
from tlslite.keyexchange import ECDHKeyExchange
from tlslite.recordlayer import RecordLayer
from tlslite.utils.cipherfactory import createAESGCM, createCHACHA20

from helpers import AEADWatch, record_aeads
from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import ticket_seal
from tlslite_mls.tls.accel import OpenSSLAEAD, OpenSSLRecordLayer, OpenSSLX25519, get_kex
from tlslite_mls.tls.connection import MLSTLSConnection, _NoCertificateSignature
from tlsutil import client_mls, pair, server_mls, tls13_settings


def test_x25519_matches_tlslite():
    ours, theirs = OpenSSLX25519(GroupName.x25519, (3, 4)), ECDHKeyExchange(GroupName.x25519,
                                                                            (3, 4))
    for _ in range(10):
        a, b = ours.get_random_private_key(), theirs.get_random_private_key()
        assert ours.calc_public_value(a) == theirs.calc_public_value(a)
        assert ours.calc_shared_key(a, theirs.calc_public_value(b)) == \
            theirs.calc_shared_key(b, ours.calc_public_value(a))
    for bad in (bytearray(32), bytearray(31)):  # all-zero result, wrong size
        with pytest.raises(TLSIllegalParameterException):
            ours.calc_shared_key(a, bad)
    assert isinstance(get_kex(ECDHKeyExchange, GroupName.secp256r1, (3, 4)), ECDHKeyExchange)
    assert not isinstance(get_kex(ECDHKeyExchange, GroupName.secp256r1, (3, 4)), OpenSSLX25519)


@pytest.mark.parametrize("name,factory,size", [("aes128gcm", createAESGCM, 16),
                                               ("aes256gcm", createAESGCM, 32),
                                               ("chacha20-poly1305", createCHACHA20, 32)])
def test_aead_matches_tlslite(name, factory, size):
    key = bytearray(os.urandom(size))
    ours, theirs = OpenSSLAEAD(name, key), factory(key, ["python"])
    assert (ours.name, ours.isAEAD, ours.tagLength, ours.nonceLength) == \
        (theirs.name, theirs.isAEAD, theirs.tagLength, theirs.nonceLength)
    for n in (0, 1, 300):
        nonce, data, aad = bytearray(os.urandom(12)), bytearray(os.urandom(n)), bytearray(b"ad")
        sealed = ours.seal(nonce, data, aad)
        assert sealed == theirs.seal(nonce, data, aad)
        assert ours.open(nonce, sealed, aad) == data
        sealed[-1] ^= 1
        assert ours.open(nonce, sealed, aad) is None and theirs.open(nonce, sealed, aad) is None
    assert ours.open(nonce, bytearray(15), aad) is None
    assert "key" not in repr(ours)


def test_record_layer_factories():
    for suite, name in ((CipherSuite.TLS_AES_128_GCM_SHA256, "aes128gcm"),
                        (CipherSuite.TLS_AES_256_GCM_SHA384, "aes256gcm"),
                        (CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "chacha20-poly1305")):
        ours, theirs = OpenSSLRecordLayer._getCipherSettings(suite), \
            RecordLayer._getCipherSettings(suite)
        assert ours[:2] == theirs[:2]
        ctx = ours[2](bytearray(ours[0]), None)
        assert isinstance(ctx, OpenSSLAEAD) and ctx.name == name
    cbc = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    assert OpenSSLRecordLayer._getCipherSettings(cbc) == RecordLayer._getCipherSettings(cbc)


def test_no_certificate_signature_only_when_mls_replaces_certificates():
    conn = MLSTLSConnection(None)
    conn._mls_cfg = type("Cfg", (), {"send_certificates": False})()
    key = _NoCertificateSignature(object(), conn)
    with pytest.raises(TLSInternalError):  # the Welcome is not out yet
        key.sign(b"x")
    conn._mls_sh_sent = True
    assert key.hashAndSign(b"x") and key.verify(b"s", b"x")


@pytest.mark.parametrize("cipher", ["aes128gcm", "aes256gcm", "chacha20-poly1305"])
def test_connections_use_openssl_aeads_in_every_epoch(monkeypatch, pki, cipher):
    """Handshake keys, application keys, MLS epoch keys, KeyUpdate keys, and the session
    tickets sealed, opened on resumption and sealed again: all OpenSSL."""
    watch = AEADWatch().install(monkeypatch)
    tickets = _watch_ticket_aeads(monkeypatch)
    cstore, sstore = MemoryStore(), MemoryStore()
    # ticketCipher is cipher too; a 16-byte ticket key makes AES-128 tickets
    ticket_settings = dict(cipherNames=[cipher], ticketCipher=cipher,
                           ticketKeys=[bytearray(16 if cipher == "aes128gcm" else 32)])

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(store=sstore), certChain=pki.chain(),
                                privateKey=pki.key(), settings=tls13_settings(**ticket_settings))
        for _ in range(3):
            conn.write(bytes(conn.read()))
        return record_aeads(conn._recordLayer)

    def client(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(client_mls(store=cstore),
                                settings=tls13_settings(cipherNames=[cipher]))
        conn.write(b"a")
        assert conn.read() == b"a"
        conn.mls_update(wait=True)
        for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
            pass
        for data in (b"b", b"c"):
            conn.write(data)
            assert conn.read() == data
        assert conn.mls_negotiated and conn.mls_epoch >= 3
        return record_aeads(conn._recordLayer), conn.session

    def resume(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                      settings=tls13_settings(cipherNames=[cipher]))
        for data in (b"d", b"e", b"f"):
            conn.write(data)
            assert conn.read() == data
        assert conn.resumed and conn.mls_negotiated
        return record_aeads(conn._recordLayer)

    c, s = pair(client, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    aeads, session = c.value
    aeads += s.value
    sealed = len(tickets)
    assert sealed == 2 and len(session.tickets) == 2, tickets  # tlslite-ng's ticket_count
    c, s = pair(resume, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    for aead in aeads + c.value + s.value:
        assert type(aead) is OpenSSLAEAD and aead.name == cipher, aead
    # the offered ticket opened (at least once), two new tickets sealed
    assert len(tickets) >= sealed + 3 and set(tickets) == {cipher}, tickets
    # handshake, application, two epochs and the KeyUpdates, both sides; the tickets
    assert len(watch.created) >= 16 + 5 and set(watch.created) == {("OpenSSLAEAD", cipher)}
    assert not watch.pure_python


def _watch_ticket_aeads(monkeypatch) -> list:
    """The names of the ticket AEADs made (ticket_seal.ticket_aead) while installed."""
    made: list = []
    real = ticket_seal.ticket_aead

    def watched(ticket_cipher, key):
        aead = real(ticket_cipher, key)
        made.append(aead.name)
        return aead
    monkeypatch.setattr(ticket_seal, "ticket_aead", watched)
    return made


@pytest.mark.parametrize("suite", [CipherSuite.TLS_AES_128_GCM_SHA256,
                                   CipherSuite.TLS_AES_256_GCM_SHA384,
                                   CipherSuite.TLS_CHACHA20_POLY1305_SHA256])
@pytest.mark.parametrize("client", [True, False])
def test_pending_states_match_tlslite(suite, client):
    """Our one-shot HKDF pending states protect records exactly as tlslite-ng's do."""
    ours, theirs = OpenSSLRecordLayer(None), RecordLayer(None)
    size = 48 if suite in CipherSuite.sha384PrfSuites else 32
    cl, sr = bytearray(os.urandom(size)), bytearray(os.urandom(size))
    for layer in (ours, theirs):
        layer.client = client
        layer.calcTLS1_3PendingState(suite, cl, sr, ["python"])
    for name in ("_pendingWriteState", "_pendingReadState"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.fixedNonce == b.fixedNonce and len(a.fixedNonce) == 12
        assert a.macContext is None
        nonce, data = bytearray(a.fixedNonce), bytearray(b"header")
        sealed = a.encContext.seal(nonce, bytearray(b"record"), data)
        assert sealed == b.encContext.seal(nonce, bytearray(b"record"), data)


@pytest.mark.parametrize("client", [True, False])
def test_one_direction_matches_both_directions(client):
    """prepare_tls13_direction (an epoch change's switch) builds exactly the state that
    calcTLS1_3PendingState builds for that direction."""
    suite = CipherSuite.TLS_AES_256_GCM_SHA384
    cl, sr = bytearray(os.urandom(48)), bytearray(os.urandom(48))
    both, one = OpenSSLRecordLayer(None), OpenSSLRecordLayer(None)
    both.client = one.client = client
    both.calcTLS1_3PendingState(suite, cl, sr, None)
    one.prepare_tls13_direction(suite, cl if client else sr, write=True)
    one.prepare_tls13_direction(suite, sr if client else cl, write=False)
    nonce, data = bytearray(12), bytearray(b"header")
    for name in ("_pendingWriteState", "_pendingReadState"):
        a, b = getattr(both, name), getattr(one, name)
        assert a.fixedNonce == b.fixedNonce
        assert a.encContext.seal(nonce, bytearray(b"x"), data) == \
            b.encContext.seal(nonce, bytearray(b"x"), data)
