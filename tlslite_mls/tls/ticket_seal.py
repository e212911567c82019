"""TLS session tickets sealed and opened by OpenSSL, in tlslite-ng's ticket format.

tlslite-ng 0.8.2 seals every ticket it sends (NewSessionTicket) and opens every ticket
a client offers with an AEAD from its own cipher factory, which without M2Crypto or
pycrypto is pure Python: an AES key schedule and GHASH tables per ticket, a third of
a millisecond per ticket sealed or opened (``bench tickets``; OpenSSL: about 25 us).
The format stays tlslite-ng's, so a ticket sealed by a plain tlslite-ng server with
the same ticket keys opens here and the other way round::

    ticket     = nonce (32 random bytes) || AEAD-Seal(key, iv, SessionTicketPayload, "")
    key, iv    = from nonce and the configured ticket key (TLSConnection._derive_key_iv)

:func:`derive_key_iv` is ``_derive_key_iv`` on one-shot ``hmac.digest`` (tls/hkdf.py),
:func:`ticket_aead` the AEAD on OpenSSL. With the hook patch (``patches/``) tlslite-ng
asks the connection for the ticket AEAD (``_hook_ticket_cipher``) and keeps its own
ticket code; on a released tlslite-ng, :func:`send_tickets` and :func:`try_decrypt` do
what its ``_serverSendTickets`` and ``_tryDecrypt`` do, with these two.
"""

from __future__ import annotations

import hmac
import time
from typing import Any, Iterator, Optional

from tlslite.constants import CipherSuite
from tlslite.handshakehelpers import HandshakeHelpers
from tlslite.messages import NewSessionTicket, NewSessionTicket1_0, SessionTicketPayload
from tlslite.utils.codec import Parser
from tlslite.utils.cryptomath import getRandomBytes, getRandomNumber

from .accel import OpenSSLAEAD
from .hkdf import derive_secret, expand_label

__all__ = ["derive_key_iv", "ticket_aead", "send_tickets", "open_ticket", "try_decrypt"]

_NONCE = 32  # random bytes in front of each sealed ticket
_IV = 12


def derive_key_iv(nonce: Any, user_key: Any, ticket_cipher: str) -> tuple[bytearray, bytearray]:
    """The AEAD key and IV of one ticket: tlslite-ng's ``_derive_key_iv`` (the nonce
    mixed with the configured key through HKDF; SHA-256 for ``aes128gcm``, else
    SHA-384), the same bytes."""
    prf = "sha256" if ticket_cipher == "aes128gcm" else "sha384"
    size = 32 if prf == "sha256" else 48
    secret = hmac.digest(bytes(size), bytes(nonce), prf)
    secret = derive_secret(secret, b"derived", None, prf)
    secret = hmac.digest(bytes(secret), bytes(user_key), prf)
    ticket_secret = derive_secret(secret, b"SessionTicket secret", None, prf)
    return (expand_label(ticket_secret, b"key", b"", len(user_key), prf),
            expand_label(ticket_secret, b"iv", b"", _IV, prf))


def ticket_aead(ticket_cipher: str, key: Any) -> OpenSSLAEAD:
    """The ticket AEAD on OpenSSL. It takes every key tlslite-ng's own takes (a ChaCha20
    key that is not 32 bytes raises ``ValueError`` in both) and is named as tlslite-ng
    names its AES objects, by the key's size: the key is as long as the configured
    ticket key, so ``aes128gcm`` with a 32-byte ticket key is AES-256-GCM."""
    if ticket_cipher.startswith("aes"):
        ticket_cipher = ("aes128" if len(key) == 16 else "aes256") + ticket_cipher[6:]
    return OpenSSLAEAD(ticket_cipher, key)


def _seal(settings: Any, payload: bytes) -> bytearray:
    nonce = getRandomBytes(_NONCE)
    key, iv = derive_key_iv(nonce, settings.ticketKeys[0], settings.ticketCipher)
    return nonce + ticket_aead(settings.ticketCipher, key).seal(iv, payload, b"")


def send_tickets(conn: Any, settings: Any) -> Iterator[Any]:
    """tlslite-ng's ``TLSConnection._serverSendTickets`` with the AEAD on OpenSSL
    (generator, tlslite-ng's 0/1 convention): ``ticket_count`` NewSessionTickets in
    TLS 1.3, at most one in TLS 1.2, each ticket sealed under the first ticket key."""
    if not settings.ticketKeys:
        return
    tls13 = conn.version > (3, 3)
    session = conn.session
    secret = session.resumptionMasterSecret if tls13 else session.masterSecret
    for _ in range(settings.ticket_count if tls13 else int(bool(settings.ticket_count))):
        payload = SessionTicketPayload()
        payload.create(secret, conn.version, session.cipherSuite, int(time.time()),
                       getRandomBytes(len(settings.ticketKeys[0])),
                       client_cert_chain=session.clientCertChain,
                       encrypt_then_mac=conn._recordLayer._get_pending_state_etm(),
                       extended_master_secret=conn.extendedMasterSecret,
                       server_name=session.serverName.encode("utf-8")
                       if session.serverName else bytearray())
        sealed = _seal(settings, payload.write())
        if tls13:
            message = NewSessionTicket().create(settings.ticketLifetime,
                                                getRandomNumber(1, 8**4), payload.nonce,
                                                sealed, [])
        else:
            message = NewSessionTicket1_0().create(settings.ticketLifetime, sealed)
            conn.tls_1_0_tickets.append(sealed[_NONCE:])
        conn._queue_message(message)
    if settings.ticket_count:
        yield from conn._queue_flush()


def open_ticket(settings: Any, blob: Any) -> Optional[SessionTicketPayload]:
    """The payload of a sealed ticket, trying each configured ticket key; None when no
    key opens it (forged, altered, or sealed under a key no longer configured)."""
    nonce, sealed = blob[:_NONCE], blob[_NONCE:]
    for user_key in settings.ticketKeys:
        key, iv = derive_key_iv(nonce, user_key, settings.ticketCipher)
        plain = ticket_aead(settings.ticketCipher, key).open(iv, sealed, b"")
        if not plain:
            continue
        try:
            return SessionTicketPayload().parse(Parser(plain))
        except ValueError:
            continue
    return None


def try_decrypt(version: tuple, settings: Any, identity: Any = None,
                ticket: Any = None) -> tuple[Any, Any]:
    """tlslite-ng's ``TLSConnection._tryDecrypt`` with the AEAD on OpenSSL: in TLS 1.3
    ``((identity, binder psk, prf name), payload)`` for a PSK identity that is one of
    our tickets, in TLS 1.2 ``(None, payload)`` for a SessionTicket; ``(None, None)``
    when it does not open."""
    if not settings.ticketKeys:
        return None, None
    blob = identity.identity if version > (3, 3) else ticket
    if len(blob) <= _NONCE:
        return None, None  # too small for a sealed ticket
    payload = open_ticket(settings, blob)
    if payload is None:
        return None, None
    if version < (3, 4):
        return None, payload
    prf = "sha384" if payload.cipher_suite in CipherSuite.sha384PrfSuites else "sha256"
    offered = NewSessionTicket()
    offered.ticket_nonce = payload.nonce
    offered.ticket = identity.identity
    psk = HandshakeHelpers.calc_res_binder_psk(identity, payload.master_secret, [offered])
    return (identity.identity, psk, prf), payload
