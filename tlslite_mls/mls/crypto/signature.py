"""Signature schemes of the MLS cipher suites, on ``cryptography`` (Ed25519 on
libsodium through PyNaCl when it is installed, as it is with the package).

Keys travel as bytes, in the encodings RFC 9420 uses on the wire: raw keys for
EdDSA, the uncompressed point (public) and the big-endian scalar (private) for
ECDSA. ECDSA signatures are DER, as TLS and RFC 9420 expect.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa

from ..errors import DecodeError, InvalidKeyError

try:
    from nacl import bindings as _sodium
    from nacl.exceptions import CryptoError as _SodiumError
except ImportError:  # pragma: no cover - PyNaCl is a dependency; OpenSSL takes over
    _sodium = None
    _SodiumError = Exception


class SigningKey:
    """A private signature key that is parsed once per signature scheme.

    Parsing a private key derives its public half, a scalar multiplication that
    costs as much as a signature. A standing identity signs in every handshake,
    so it is worth paying that once: every API that takes a private key as bytes
    also takes a ``SigningKey``, and :meth:`SignatureScheme.load_private` keeps
    the parsed key here. ``private_bytes`` is the wire form, for persistence.
    The repr shows no key material.
    """

    __slots__ = ("private_bytes", "_loaded")

    def __init__(self, private_bytes: bytes) -> None:
        if isinstance(private_bytes, SigningKey):
            private_bytes = private_bytes.private_bytes
        if not isinstance(private_bytes, (bytes, bytearray)) or not private_bytes:
            raise TypeError("a SigningKey is made from the private key's bytes")
        self.private_bytes = bytes(private_bytes)
        self._loaded: dict[SignatureScheme, Any] = {}  # per scheme (backend)

    def __repr__(self) -> str:
        return f"SigningKey(<{len(self.private_bytes)} bytes>)"


def memoized_signing_key(memo: dict, key: "bytes | SigningKey") -> SigningKey:
    """``key`` as a SigningKey, the same object for the same bytes in ``memo`` (a dict
    the caller keeps, e.g. settings shared by all connections), so a standing identity
    is parsed once however many handshakes use it."""
    if isinstance(key, SigningKey):
        return key
    found = memo.get(bytes(key))
    if found is None:
        found = memo[bytes(key)] = SigningKey(bytes(key))
    return found


def private_key_bytes(private: "bytes | SigningKey") -> bytes:
    """The wire form of a private key given as bytes or as a :class:`SigningKey`."""
    return private.private_bytes if isinstance(private, SigningKey) else bytes(private)


class SignatureScheme:
    """A TLS SignatureScheme as MLS uses it."""

    name: str
    scheme_id: int

    def generate(self) -> tuple[bytes, bytes]:
        """A fresh (private, public) key pair as bytes."""
        raise NotImplementedError

    def public_key(self, private: "bytes | Any") -> bytes:
        """The public key of a private key given as bytes or loaded (:meth:`load_private`)."""
        raise NotImplementedError

    def load_private(self, private: "bytes | SigningKey") -> Any:
        """A loaded signing key: pass it to :meth:`sign` instead of the bytes to
        skip re-parsing the key (and re-deriving its public half) per signature.
        A :class:`SigningKey` is parsed only the first time."""
        if not isinstance(private, SigningKey):
            return self._load_private(bytes(private))
        key = private._loaded.get(self)
        if key is None:
            key = private._loaded[self] = self._load_private(private.private_bytes)
        return key

    def _load_private(self, private: bytes) -> Any:
        raise NotImplementedError

    def _backend_key(self, private: Any) -> Any:
        """``private`` as a backend key, whatever form it came in."""
        if isinstance(private, (bytes, bytearray, SigningKey)):
            return self.load_private(private)
        return private

    def sign(self, private: "bytes | Any", message: bytes) -> bytes:
        raise NotImplementedError

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        raise NotImplementedError

    def encode_public_key(self, key: Any) -> bytes:
        """The wire form of a ``cryptography`` public key object (e.g. from a certificate)."""
        raise NotImplementedError

    def check_public_key(self, public: bytes) -> None:
        """Raise :class:`InvalidKeyError` unless ``public`` is a valid key of this scheme.

        Received keys are checked before use (docs/profile.md section 2): a key that no
        signer could hold is the peer's ``illegal_parameter``, not a failed
        signature (``decrypt_error``) or an error deep in a backend.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<SignatureScheme {self.name}>"


