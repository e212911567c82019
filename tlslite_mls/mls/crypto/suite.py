"""MLS cipher suites: the labeled operations of RFC 9420 section 5 over primitives.

This is the "recipe" layer: :class:`CipherSuite` combines a KEM, an AEAD, a
hash and a signature scheme and offers exactly the operations the protocol
uses (ExpandWithLabel, SignWithLabel, EncryptWithLabel, RefHash...). Callers
look suites up by code point in one registry, so a new suite (post-quantum
ones included) is one :func:`register_cipher_suite` call away and no caller
changes.
"""

from __future__ import annotations

import functools
import hmac as _hmac
import os
from dataclasses import dataclass, field
from typing import Any, Union

from ..codec import encode_varint
from ..errors import InvalidKeyError, UnsupportedError, VerificationError
from . import aead as _aead
from . import hashes as _hashes
from . import hpke as _hpke
from . import pqkem as _pq
from . import signature as _sig

Label = Union[str, bytes]
_MLS_PREFIX = b"MLS 1.0 "


def _label(label: Label) -> bytes:
    return label.encode("ascii") if isinstance(label, str) else label


def _vec(data: bytes) -> bytes:
    return encode_varint(len(data)) + data


@functools.lru_cache(maxsize=64)
def _protocol_label(label: str) -> bytes:
    return _vec(_MLS_PREFIX + label.encode("ascii"))


def _full_label(label: Label) -> bytes:
    """The encoded ``"MLS 1.0 " + label`` of the labeled operations. The protocol's own
    labels (``str`` constants, a handful) are encoded once; others (exporter labels,
    given as bytes) each time."""
    if isinstance(label, str):
        return _protocol_label(label)
    return _vec(_MLS_PREFIX + label)


