"""Post-quantum HPKE KEMs of draft-ietf-hpke-pq: ML-KEM-768/1024 and the three
PQ/T hybrids MLKEM768-X25519 (X-Wing), MLKEM768-P256 and MLKEM1024-P384.

ML-KEM itself is ``cryptography``'s (FIPS 203, keys from their 64-byte seed).
The hybrids are the QSF construction of draft-irtf-cfrg-hybrid-kems as
draft-irtf-cfrg-concrete-hybrid-kems instantiates it: a 32-byte seed expanded
with SHAKE256 into an ML-KEM seed and an ECDH scalar, ciphertext and public key
the concatenation of both parts, and the shared secret
``SHA3-256(ss_PQ || ss_T || ct_T || ek_T || label)``. Built here from the parts
for all three (``cryptography`` offers only two of them, and only behind its
own HPKE), so the MLS key schedule can derive node keys from path secrets with
DeriveKeyPair exactly as draft-ietf-hpke-pq defines it.

These KEMs are not Diffie-Hellman KEMs: they expose :meth:`encap` and
:meth:`decap`, and :class:`~.hpke.HPKESuite` runs the HPKE key schedule over them.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

from ..errors import DecodeError, InvalidKeyError, VerificationError
from .hpke import DHKEM_P256, DHKEM_P384, DHKEM_X25519, KEM

_HPKE_V1 = b"HPKE-v1"


def shake256_labeled_derive(kem_id: int, ikm: bytes, label: bytes, context: bytes,
                            length: int) -> bytes:
    """SHAKE256.LabeledDerive of draft-ietf-hpke-hpke (single-stage KDF) for a KEM."""
    suite_id = b"KEM" + kem_id.to_bytes(2, "big")
    labeled = (bytes(ikm) + _HPKE_V1 + suite_id + len(label).to_bytes(2, "big") + label
               + length.to_bytes(2, "big") + context)
    return hashlib.shake_256(labeled).digest(length)


class EncapKEM(KEM):
    """A KEM defined by Encap/Decap rather than by Diffie-Hellman."""

    shared_secret_size = 32

    def encap(self, public: bytes) -> tuple[bytes, bytes]:
        """``(shared_secret, enc)`` for ``public``."""
        raise NotImplementedError

    def decap(self, private: bytes, enc: bytes) -> bytes:
        """The shared secret of ``enc`` (:class:`VerificationError` on failure)."""
        raise NotImplementedError

    def generate_key_pair(self) -> tuple[bytes, bytes]:
        private = os.urandom(self.private_size)
        return private, self.public_key(private)


class MLKEM(EncapKEM):
    """ML-KEM-768 or ML-KEM-1024 (draft-ietf-hpke-pq section 3); private key = 64-byte seed."""

    def __init__(self, name: str, kem_id: int, public_size: int, enc_size: int,
                 priv_cls: Any, pub_cls: Any) -> None:
        self.name = name
        self.kem_id = kem_id
        self.private_size = 64
        self.public_size = public_size
        self.enc_size = enc_size
        self._priv_cls = priv_cls
        self._pub_cls = pub_cls

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        dk = shake256_labeled_derive(self.kem_id, ikm, b"DeriveKeyPair", b"", 64)
        return dk, self.public_key(dk)

    def public_key(self, private: bytes) -> bytes:
        return self.load_private(private).public_key().public_bytes_raw()

    def load_private(self, private: bytes) -> Any:
        if len(private) != 64:
            raise DecodeError(f"{self.name} private key must be the 64-byte seed")
        return self._priv_cls.from_seed_bytes(bytes(private))

    def load_public(self, public: bytes) -> Any:
        try:
            return self._pub_cls.from_public_bytes(bytes(public))
        except ValueError as e:
            raise DecodeError(f"invalid {self.name} public key: {e}") from None

    def check_public_key(self, public: bytes) -> None:
        """Length and the FIPS 203 section 7.2 modulus check (done by the loader:
        every 12-bit coefficient must be reduced modulo q)."""
        super().check_public_key(public)
        try:
            self.load_public(public)
        except DecodeError:
            raise InvalidKeyError(f"{self.name} encapsulation key fails the modulus "
                                  "check") from None

    def encap(self, public: bytes) -> tuple[bytes, bytes]:
        return self.load_public(public).encapsulate()

    def decap(self, private: bytes, enc: bytes) -> bytes:
        if len(enc) != self.enc_size:
            raise VerificationError(f"{self.name} ciphertext has {len(enc)} bytes")
        return self.load_private(private).decapsulate(bytes(enc))


MLKEM768 = MLKEM("ML-KEM-768", 0x0041, 1184, 1088,
                 mlkem.MLKEM768PrivateKey, mlkem.MLKEM768PublicKey)
MLKEM1024 = MLKEM("ML-KEM-1024", 0x0042, 1568, 1568,
                  mlkem.MLKEM1024PrivateKey, mlkem.MLKEM1024PublicKey)


class _X25519Group:
    """Curve25519 as a hybrid-KEM group: scalars are the 32 seed bytes themselves."""

    seed_size = element_size = 32

    def key_from_seed(self, seed: bytes) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.from_private_bytes(seed)

    def generate(self) -> x25519.X25519PrivateKey:
        return x25519.X25519PrivateKey.generate()

    def encode(self, public: Any) -> bytes:
        return public.public_bytes_raw()

    def load_public(self, data: bytes) -> Any:
        DHKEM_X25519.check_public_key(data)  # not a point of small order
        return x25519.X25519PublicKey.from_public_bytes(data)

    def exchange(self, private: Any, public: Any) -> bytes:
        return private.exchange(public)


class _NISTGroup:
    """P-256 or P-384: RandomScalar by rejection sampling over Nscalar-byte chunks."""

    def __init__(self, dhkem: Any, seed_size: int) -> None:
        self.curve = dhkem.curve
        self.order = dhkem.order
        self.scalar_size = (self.curve.key_size + 7) // 8
        self.seed_size = seed_size
        self.element_size = 1 + 2 * self.scalar_size

    def key_from_seed(self, seed: bytes) -> ec.EllipticCurvePrivateKey:
        n = self.scalar_size
        for start in range(0, len(seed) - n + 1, n):
            sk = int.from_bytes(seed[start:start + n], "big")
            if 0 < sk < self.order:
                return ec.derive_private_key(sk, self.curve)
        raise VerificationError("RandomScalar: rejection sampling failed")  # < 2^-128

    def generate(self) -> ec.EllipticCurvePrivateKey:
        return self.key_from_seed(os.urandom(self.seed_size))

    def encode(self, public: Any) -> bytes:
        return public.public_bytes(serialization.Encoding.X962,
                                   serialization.PublicFormat.UncompressedPoint)

    def load_public(self, data: bytes) -> Any:
        if len(data) != self.element_size or data[0] != 4:
            raise InvalidKeyError("not an uncompressed point")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(self.curve, data)
        except ValueError as e:
            raise InvalidKeyError(str(e)) from None

    def exchange(self, private: Any, public: Any) -> bytes:
        return private.exchange(ec.ECDH(), public)


class HybridKEM(EncapKEM):
    """A QSF hybrid of ML-KEM and an ECDH group; private key = 32-byte seed."""

    def __init__(self, name: str, kem_id: int, pq: MLKEM, group: Any, label: bytes) -> None:
        self.name = name
        self.kem_id = kem_id
        self.pq = pq
        self.group = group
        self.label = label
        self.private_size = 32
        self.public_size = pq.public_size + group.element_size
        self.enc_size = pq.enc_size + group.element_size

    def expand(self, seed: bytes) -> tuple[Any, Any]:
        """expandKey: the ML-KEM key object and the group's private key object."""
        if len(seed) != self.private_size:
            raise DecodeError(f"{self.name} private key must be the 32-byte seed")
        full = hashlib.shake_256(bytes(seed)).digest(64 + self.group.seed_size)
        return self.pq.load_private(full[:64]), self.group.key_from_seed(full[64:])

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        seed = shake256_labeled_derive(self.kem_id, ikm, b"DeriveKeyPair", b"", 32)
        return seed, self.public_key(seed)

    def public_key(self, private: bytes) -> bytes:
        pq_key, t_key = self.expand(private)
        return pq_key.public_key().public_bytes_raw() + self.group.encode(t_key.public_key())

    def load_private(self, private: bytes) -> Any:
        return self.expand(private)

    def _split_public(self, public: bytes) -> tuple[Any, bytes, Any]:
        if len(public) != self.public_size:
            raise InvalidKeyError(f"{self.name} public key has {len(public)} bytes, "
                                  f"not {self.public_size}")
        n = self.pq.public_size
        try:
            pq_pub = self.pq.load_public(public[:n])
        except DecodeError:
            raise InvalidKeyError(f"{self.name} ML-KEM encapsulation key fails the "
                                  "modulus check") from None
        ek_t = bytes(public[n:])
        try:
            t_pub = self.group.load_public(ek_t)
        except InvalidKeyError as e:
            raise InvalidKeyError(f"{self.name} ECDH public key: {e}") from None
        return pq_pub, ek_t, t_pub

    def load_public(self, public: bytes) -> Any:
        return self._split_public(public)

    def check_public_key(self, public: bytes) -> None:
        self._split_public(public)

    def _combine(self, ss_pq: bytes, ss_t: bytes, ct_t: bytes, ek_t: bytes) -> bytes:
        return hashlib.sha3_256(ss_pq + ss_t + ct_t + ek_t + self.label).digest()

    def encap(self, public: bytes) -> tuple[bytes, bytes]:
        pq_pub, ek_t, t_pub = self._split_public(public)
        ss_pq, ct_pq = pq_pub.encapsulate()
        ephemeral = self.group.generate()
        ct_t = self.group.encode(ephemeral.public_key())
        ss_t = self.group.exchange(ephemeral, t_pub)
        return self._combine(ss_pq, ss_t, ct_t, ek_t), ct_pq + ct_t

    def decap(self, private: bytes, enc: bytes) -> bytes:
        if len(enc) != self.enc_size:
            raise VerificationError(f"{self.name} ciphertext has {len(enc)} bytes")
        pq_key, t_key = self.expand(private)
        n = self.pq.enc_size
        ct_pq, ct_t = bytes(enc[:n]), bytes(enc[n:])
        try:
            ss_t = self.group.exchange(t_key, self.group.load_public(ct_t))
        except (InvalidKeyError, ValueError):
            raise VerificationError(f"{self.name}: invalid ECDH ciphertext") from None
        ss_pq = pq_key.decapsulate(ct_pq)
        ek_t = self.group.encode(t_key.public_key())
        return self._combine(ss_pq, ss_t, ct_t, ek_t)


MLKEM768_X25519 = HybridKEM("MLKEM768-X25519", 0x647A, MLKEM768, _X25519Group(), b"\\.//^\\")
MLKEM768_P256 = HybridKEM("MLKEM768-P256", 0x0050, MLKEM768,
                          _NISTGroup(DHKEM_P256, 128), b"MLKEM768-P256")
MLKEM1024_P384 = HybridKEM("MLKEM1024-P384", 0x0051, MLKEM1024,
                           _NISTGroup(DHKEM_P384, 48), b"MLKEM1024-P384")