class _Edwards:
    """Point decoding of RFC 8032 (sections 5.1.3 and 5.2.3), only to tell whether
    an encoded public key is a point of the curve and not of small order."""

    def __init__(self, prime: int, d: int, a: int, size: int, small_order_y: tuple[int, ...]):
        self.prime, self.d, self.a, self.size = prime, d % prime, a, size
        self.small_order_y = frozenset(y % prime for y in small_order_y + (0, 1, -1))

    def problem(self, public: bytes) -> "str | None":
        """Why ``public`` is not a valid point, or None."""
        if len(public) != self.size:
            return f"has {len(public)} bytes, not {self.size}"
        p = self.prime
        value = int.from_bytes(public, "little")
        sign = value >> (8 * self.size - 1)
        y = value & ((1 << (8 * self.size - 1)) - 1)
        if y >= p:  # also catches Ed448's unused bits (they would exceed p)
            return "is not canonically encoded"
        if y in self.small_order_y:
            return "is a point of small order"
        # a*x^2 + y^2 = 1 + d*x^2*y^2  =>  x^2 = (y^2 - 1) / (d*y^2 - a): a square
        # exactly when (y^2 - 1) * (d*y^2 - a) is one (Euler's criterion, one pow).
        y2 = y * y % p
        num, den = (y2 - 1) % p, (self.d * y2 - self.a) % p
        if num == 0:  # x = 0 (not reached: y = +-1 are refused above)
            return None if sign == 0 else "is not canonically encoded"
        if den == 0 or pow(num * den % p, (p - 1) // 2, p) != 1:
            return "is not a point of the curve"
        return None


_ED25519_CURVE = _Edwards(2**255 - 19, -121665 * pow(121666, 2**255 - 21, 2**255 - 19), -1, 32,
                          (2707385501144840649318225287225658788936804267575313519463743609750303402022,
                           -2707385501144840649318225287225658788936804267575313519463743609750303402022))
_ED448_CURVE = _Edwards(2**448 - 2**224 - 1, -39081, 1, 57, ())


class _EdDSA(SignatureScheme):
    def __init__(self, name: str, scheme_id: int, priv_cls: Any, pub_cls: Any, size: int) -> None:
        self.name = name
        self.scheme_id = scheme_id
        self._priv = priv_cls
        self._pub = pub_cls
        self.private_size = size
        self._curve = _ED25519_CURVE if size == 32 else _ED448_CURVE

    def check_public_key(self, public: bytes) -> None:
        problem = self._curve.problem(public)
        if problem is not None:
            raise InvalidKeyError(f"{self.name} public key {problem}")

    def generate(self) -> tuple[bytes, bytes]:
        raw = os.urandom(self.private_size)
        return raw, self.public_key(raw)

    def public_key(self, private: "bytes | Any") -> bytes:
        return self._backend_key(private).public_key().public_bytes_raw()

    def _load_private(self, private: bytes) -> Any:
        return self._priv.from_private_bytes(private)

    def sign(self, private: "bytes | Any", message: bytes) -> bytes:
        return self._backend_key(private).sign(message)

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        try:
            self._pub.from_public_bytes(public).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False

    def encode_public_key(self, key: Any) -> bytes:
        if not isinstance(key, self._pub):
            raise DecodeError(f"not an {self.name} public key")
        return key.public_bytes_raw()


class _SodiumEd25519(_EdDSA):
    """Ed25519 on libsodium (PyNaCl), for speed.

    OpenSSL computes Ed25519 with its generic field arithmetic: a verification costs
    about 100 us here, and a TLS handshake of this profile needs four (KeyPackage
    and its leaf on the server, GroupInfo and the server's leaf on the client).
    libsodium verifies in about half that and signs a third faster. Signatures are
    byte-identical (Ed25519 is deterministic). libsodium's verification is the
    stricter one: it also refuses small-order public keys and R values, which no
    honest signer produces. Keys given as ``cryptography`` objects (x509
    credentials) keep working: only the raw encodings cross over.
    """

    def _load_private(self, private: bytes) -> Any:
        if len(private) != self.private_size:
            raise ValueError(f"an {self.name} private key is {self.private_size} bytes")
        return _sodium.crypto_sign_seed_keypair(bytes(private))  # (public, secret)

    def _backend_key(self, private: Any) -> Any:
        if isinstance(private, self._priv):  # a cryptography key object
            return self._load_private(private.private_bytes_raw())
        return super()._backend_key(private)

    def public_key(self, private: "bytes | Any") -> bytes:
        return self._backend_key(private)[0]

    def check_public_key(self, public: bytes) -> None:
        # libsodium's check is the stricter one (canonical, not of small order, in
        # the prime-order subgroup) and twice as fast as decoding in Python.
        if len(public) != 32 or not _sodium.crypto_core_ed25519_is_valid_point(bytes(public)):
            raise InvalidKeyError(f"{self.name} public key is not a point of the "
                                  "prime-order subgroup")

    def sign(self, private: "bytes | Any", message: bytes) -> bytes:
        return _sodium.crypto_sign(bytes(message), self._backend_key(private)[1])[:64]

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        # The combined form (signature || message): a signature of any other length
        # would shift into the message, so check it first.
        if len(signature) != 64 or len(public) != 32:
            return False
        try:
            _sodium.crypto_sign_open(bytes(signature) + bytes(message), bytes(public))
            return True
        except (_SodiumError, ValueError, TypeError):
            return False


class _ECDSA(SignatureScheme):
    def __init__(self, name: str, scheme_id: int, curve: ec.EllipticCurve,
                 hash_alg: hashes.HashAlgorithm) -> None:
        self.name = name
        self.scheme_id = scheme_id
        self._curve = curve
        self._algo = ec.ECDSA(hash_alg)
        self.private_size = (curve.key_size + 7) // 8

    def _load_private(self, private: bytes) -> ec.EllipticCurvePrivateKey:
        return ec.derive_private_key(int.from_bytes(private, "big"), self._curve)

    def generate(self) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(self._curve)
        raw = key.private_numbers().private_value.to_bytes(self.private_size, "big")
        return raw, self._encode_point(key.public_key())

    def _encode_point(self, key: ec.EllipticCurvePublicKey) -> bytes:
        return key.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint)

    def public_key(self, private: "bytes | Any") -> bytes:
        return self._encode_point(self._backend_key(private).public_key())

    def sign(self, private: "bytes | Any", message: bytes) -> bytes:
        return self._backend_key(private).sign(message, self._algo)

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, public)
            key.verify(signature, message, self._algo)
            return True
        except (InvalidSignature, ValueError):
            return False

    def check_public_key(self, public: bytes) -> None:
        # RFC 9420 section 5.1.1 asks for the uncompressed point; ts-mls 1.6.4 sends
        # compressed ones (its curve library's default). Both name one point and both
        # are checked to be on the curve; anything else is refused.
        n = self.private_size
        if not ((len(public) == 1 + 2 * n and public[0] == 4)
                or (len(public) == 1 + n and public[0] in (2, 3))):
            raise InvalidKeyError(f"{self.name} public key is not an encoded point "
                                  f"({1 + 2 * n} bytes uncompressed or {1 + n} compressed)")
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(self._curve, public)
        except ValueError as e:
            raise InvalidKeyError(f"{self.name} public key: {e}") from None

    def encode_public_key(self, key: Any) -> bytes:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != self._curve.name:
            raise DecodeError(f"not an {self.name} public key")
        return self._encode_point(key)


