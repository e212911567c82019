"""tlslite-ng's x25519 and record ciphers computed by OpenSSL (through ``cryptography``).

tlslite-ng computes x25519 and every record cipher in pure Python (unless M2Crypto or
PyCrypto is installed): about 1 ms per x25519 operation, for AES-GCM a key schedule
plus GHASH tables for every traffic key (four per side per handshake) and ~0.5 MB/s
of record protection, and no better for AES-CCM, AES-CBC or 3DES. An MLS handshake
spends more time there than in MLS, so ``MLSTLSConnection`` (and MLS-TLS) swap in
these drop-in replacements. They keep tlslite-ng's interfaces, inputs, outputs and
errors exactly, so nothing else in tlslite-ng notices:

* :class:`OpenSSLX25519` is an ``ECDHKeyExchange`` for the x25519 group (the MLS
  client's fallback share, and classic TLS 1.3 on fallback);
* :class:`OpenSSLAEAD` has the AEAD object interface of ``tlslite.utils.aesgcm``,
  ``aesccm`` and ``chacha20_poly1305`` (``seal``/``open``, ``open`` returns None on a
  bad tag); records and session tickets (tickets.py) use it;
* :class:`OpenSSLRecordLayer` is a ``RecordLayer`` whose cipher settings hand out
  those objects, and ciphers.py's CBC and RC4 objects, for every suite tlslite-ng
  negotiates (TLS 1.3 and 1.2 and older).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Optional

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from tlslite.constants import CipherSuite, GroupName
from tlslite.errors import TLSIllegalParameterException
from tlslite.keyexchange import ECDHKeyExchange
from tlslite import recordlayer
from tlslite.recordlayer import ConnectionState, RecordLayer

from . import ciphers
from .ciphers import OpenSSLCBC
from .hkdf import expand_label

log = logging.getLogger(__name__)

_X25519_SIZE = 32
_TAG = 16
# tlslite-ng's AEAD names: (cryptography class, tag length)
_AEADS = {"aes128gcm": (AESGCM, _TAG), "aes256gcm": (AESGCM, _TAG),
          "chacha20-poly1305": (ChaCha20Poly1305, _TAG),
          "aes128ccm": (AESCCM, _TAG), "aes256ccm": (AESCCM, _TAG),
          "aes128ccm_8": (AESCCM, 8), "aes256ccm_8": (AESCCM, 8)}


class OpenSSLX25519(ECDHKeyExchange):
    """tlslite-ng's ECDHKeyExchange for x25519: its 32 random private bytes (clamped
    alike by both implementations), its errors for a wrong-sized share or an
    all-zero result."""

    def __init__(self, group: int, version: Any) -> None:
        if group != GroupName.x25519:
            raise ValueError("OpenSSLX25519 is for the x25519 group only")
        super().__init__(group, version)

    def calc_public_value(self, private: Any, point_format: str = "uncompressed") -> bytearray:
        key = X25519PrivateKey.from_private_bytes(bytes(private))
        return bytearray(key.public_key().public_bytes_raw())

    def calc_shared_key(self, private: Any, peer_share: Any,
                        valid_point_formats: Any = ("uncompressed",)) -> bytearray:
        if len(peer_share) != _X25519_SIZE:
            raise TLSIllegalParameterException("Invalid key share")
        try:
            shared = X25519PrivateKey.from_private_bytes(bytes(private)).exchange(
                X25519PublicKey.from_public_bytes(bytes(peer_share)))
        except ValueError:  # OpenSSL refuses an all-zero shared secret
            raise TLSIllegalParameterException("Invalid key share") from None
        return bytearray(shared)


def get_kex(base: Callable[[int, Any], Any], group: int, version: Any) -> Any:
    """``base(group, version)``, except x25519, which goes to OpenSSL."""
    if group == GroupName.x25519:
        return OpenSSLX25519(group, version)
    return base(group, version)


class OpenSSLAEAD:
    """A tlslite-ng AEAD object (AES-GCM, AES-CCM or ChaCha20-Poly1305) backed by
    OpenSSL; ``name`` is tlslite-ng's (``aes256gcm``, ``aes128ccm_8``, ...). A key
    OpenSSL does not take for that AEAD raises ``ValueError``."""

    isBlockCipher = False  # noqa: N815 - tlslite-ng's attribute names
    isAEAD = True  # noqa: N815
    nonceLength = 12  # noqa: N815
    tagLength = _TAG  # noqa: N815
    implementation = "openssl"

    def __init__(self, name: str, key: Any) -> None:
        self.name = name
        self.key = key
        cls, self.tagLength = _AEADS[name]
        self._aead = cls(bytes(key), tag_length=self.tagLength) if cls is AESCCM \
            else cls(bytes(key))

    def seal(self, nonce: Any, plaintext: Any, data: Any) -> bytearray:
        if len(nonce) != 12:
            raise ValueError("Bad nonce length")
        return bytearray(self._aead.encrypt(bytes(nonce), bytes(plaintext), bytes(data)))

    def open(self, nonce: Any, ciphertext: Any, data: Any) -> Optional[bytearray]:
        if len(nonce) != 12:
            raise ValueError("Bad nonce length")
        if len(ciphertext) < self.tagLength:
            return None
        try:
            return bytearray(self._aead.decrypt(bytes(nonce), bytes(ciphertext), bytes(data)))
        except InvalidTag:
            return None

    def seal_bytes(self, nonce: bytes, plaintext: Any, data: bytes) -> bytes:
        """``seal`` without the checks and copies, for the record fast path."""
        return self._aead.encrypt(nonce, plaintext, data)

    def open_view(self, nonce: bytes, ciphertext: Any, data: bytes) -> Optional[bytes]:
        """``open`` of a memoryview without copies, for the record fast path; None on a
        bad tag (the caller has checked that the record holds a tag)."""
        try:
            return self._aead.decrypt(nonce, ciphertext, data)
        except InvalidTag:
            return None

    def __repr__(self) -> str:  # no key material
        return f"OpenSSLAEAD({self.name})"


def _aes_gcm(key: Any, implementations: Any = None) -> OpenSSLAEAD:
    return OpenSSLAEAD("aes128gcm" if len(key) == 16 else "aes256gcm", key)


def _aes_ccm(key: Any, implementations: Any = None) -> OpenSSLAEAD:
    return OpenSSLAEAD("aes128ccm" if len(key) == 16 else "aes256ccm", key)


def _aes_ccm_8(key: Any, implementations: Any = None) -> OpenSSLAEAD:
    return OpenSSLAEAD("aes128ccm_8" if len(key) == 16 else "aes256ccm_8", key)


def _chacha20_poly1305(key: Any, implementations: Any = None) -> OpenSSLAEAD:
    return OpenSSLAEAD("chacha20-poly1305", key)


def _aes_cbc(key: Any, iv: Any, implementations: Any = None) -> OpenSSLCBC:
    return OpenSSLCBC(ciphers.aes_name(key), key, iv)


@functools.lru_cache(maxsize=None)
def _warn_no_openssl(name: str) -> None:
    log.warning("this cryptography/OpenSSL build has no %s: tlslite-ng's pure-Python %s "
                "protects the records of connections that negotiate it", name, name)


def _decrepit(name: str, theirs: Callable[..., Any]) -> Callable[..., Any]:
    """The factory of a cipher from ``cryptography``'s decrepit module: OpenSSL's
    object, or tlslite-ng's (``theirs``) with a warning when the build lacks it."""
    def factory(key: Any, iv: Any, implementations: Any = None) -> Any:
        cipher = ciphers.make(name, key, iv)
        if cipher is None:
            _warn_no_openssl(name)
            return theirs(key, iv, implementations)
        return cipher
    return factory


