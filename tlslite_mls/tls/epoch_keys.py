"""TLS traffic secrets of an MLS epoch after the handshake (docs/profile.md section 5).

For epoch e the TLS 1.3 key schedule runs again with the epoch's MLS exporter output
in the (EC)DHE slot::

    shared_e = MLS-Exporter_e("TLS shared secret", "", Hash.length)
    hs_e     = HKDF-Extract(Derive-Secret(EarlySecret, "derived", ""), shared_e)
    main_e   = HKDF-Extract(Derive-Secret(hs_e, "derived", ""), 0)
    c/s_ap_traffic_e = Derive-Secret(main_e, "c ap traffic"/"s ap traffic",
                                     ClientHello..server Finished)

EarlySecret and the transcript are those of the connection's own handshake, so the
keys of every epoch are bound to this connection; with epoch 1's exporter the formula
gives exactly the application secrets of the handshake (the tests check that). TLS
exporter and resumption secrets are not touched: channel bindings stay put.

Also here: the store keys that tie a TLS session to its MLS group for resumption
(section 6), derived one-way from the session's resumption secret, which the server
finds again inside its own encrypted ticket.
"""

from __future__ import annotations

from typing import Any, Optional

from tlslite.constants import CipherSuite

from ..twoparty.config import SHARED_SECRET_LABEL
from .hkdf import derive_secret, expand_label, extract


# Labels of the store keys derived from a session's resumption secret (our own); the
# two roles differ, so a client and a server sharing one store never collide.
_STORE_KEY_LABELS = {True: b"tlslite-mls client store key",
                     False: b"tlslite-mls server store key"}
# Store records that point from a later connection's key to the group's key.
ALIAS_PREFIX = b"tlslite-mls/alias/"


def prf_params(cipher_suite: int) -> tuple[str, int]:
    """(hash name, Hash.length) of a TLS 1.3 cipher suite."""
    if cipher_suite in CipherSuite.sha384PrfSuites:
        return "sha384", 48
    return "sha256", 32


def early_secret(prf_name: str, prf_size: int, psk: Optional[bytes]) -> bytearray:
    """HKDF-Extract(0, PSK); no PSK (or the all-zero one) gives the usual constant."""
    ikm = bytes(psk) if psk is not None else bytes(prf_size)
    return extract(bytes(prf_size), ikm, prf_name)


def early_derived(early: bytes, prf_name: str) -> bytearray:
    """Derive-Secret(EarlySecret, "derived", ""): the salt of every epoch's hs_e, the
    same for all epochs of a connection (so a connection derives it once)."""
    return derive_secret(early, b"derived", None, prf_name)


def epoch_main_secret(shared: bytes, early: Optional[bytes], prf_name: str, prf_size: int,
                      salt: Optional[bytes] = None) -> bytearray:
    """main_e of the module docstring for one epoch's ``shared_e``; ``salt`` is
    :func:`early_derived` of ``early`` when the caller kept it (then ``early`` may be
    None: a connection keeps the salt, not the EarlySecret)."""
    if salt is None:
        if early is None:
            raise ValueError("epoch_main_secret needs the EarlySecret or its derived salt")
        salt = early_derived(early, prf_name)
    hs = extract(salt, shared, prf_name)
    salt = derive_secret(hs, b"derived", None, prf_name)
    return extract(salt, bytes(prf_size), prf_name)


def epoch_traffic_secret(main: bytes, client: bool, transcript: Any,
                         prf_name: str) -> bytearray:
    """c_ap_traffic_e (``client``) or s_ap_traffic_e from main_e: an epoch change
    switches one direction at a time, so each switch derives only its own.

    ``transcript`` is the ``HandshakeHashes`` object or its ``prf_name`` digest
    (which never changes after the handshake, so a connection may keep it)."""
    label = b"c ap traffic" if client else b"s ap traffic"
    th = bytes(transcript) if isinstance(transcript, (bytes, bytearray)) \
        else transcript.digest(prf_name)
    return derive_secret(main, label, th, prf_name)


def epoch_traffic_secrets(shared: bytes, early: bytes, transcript: Any,
                          prf_name: str, prf_size: int) -> tuple[bytearray, bytearray]:
    """(client, server) application traffic secrets for one epoch's ``shared_e``.

    ``transcript`` is a tlslite ``HandshakeHashes`` over ClientHello..server Finished.
    """
    main = epoch_main_secret(shared, early, prf_name, prf_size)
    return (epoch_traffic_secret(main, True, transcript, prf_name),
            epoch_traffic_secret(main, False, transcript, prf_name))


def key_exports(prf_size: int) -> list[tuple[bytes, bytes, int]]:
    """What the engine must export from every new epoch for this TLS suite."""
    return [(SHARED_SECRET_LABEL, b"", prf_size)]


def store_key(resumption_secret: bytes, client: bool) -> bytes:
    """The state-store key of a TLS session: one-way from its resumption secret.

    The server reads the resumption secret back out of its encrypted ticket, the client
    has it in its ``Session``; nobody else can compute the key, and the key reveals
    nothing about the secret. Nothing of MLS goes into the ticket.
    """
    secret = bytearray(resumption_secret)
    name = "sha384" if len(secret) == 48 else "sha256"
    return bytes(expand_label(secret, _STORE_KEY_LABELS[bool(client)], b"", 32, name))