class _MLDSA(SignatureScheme):
    """ML-DSA (FIPS 204), pure mode with an empty context as draft-ietf-tls-mldsa uses it.

    The private key is the 32-byte seed (the form FIPS 204 key generation starts
    from and the smallest to persist); public keys and signatures are the raw
    FIPS 204 encodings.
    """

    def __init__(self, name: str, scheme_id: int, priv_cls: Any, pub_cls: Any,
                 public_size: int) -> None:
        self.name = name
        self.scheme_id = scheme_id
        self._priv = priv_cls
        self._pub = pub_cls
        self.private_size = 32
        self.public_size = public_size

    def generate(self) -> tuple[bytes, bytes]:
        seed = os.urandom(32)
        return seed, self.public_key(seed)

    def _load_private(self, private: bytes) -> Any:
        if len(private) != 32:
            raise ValueError(f"an {self.name} private key is its 32-byte seed")
        return self._priv.from_seed_bytes(private)

    def public_key(self, private: "bytes | Any") -> bytes:
        return self._backend_key(private).public_key().public_bytes_raw()

    def sign(self, private: "bytes | Any", message: bytes) -> bytes:
        return self._backend_key(private).sign(message)

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        try:
            self._pub.from_public_bytes(bytes(public)).verify(bytes(signature), message)
            return True
        except (InvalidSignature, ValueError):
            return False

    def check_public_key(self, public: bytes) -> None:
        # Every byte string of the right length decodes to an ML-DSA key (t1 is
        # packed 10-bit values, rho any 32 bytes): the length is the whole check.
        if len(public) != self.public_size:
            raise InvalidKeyError(f"{self.name} public key has {len(public)} bytes, "
                                  f"not {self.public_size}")
        try:
            self._pub.from_public_bytes(bytes(public))
        except ValueError as e:
            raise InvalidKeyError(f"{self.name} public key: {e}") from None

    def encode_public_key(self, key: Any) -> bytes:
        if not isinstance(key, self._pub):
            raise DecodeError(f"not an {self.name} public key")
        return key.public_bytes_raw()