@dataclass(frozen=True, eq=False)
class CipherSuite:
    """One MLS cipher suite (RFC 9420 section 5.1)."""

    suite_id: int
    name: str
    kem: _hpke.KEM
    aead: _aead.AEADAlgorithm
    hash: _hashes.HashFunction
    signature: _sig.SignatureScheme
    hpke: _hpke.HPKESuite = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hpke", _hpke.HPKESuite(self.kem, self.hash, self.aead))

    def __repr__(self) -> str:
        return f"<CipherSuite 0x{self.suite_id:04x} {self.name}>"

    # --- sizes --------------------------------------------------------
    @property
    def hash_length(self) -> int:
        """KDF.Nh: the size of every secret in the key schedule."""
        return self.hash.length

    @property
    def key_size(self) -> int:
        """AEAD key length in bytes (Nk), for the secret tree's and the Welcome's keys."""
        return self.aead.key_size

    @property
    def nonce_size(self) -> int:
        """AEAD nonce length in bytes (Nn)."""
        return self.aead.nonce_size

    # --- hash, KDF, MAC -----------------------------------------------
    def digest(self, data: bytes) -> bytes:
        """The suite's hash of ``data``."""
        return self.hash.digest(data)

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract with the suite's hash (RFC 5869)."""
        return self.hash.extract(salt, ikm)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand with the suite's hash (RFC 5869)."""
        return self.hash.expand(prk, info, length)

    def expand_with_label(self, secret: bytes, label: Label, context: bytes,
                          length: int) -> bytes:
        """ExpandWithLabel (RFC 9420 section 8): HKDF-Expand with the label prefixed by
        "MLS 1.0 ", so secrets derived for different purposes never coincide."""
        info = length.to_bytes(2, "big") + _full_label(label) + _vec(context)
        return self.hash.expand(secret, info, length)

    def derive_secret(self, secret: bytes, label: Label) -> bytes:
        """DeriveSecret (section 8): ExpandWithLabel with an empty context, Nh bytes."""
        return self.expand_with_label(secret, label, b"", self.hash.length)

    def derive_tree_secret(self, secret: bytes, label: Label, generation: int,
                           length: int) -> bytes:
        """DeriveTreeSecret (section 9.1): the secret tree's ratchet step for one
        generation."""
        return self.expand_with_label(secret, label, generation.to_bytes(4, "big"), length)

    def ref_hash(self, label: Label, value: bytes) -> bytes:
        """RefHash (section 5.2): the hash that names KeyPackages and proposals by
        reference."""
        return self.hash.digest(_vec(_label(label)) + _vec(value))

    def mac(self, key: bytes, data: bytes) -> bytes:
        """HMAC with the suite's hash: membership tags and confirmation tags."""
        return self.hash.hmac(key, data)

    def verify_mac(self, key: bytes, data: bytes, tag: bytes) -> bool:
        """Whether ``tag`` is the MAC of ``data``; compared in constant time."""
        return _hmac.compare_digest(self.hash.hmac(key, data), tag)

    # --- AEAD ---------------------------------------------------------
    def aead_encrypt(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """The suite's AEAD encryption; returns ciphertext with the tag."""
        return self.aead.encrypt(key, nonce, aad, plaintext)

    def aead_decrypt(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """The suite's AEAD decryption; raises if the tag does not verify."""
        return self.aead.decrypt(key, nonce, aad, ciphertext)

    # --- signatures -----------------------------------------------------
    def generate_signature_key_pair(self) -> tuple[bytes, bytes]:
        """A fresh ``(private, public)`` signature key pair of the suite's scheme, as
        bytes in the encoding RFC 9420 section 5.1.1 uses."""
        return self.signature.generate()

    def sign_with_label(self, private: "bytes | Any", label: Label, content: bytes) -> bytes:
        """``private`` is the key's bytes or ``signature.load_private(bytes)``."""
        return self.signature.sign(private, _full_label(label) + _vec(content))

    def verify_with_label(self, public: bytes, label: Label, content: bytes,
                          signature: bytes) -> bool:
        """VerifyWithLabel (section 5.1.2): whether ``signature`` is ``public``'s
        signature over the labelled ``content``."""
        return self.signature.verify(
            public, _full_label(label) + _vec(content), signature)

    def check_signature(self, public: bytes, label: Label, content: bytes,
                        signature: bytes, what: str) -> None:
        """VerifyWithLabel that raises :class:`VerificationError` naming ``what``."""
        if not self.verify_with_label(public, label, content, signature):
            raise VerificationError(f"invalid signature on {what}")

    # --- received keys (docs/profile.md section 2) -----------------------
    def check_hpke_public_key(self, public: bytes, what: str) -> None:
        """Raise :class:`InvalidKeyError` naming ``what`` unless ``public`` is a valid
        HPKE public key of this suite."""
        try:
            self.kem.check_public_key(bytes(public))
        except InvalidKeyError as e:
            raise InvalidKeyError(f"{what}: {e}") from None

    def check_signature_public_key(self, public: bytes, what: str) -> None:
        """The same for a signature public key."""
        try:
            self.signature.check_public_key(bytes(public))
        except InvalidKeyError as e:
            raise InvalidKeyError(f"{what}: {e}") from None

    # --- HPKE -----------------------------------------------------------
    def generate_hpke_key_pair(self) -> tuple[bytes, bytes]:
        """A fresh ``(private, public)`` HPKE key pair of the suite's KEM."""
        return self.kem.derive_key_pair(os.urandom(self.kem.private_size))

    def derive_key_pair(self, secret: bytes) -> tuple[bytes, bytes]:
        """The suite KEM's DeriveKeyPair: the key pair that ``secret`` determines (path
        secrets and init keys are derived this way, so both sides agree without
        sending keys)."""
        return self.kem.derive_key_pair(secret)

    def encrypt_with_label(self, public: bytes, label: Label, context: bytes,
                           plaintext: bytes) -> tuple[bytes, bytes]:
        """Returns ``(kem_output, ciphertext)``."""
        info = _full_label(label) + _vec(context)
        return self.hpke.seal(public, info, b"", plaintext)

    def decrypt_with_label(self, private: bytes, label: Label, context: bytes,
                           kem_output: bytes, ciphertext: bytes) -> bytes:
        """DecryptWithLabel (section 5.1.3): HPKE open of what
        :meth:`encrypt_with_label` sealed under the same label and context."""
        info = _full_label(label) + _vec(context)
        return self.hpke.open(private, kem_output, info, b"", ciphertext)


_REGISTRY: dict[int, CipherSuite] = {}


def register_cipher_suite(suite: CipherSuite) -> CipherSuite:
    """Make ``suite`` available to :func:`get_cipher_suite` (at import time)."""
    _REGISTRY[suite.suite_id] = suite
    return suite


def unregister_cipher_suite(suite_id: int) -> None:
    """Forget a suite registered for a while (e.g. another implementation's private
    code points in an interop run); the built-in suites stay."""
    if suite_id in _BUILTIN:
        raise ValueError(f"MLS cipher suite 0x{suite_id:04x} is built in")
    _REGISTRY.pop(suite_id, None)


def get_cipher_suite(suite_id: int) -> CipherSuite:
    """The registered suite with this code point;
    :class:`~tlslite_mls.mls.errors.UnsupportedError` for one this build does not
    implement, so a peer's unknown suite is refused by name, never guessed at."""
    try:
        return _REGISTRY[suite_id]
    except KeyError:
        raise UnsupportedError(f"unsupported MLS cipher suite 0x{suite_id:04x}") from None


def supported_cipher_suites() -> list[int]:
    """The code points of every registered suite, ascending (RFC 9420's and the
    post-quantum placeholders of docs/profile.md section 1)."""
    return sorted(_REGISTRY)


for _id, _name, _kem, _aead_alg, _hash, _sig_scheme in (
    (0x0001, "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519",
     _hpke.DHKEM_X25519, _aead.AES128GCM, _hashes.SHA256, _sig.ED25519),
    (0x0002, "MLS_128_DHKEMP256_AES128GCM_SHA256_P256",
     _hpke.DHKEM_P256, _aead.AES128GCM, _hashes.SHA256, _sig.ECDSA_P256_SHA256),
    (0x0003, "MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519",
     _hpke.DHKEM_X25519, _aead.CHACHA20POLY1305, _hashes.SHA256, _sig.ED25519),
    (0x0004, "MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448",
     _hpke.DHKEM_X448, _aead.AES256GCM, _hashes.SHA512, _sig.ED448),
    (0x0005, "MLS_256_DHKEMP521_AES256GCM_SHA512_P521",
     _hpke.DHKEM_P521, _aead.AES256GCM, _hashes.SHA512, _sig.ECDSA_P521_SHA512),
    (0x0006, "MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448",
     _hpke.DHKEM_X448, _aead.CHACHA20POLY1305, _hashes.SHA512, _sig.ED448),
    (0x0007, "MLS_256_DHKEMP384_AES256GCM_SHA384_P384",
     _hpke.DHKEM_P384, _aead.AES256GCM, _hashes.SHA384, _sig.ECDSA_P384_SHA384),
    # draft-ietf-mls-pq-ciphersuites-06 TBD1..TBD11 at this profile's placeholders
    # 0xF001..0xF00B (docs/profile.md section 1; ..codepoints.PQ_CIPHER_SUITES).
    (0xF001, "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519",
     _pq.MLKEM768_X25519, _aead.AES128GCM, _hashes.SHA256, _sig.ED25519),
    (0xF002, "MLS_128_MLKEM768X25519_AES256GCM_SHA384_Ed25519",
     _pq.MLKEM768_X25519, _aead.AES256GCM, _hashes.SHA384, _sig.ED25519),
    (0xF003, "MLS_128_MLKEM768P256_AES128GCM_SHA256_P256",
     _pq.MLKEM768_P256, _aead.AES128GCM, _hashes.SHA256, _sig.ECDSA_P256_SHA256),
    (0xF004, "MLS_128_MLKEM768P256_AES256GCM_SHA384_P256",
     _pq.MLKEM768_P256, _aead.AES256GCM, _hashes.SHA384, _sig.ECDSA_P256_SHA256),
    (0xF005, "MLS_192_MLKEM1024P384_AES256GCM_SHA384_P384",
     _pq.MLKEM1024_P384, _aead.AES256GCM, _hashes.SHA384, _sig.ECDSA_P384_SHA384),
    (0xF006, "MLS_128_MLKEM768_AES256GCM_SHA384_Ed25519",
     _pq.MLKEM768, _aead.AES256GCM, _hashes.SHA384, _sig.ED25519),
    (0xF007, "MLS_128_MLKEM768_AES256GCM_SHA384_P256",
     _pq.MLKEM768, _aead.AES256GCM, _hashes.SHA384, _sig.ECDSA_P256_SHA256),
    (0xF008, "MLS_192_MLKEM1024_AES256GCM_SHA384_P384",
     _pq.MLKEM1024, _aead.AES256GCM, _hashes.SHA384, _sig.ECDSA_P384_SHA384),
    (0xF009, "MLS_128_MLKEM768X25519_CHACHA20POLY1305_SHA384_MLDSA44",
     _pq.MLKEM768_X25519, _aead.CHACHA20POLY1305, _hashes.SHA384, _sig.ML_DSA_44),
    (0xF00A, "MLS_192_MLKEM768_AES256GCM_SHA384_MLDSA65",
     _pq.MLKEM768, _aead.AES256GCM, _hashes.SHA384, _sig.ML_DSA_65),
    (0xF00B, "MLS_256_MLKEM1024_AES256GCM_SHA384_MLDSA87",
     _pq.MLKEM1024, _aead.AES256GCM, _hashes.SHA384, _sig.ML_DSA_87),
):
    register_cipher_suite(CipherSuite(_id, _name, _kem, _aead_alg, _hash, _sig_scheme))

_BUILTIN = frozenset(_REGISTRY)

__all__ = ["CipherSuite", "Label", "get_cipher_suite", "register_cipher_suite",
           "supported_cipher_suites", "unregister_cipher_suite", "VerificationError"]
