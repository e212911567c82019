"""ticket_seal.py: tickets sealed by OpenSSL are tlslite-ng's tickets, byte for byte;
an altered ticket opens nowhere and the server does a full handshake instead."""

from __future__ import annotations

import os

import pytest
from tlslite.extensions import PskIdentity
from tlslite.handshakesettings import TICKET_CIPHERS
from tlslite.tlsconnection import TLSConnection
from tlslite.utils.cipherfactory import (createAESCCM, createAESCCM_8, createAESGCM,
                                        createCHACHA20)

from tlslite_mls.bench.tickets import _open, _seal, _server
from tlslite_mls.tls import MLSTLSConnection, ticket_seal
from tlslite_mls.tls.accel import OpenSSLAEAD
from tlsutil import pair, tls13_settings

_TLSLITE_FACTORY = {"aes128gcm": createAESGCM, "aes256gcm": createAESGCM,
                    "aes128ccm": createAESCCM, "aes256ccm": createAESCCM,
                    "aes128ccm_8": createAESCCM_8, "aes256ccm_8": createAESCCM_8,
                    "chacha20-poly1305": createCHACHA20}
_CASES = [(c, n) for c in TICKET_CIPHERS for n in (16, 32)
          if not (c == "chacha20-poly1305" and n == 16)]  # refused by both


@pytest.mark.parametrize("cipher,size", _CASES)
def test_key_iv_and_aead_are_tlslite_ngs(cipher, size):
    """derive_key_iv gives _derive_key_iv's bytes; ticket_aead seals as tlslite-ng's
    pure-Python object of the same name does."""
    settings = tls13_settings(ticketCipher=cipher)
    for _ in range(5):
        nonce, user_key = bytearray(os.urandom(32)), bytearray(os.urandom(size))
        key, iv = ticket_seal.derive_key_iv(nonce, user_key, cipher)
        assert (key, iv) == TLSConnection._derive_key_iv(nonce, user_key, settings)
        ours, theirs = ticket_seal.ticket_aead(cipher, key), _TLSLITE_FACTORY[cipher](key, ["python"])
        assert type(ours) is OpenSSLAEAD and ours.name == theirs.name
        payload = bytearray(os.urandom(100))
        sealed = ours.seal(iv, payload, b"")
        assert sealed == theirs.seal(iv, payload, b"") and theirs.open(iv, sealed, b"") == payload
    with pytest.raises(ValueError):  # a 16-byte ChaCha20 key: tlslite-ng refuses it too
        ticket_seal.ticket_aead("chacha20-poly1305", bytes(16))


@pytest.mark.parametrize("cipher", TICKET_CIPHERS)
def test_tickets_open_across_old_and_new_sealing(cipher):
    """A ticket sealed by tlslite-ng's own server code opens in ours and the other way
    round, with the same payload (resumption secret, suite, nonce)."""
    key = os.urandom(32 if cipher == "chacha20-poly1305" else 16)
    old, new = _server(TLSConnection, cipher, key), _server(MLSTLSConnection, cipher, key)
    for sealer, opener in ((old, new), (new, old)):
        ticket = _seal(*sealer)
        payload = _open(opener[0], opener[1], ticket)
        assert payload.master_secret == sealer[0].session.resumptionMasterSecret
        assert payload.cipher_suite == sealer[0].session.cipherSuite
        # the binder key the server checks is the same on both
        ident = PskIdentity().create(bytearray(ticket), 0)
        assert TLSConnection._tryDecrypt(old[0], old[1], ident)[0] == \
            MLSTLSConnection._tryDecrypt(new[0], new[1], ident)[0]


def test_every_altered_byte_is_refused():
    """Flipping any bit of any byte of a ticket (nonce, ciphertext or tag), cutting it
    or opening it under another ticket key: nothing opens."""
    key = os.urandom(32)
    conn, settings, sent = _server(MLSTLSConnection, "aes256gcm", key)
    ticket = _seal(conn, settings, sent)
    assert ticket_seal.open_ticket(settings, ticket) is not None
    for i in range(len(ticket)):
        for bit in (0x01, 0x80):
            bad = bytearray(ticket)
            bad[i] ^= bit
            assert ticket_seal.open_ticket(settings, bad) is None, i
            assert conn._tryDecrypt(settings, PskIdentity().create(bad, 0)) == (None, None)
    for cut in (ticket[:32], ticket[:-1], b""):
        assert conn._tryDecrypt(settings, PskIdentity().create(bytearray(cut), 0)) \
            == (None, None)
    other = tls13_settings(ticketKeys=[bytearray(os.urandom(32))])
    assert conn._tryDecrypt(other, PskIdentity().create(bytearray(ticket), 0)) == (None, None)
    # an old key still listed after the current one still opens (key rotation)
    rotated = tls13_settings(ticketKeys=[bytearray(os.urandom(32)), key])
    assert conn._tryDecrypt(rotated, PskIdentity().create(bytearray(ticket), 0))[1] is not None


TICKET_KEYS = [bytearray(b"k" * 32)]


def _serve(pki, cls, version=(3, 4)):
    def run(sock):
        conn = cls(sock)
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=tls13_settings(ticketKeys=TICKET_KEYS,
                                                     minVersion=version, maxVersion=version))
        conn.write(b"echo:" + bytes(conn.read()))
    return run


def _connect(session=None, version=(3, 4)):
    def run(sock):
        conn = TLSConnection(sock)
        conn.handshakeClientCert(session=session, settings=tls13_settings(
            minVersion=version, maxVersion=version))
        conn.write(b"x")
        assert bytes(conn.read()) == b"echo:x"  # the tickets arrive before the echo
        # the server selected our ticket's PSK (it opened the ticket, the binder held)
        return conn.resumed, conn.session
    return run


@pytest.mark.parametrize("issuer,resumer", [(TLSConnection, MLSTLSConnection),
                                            (MLSTLSConnection, TLSConnection),
                                            (MLSTLSConnection, MLSTLSConnection)],
                         ids=["old-to-new", "new-to-old", "new-to-new"])
@pytest.mark.parametrize("version", [(3, 4), (3, 3)], ids=["tls1.3", "tls1.2"])
def test_resumption_across_old_and_new_sealing(pki, issuer, resumer, version):
    """Resumption with a ticket issued by one server and offered to another that shares
    its ticket keys: tlslite-ng's own sealing (TLSConnection) and ours; TLS 1.3 PSK
    identities and TLS 1.2 SessionTickets (RFC 5077)."""
    c, s = pair(_connect(version=version), _serve(pki, issuer, version))
    assert c.error is None and s.error is None, (c.error, s.error)
    resumed, session = c.value
    assert not resumed and (session.tickets or session.tls_1_0_tickets)
    c, s = pair(_connect(session, version), _serve(pki, resumer, version))
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value[0] is True


@pytest.mark.parametrize("where", [0, 40, -1], ids=["nonce", "ciphertext", "tag"])
def test_altered_ticket_gets_a_full_handshake(pki, where):
    """RFC 8446 section 4.2.11: a PSK identity the server cannot use is ignored; the
    handshake goes on with certificates (not resumed), and the connection works."""
    c, s = pair(_connect(), _serve(pki, MLSTLSConnection))
    assert c.error is None and s.error is None, (c.error, s.error)
    session = c.value[1]
    for ticket in session.tickets:
        ticket.ticket = bytearray(ticket.ticket)
        ticket.ticket[where] ^= 0x01
    c, s = pair(_connect(session), _serve(pki, MLSTLSConnection))
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value[0] is False