ED25519_OPENSSL = _EdDSA("ed25519", 0x0807, ed25519.Ed25519PrivateKey,
                         ed25519.Ed25519PublicKey, 32)
ED25519_SODIUM = _SodiumEd25519("ed25519", 0x0807, ed25519.Ed25519PrivateKey,
                                ed25519.Ed25519PublicKey, 32) if _sodium is not None else None
# libsodium when PyNaCl is installed (a dependency of the package), else OpenSSL.
ED25519 = ED25519_SODIUM or ED25519_OPENSSL
ED448 = _EdDSA("ed448", 0x0808, ed448.Ed448PrivateKey, ed448.Ed448PublicKey, 57)
ECDSA_P256_SHA256 = _ECDSA("ecdsa_secp256r1_sha256", 0x0403, ec.SECP256R1(), hashes.SHA256())
ECDSA_P384_SHA384 = _ECDSA("ecdsa_secp384r1_sha384", 0x0503, ec.SECP384R1(), hashes.SHA384())
ECDSA_P521_SHA512 = _ECDSA("ecdsa_secp521r1_sha512", 0x0603, ec.SECP521R1(), hashes.SHA512())
# ML-DSA with the TLS SignatureScheme values of draft-ietf-tls-mldsa, which
# draft-ietf-mls-pq-ciphersuites-06 names for its mldsa44/65/87 suites.
ML_DSA_44 = _MLDSA("mldsa44", 0x0904, mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey, 1312)
ML_DSA_65 = _MLDSA("mldsa65", 0x0905, mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey, 1952)
ML_DSA_87 = _MLDSA("mldsa87", 0x0906, mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey, 2592)