# tlslite-ng's cipher factories (as its record layer names them) -> ours
_OPENSSL_FACTORIES: dict = {
    recordlayer.createAESGCM: _aes_gcm, recordlayer.createAESCCM: _aes_ccm,
    recordlayer.createAESCCM_8: _aes_ccm_8, recordlayer.createCHACHA20: _chacha20_poly1305,
    recordlayer.createAES: _aes_cbc,
    recordlayer.createTripleDES: _decrepit("3des", recordlayer.createTripleDES),
    recordlayer.createRC4: _decrepit("rc4", recordlayer.createRC4),
}


class OpenSSLRecordLayer(RecordLayer):
    """tlslite-ng's RecordLayer with every record cipher computed by OpenSSL.

    Only the factories change: nonces, sequence numbers, MACs, padding and key
    updates stay tlslite-ng's. Each of tlslite-ng's cipher factories is replaced:
    AES-GCM, AES-CCM (and CCM_8), ChaCha20-Poly1305 (the RFC 7905 suites and the
    draft-00 ones, which differ only in the nonce the record layer builds) by
    :class:`OpenSSLAEAD`; AES-CBC and 3DES-CBC by :class:`~.ciphers.OpenSSLCBC`; RC4
    by :class:`~.ciphers.OpenSSLRC4`. 3DES and RC4 stay tlslite-ng's, with a
    warning, only on a build of OpenSSL without them (``ciphers.available``).
    """

    @staticmethod
    def _getCipherSettings(cipherSuite: int) -> tuple:  # noqa: N802,N803
        key_length, iv_length, factory = RecordLayer._getCipherSettings(cipherSuite)
        return key_length, iv_length, _OPENSSL_FACTORIES.get(factory, factory)

    def calcTLS1_3PendingState(self, cipherSuite: int, cl_traffic_secret: Any,  # noqa: N802,N803
                               sr_traffic_secret: Any, implementations: Any) -> None:
        """tlslite-ng's pending states of both directions (RFC 8446 section 7.3), the
        keys and IVs expanded with one-shot ``hmac.digest`` (tls/hkdf.py): the same
        bytes, without tlslite-ng's per-call HMAC objects."""
        client_state = self._tls13_state(cipherSuite, cl_traffic_secret, implementations)
        server_state = self._tls13_state(cipherSuite, sr_traffic_secret, implementations)
        if self.client:
            self._pendingWriteState, self._pendingReadState = client_state, server_state
        else:
            self._pendingWriteState, self._pendingReadState = server_state, client_state

    def prepare_tls13_direction(self, cipher_suite: int, traffic_secret: Any, write: bool,
                                implementations: Any = None) -> None:
        """The pending state of one direction only (``write``: ours, else the peer's),
        for an epoch change, which switches the two directions at different times."""
        state = self._tls13_state(cipher_suite, traffic_secret, implementations)
        if write:
            self._pendingWriteState = state
        else:
            self._pendingReadState = state

    def _tls13_state(self, cipher_suite: int, secret: Any, implementations: Any) -> Any:
        prf_name = "sha384" if cipher_suite in CipherSuite.sha384PrfSuites else "sha256"
        key_length, _, cipher_func = self._getCipherSettings(cipher_suite)
        state = ConnectionState()
        state.macContext = None
        state.encContext = cipher_func(
            expand_label(secret, b"key", b"", key_length, prf_name), implementations)
        state.fixedNonce = expand_label(secret, b"iv", b"", 12, prf_name)
        return state
