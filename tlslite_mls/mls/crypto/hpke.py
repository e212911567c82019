"""HPKE (RFC 9180) base mode with the DH-based KEMs the MLS suites use.

Backends, fastest first: ``cryptography``'s built-in HPKE (Rust/OpenSSL) for
X25519 and the NIST curves, ``pyhpke`` for X448 (which ``cryptography``'s HPKE
lacks) and for any call with non-empty AAD. DeriveKeyPair (RFC 9180 section
7.1.3) is a few labeled HKDF calls, done here directly: TreeKEM calls it for
every path node, and the direct version is several times faster than going
through a library object.

A post-quantum KEM plugs in by implementing :class:`KEM` (``derive_key_pair``,
``generate_key_pair``, ``public_key``) and a matching HPKE backend.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import hpke as _chpke
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from ..errors import DecodeError, InvalidKeyError, VerificationError
from .aead import AEADAlgorithm
from .hashes import SHA256, SHA384, SHA512, HashFunction

_HPKE_V1 = b"HPKE-v1"


class KEM:
    """An HPKE KEM: key generation and derivation; HPKESuite does the sealing."""

    name: str
    kem_id: int
    private_size: int
    public_size: int
    enc_size: int
    hash: HashFunction

    def _labeled_extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        suite_id = b"KEM" + self.kem_id.to_bytes(2, "big")
        return self.hash.extract(salt, _HPKE_V1 + suite_id + label + ikm)

    def _labeled_expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        suite_id = b"KEM" + self.kem_id.to_bytes(2, "big")
        return self.hash.expand(
            prk, length.to_bytes(2, "big") + _HPKE_V1 + suite_id + label + info, length)

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        raise NotImplementedError

    def generate_key_pair(self) -> tuple[bytes, bytes]:
        return self.derive_key_pair(os.urandom(self.private_size))

    def public_key(self, private: bytes) -> bytes:
        raise NotImplementedError

    def check_public_key(self, public: bytes) -> None:
        """Raise :class:`InvalidKeyError` unless ``public`` is a valid key of this KEM.

        Called on every key a peer sends (docs/profile.md section 2) before it is used,
        so a bad key is the peer's ``illegal_parameter`` and never a failure deep
        inside a later encryption.
        """
        if len(public) != self.public_size:
            raise InvalidKeyError(f"{self.name} public key has {len(public)} bytes, "
                                  f"not {self.public_size}")

    def load_public(self, public: bytes) -> Any:
        raise NotImplementedError

    def load_private(self, private: bytes) -> Any:
        raise NotImplementedError

    def canonical_private(self, private: bytes) -> bytes:
        """The private key in its RFC 9180 SerializePrivateKey form (Nsk bytes)."""
        return private

    def __repr__(self) -> str:
        return f"<KEM {self.name}>"


class _XDHKEM(KEM):
    def __init__(self, name: str, kem_id: int, size: int, hash_fn: HashFunction,
                 priv_cls: Any, pub_cls: Any, prime: int, small_order: tuple[int, ...]) -> None:
        self.name = name
        self._prime = prime
        # u-coordinates of the points of small order (RFC 7748 section 7): a DH
        # with one of them yields a fixed (all-zero) shared secret.
        self._small_order = frozenset(small_order + (0, 1, prime - 1))
        self.kem_id = kem_id
        self.private_size = self.public_size = self.enc_size = size
        self.hash = hash_fn
        self._priv_cls = priv_cls
        self._pub_cls = pub_cls

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        prk = self._labeled_extract(b"", b"dkp_prk", ikm)
        sk = self._labeled_expand(prk, b"sk", b"", self.private_size)
        return sk, self.public_key(sk)

    def public_key(self, private: bytes) -> bytes:
        return self._priv_cls.from_private_bytes(private).public_key().public_bytes_raw()

    def check_public_key(self, public: bytes) -> None:
        super().check_public_key(public)
        u = int.from_bytes(public, "little")
        if self.public_size == 32:
            u &= (1 << 255) - 1  # RFC 7748 section 5: X25519 ignores the top bit
        if u % self._prime in self._small_order:
            raise InvalidKeyError(f"{self.name} public key is a point of small order")

    def load_public(self, public: bytes) -> Any:
        try:
            return self._pub_cls.from_public_bytes(public)
        except ValueError as e:
            raise DecodeError(f"invalid {self.name} public key: {e}") from None

    def load_private(self, private: bytes) -> Any:
        try:
            return self._priv_cls.from_private_bytes(private)
        except ValueError as e:
            raise DecodeError(f"invalid {self.name} private key: {e}") from None


class _ECDHKEM(KEM):
    def __init__(self, name: str, kem_id: int, curve: ec.EllipticCurve,
                 hash_fn: HashFunction, bitmask: int) -> None:
        self.name = name
        self.kem_id = kem_id
        self.curve = curve
        self.private_size = (curve.key_size + 7) // 8
        self.public_size = self.enc_size = 1 + 2 * self.private_size
        self.hash = hash_fn
        self._bitmask = bitmask
        self.order = {256: 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
                       384: int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                                "581A0DB248B0A77AECEC196ACCC52973", 16),
                       521: int("01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                                "FFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9"
                                "B8899C47AEBB6FB71E91386409", 16)}[curve.key_size]

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        prk = self._labeled_extract(b"", b"dkp_prk", ikm)
        for counter in range(256):
            candidate = bytearray(
                self._labeled_expand(prk, b"candidate", bytes((counter,)), self.private_size))
            candidate[0] &= self._bitmask
            sk = int.from_bytes(candidate, "big")
            if 0 < sk < self.order:
                private = bytes(candidate)
                return private, self.public_key(private)
        raise VerificationError("DeriveKeyPair: no valid candidate")  # pragma: no cover

    def check_public_key(self, public: bytes) -> None:
        super().check_public_key(public)  # the uncompressed form: 0x04 || x || y
        if public[0] != 4:
            raise InvalidKeyError(f"{self.name} public key is not an uncompressed point")
        try:
            self.load_public(public)  # on the curve (the identity has no such encoding)
        except DecodeError as e:
            raise InvalidKeyError(str(e)) from None

    def public_key(self, private: bytes) -> bytes:
        return self.load_private(private).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def load_public(self, public: bytes) -> Any:
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(self.curve, public)
        except ValueError as e:
            raise DecodeError(f"invalid {self.name} public key: {e}") from None

    def canonical_private(self, private: bytes) -> bytes:
        """Left-pad a scalar serialized without its leading zero bytes.

        Some implementations write a P-521 scalar whose top byte is zero in 65
        bytes instead of 66 (the official MLS vectors hold such keys); the value
        is the same integer, so it is padded as other implementations do.
        """
        if 0 < len(private) < self.private_size:
            return bytes(self.private_size - len(private)) + private
        return private

    def load_private(self, private: bytes) -> Any:
        private = self.canonical_private(private)
        if len(private) != self.private_size:
            raise DecodeError(f"invalid {self.name} private key length {len(private)}")
        try:
            return ec.derive_private_key(int.from_bytes(private, "big"), self.curve)
        except ValueError as e:
            raise DecodeError(f"invalid {self.name} private key: {e}") from None


_P25519 = 2**255 - 19
DHKEM_X25519 = _XDHKEM("DHKEM(X25519, HKDF-SHA256)", 0x0020, 32, SHA256,
                       x25519.X25519PrivateKey, x25519.X25519PublicKey, _P25519,
                       (325606250916557431795983626356110631294008115727848805560023387167927233504,
                        39382357235489614581723060781553021112529911719440698176882885853963445705823))
DHKEM_X448 = _XDHKEM("DHKEM(X448, HKDF-SHA512)", 0x0021, 56, SHA512,
                     x448.X448PrivateKey, x448.X448PublicKey, 2**448 - 2**224 - 1, ())
DHKEM_P256 = _ECDHKEM("DHKEM(P-256, HKDF-SHA256)", 0x0010, ec.SECP256R1(), SHA256, 0xFF)
DHKEM_P384 = _ECDHKEM("DHKEM(P-384, HKDF-SHA384)", 0x0011, ec.SECP384R1(), SHA384, 0xFF)
DHKEM_P521 = _ECDHKEM("DHKEM(P-521, HKDF-SHA512)", 0x0012, ec.SECP521R1(), SHA512, 0x01)

_KDF_IDS = {"sha256": 0x0001, "sha384": 0x0002, "sha512": 0x0003}
_C_KEMS = {0x0020: _chpke.KEM.X25519, 0x0010: _chpke.KEM.P256,
           0x0011: _chpke.KEM.P384, 0x0012: _chpke.KEM.P521}
_C_KDFS = {0x0001: _chpke.KDF.HKDF_SHA256, 0x0002: _chpke.KDF.HKDF_SHA384,
           0x0003: _chpke.KDF.HKDF_SHA512}
_C_AEADS = {0x0001: _chpke.AEAD.AES_128_GCM, 0x0002: _chpke.AEAD.AES_256_GCM,
            0x0003: _chpke.AEAD.CHACHA20_POLY1305}


class HPKEContext:
    """The base-mode key schedule of RFC 9180 section 5.1 (two-stage KDF) and the
    context it yields: Seal/Open with the sequence number, and Export.

    Used for the KEMs that are not Diffie-Hellman (the post-quantum ones, which no
    backend offers with MLS's needs: DeriveKeyPair from a path secret, export for
    the vectors); the DH KEMs keep their native backends.
    """

    __slots__ = ("_kdf", "_aead", "_suite_id", "key", "base_nonce", "exporter_secret", "seq")

    def __init__(self, kem_id: int, kdf: HashFunction, kdf_id: int, aead: AEADAlgorithm,
                 shared_secret: bytes, info: bytes) -> None:
        self._kdf = kdf
        self._aead = aead
        self._suite_id = (b"HPKE" + kem_id.to_bytes(2, "big") + kdf_id.to_bytes(2, "big")
                          + aead.hpke_id.to_bytes(2, "big"))
        context = (b"\x00" + self._extract(b"", b"psk_id_hash", b"")
                   + self._extract(b"", b"info_hash", info))
        secret = self._extract(shared_secret, b"secret", b"")
        self.key = self._expand(secret, b"key", context, aead.key_size)
        self.base_nonce = self._expand(secret, b"base_nonce", context, aead.nonce_size)
        self.exporter_secret = self._expand(secret, b"exp", context, kdf.length)
        self.seq = 0

    def __repr__(self) -> str:
        return f"<HPKEContext seq={self.seq}>"

    def _extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return self._kdf.extract(salt, _HPKE_V1 + self._suite_id + label + ikm)

    def _expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        return self._kdf.expand(
            prk, length.to_bytes(2, "big") + _HPKE_V1 + self._suite_id + label + info, length)

    def _nonce(self) -> bytes:
        n = len(self.base_nonce)
        return (int.from_bytes(self.base_nonce, "big") ^ self.seq).to_bytes(n, "big")

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        ciphertext = self._aead.encrypt(self.key, self._nonce(), aad, plaintext)
        self.seq += 1
        return ciphertext

    def open(self, aad: bytes, ciphertext: bytes) -> bytes:
        plaintext = self._aead.decrypt(self.key, self._nonce(), aad, ciphertext)
        self.seq += 1  # only after success (RFC 9180 section 5.2)
        return plaintext

    def export(self, exporter_context: bytes, length: int) -> bytes:
        return self._expand(self.exporter_secret, b"sec", exporter_context, length)


class HPKESuite:
    """HPKE base mode for one (KEM, KDF, AEAD) triple: SealBase and OpenBase."""

    def __init__(self, kem: KEM, kdf: HashFunction, aead: AEADAlgorithm) -> None:
        self.kem = kem
        self.kdf = kdf
        self.aead = aead
        self.kdf_id = _KDF_IDS[kdf.name]
        self._native = None
        if kem.kem_id in _C_KEMS:
            self._native = _chpke.Suite(_C_KEMS[kem.kem_id], _C_KDFS[self.kdf_id],
                                        _C_AEADS[aead.hpke_id])
        self._py = None

    def _pyhpke(self) -> Any:
        if self._py is None:
            import pyhpke
            self._py = pyhpke.CipherSuite.new(pyhpke.KEMId(self.kem.kem_id),
                                              pyhpke.KDFId(self.kdf_id),
                                              pyhpke.AEADId(self.aead.hpke_id))
        return self._py

    def context(self, shared_secret: bytes, info: bytes) -> HPKEContext:
        """The base-mode context for a KEM shared secret (KeySchedule of RFC 9180)."""
        return HPKEContext(self.kem.kem_id, self.kdf, self.kdf_id, self.aead,
                           shared_secret, info)

    def seal(self, public: bytes, info: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """SealBase: returns ``(kem_output, ciphertext)``."""
        encap = getattr(self.kem, "encap", None)
        if encap is not None:
            shared_secret, enc = encap(public)
            return enc, self.context(shared_secret, info).seal(aad, plaintext)
        if self._native is not None and not aad:
            out = self._native.encrypt(plaintext, self.kem.load_public(public), info)
            n = self.kem.enc_size
            return out[:n], out[n:]
        suite = self._pyhpke()
        try:
            pk = suite.kem.deserialize_public_key(public)
        except Exception as e:
            raise DecodeError(f"invalid {self.kem.name} public key: {e}") from None
        enc, ctx = suite.create_sender_context(pk, info=info)
        return bytes(enc), bytes(ctx.seal(plaintext, aad=aad))

    def open(self, private: bytes, kem_output: bytes, info: bytes, aad: bytes,
             ciphertext: bytes) -> bytes:
        """OpenBase; any failure is a :class:`VerificationError`."""
        if len(kem_output) != self.kem.enc_size:
            raise VerificationError(f"HPKE kem_output has {len(kem_output)} bytes, "
                                    f"{self.kem.name} needs {self.kem.enc_size}")
        decap = getattr(self.kem, "decap", None)
        if decap is not None:
            try:
                return self.context(decap(private, kem_output), info).open(aad, ciphertext)
            except Exception:
                raise VerificationError("HPKE decryption failed") from None
        if self._native is not None and not aad:
            try:
                return self._native.decrypt(kem_output + ciphertext,
                                            self.kem.load_private(private), info)
            except Exception:
                raise VerificationError("HPKE decryption failed") from None
        suite = self._pyhpke()
        try:
            sk = suite.kem.deserialize_private_key(self.kem.canonical_private(private))
            ctx = suite.create_recipient_context(kem_output, sk, info=info)
            return bytes(ctx.open(ciphertext, aad=aad))
        except Exception:
            raise VerificationError("HPKE decryption failed") from None
