"""AEAD algorithms (RFC 5116 interface) on ``cryptography``."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ..errors import VerificationError


class AEADAlgorithm:
    """An AEAD with its HPKE identifier and sizes."""

    __slots__ = ("name", "hpke_id", "key_size", "nonce_size", "tag_size", "_cls")

    def __init__(self, name: str, hpke_id: int, key_size: int, cls: type) -> None:
        self.name = name
        self.hpke_id = hpke_id
        self.key_size = key_size
        self.nonce_size = 12
        self.tag_size = 16
        self._cls = cls

    def __repr__(self) -> str:
        return f"AEADAlgorithm({self.name!r})"

    def encrypt(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        return self._cls(key).encrypt(nonce, plaintext, aad)

    def decrypt(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        try:
            return self._cls(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VerificationError(f"{self.name} authentication failed") from None


AES128GCM = AEADAlgorithm("AES-128-GCM", 0x0001, 16, AESGCM)
AES256GCM = AEADAlgorithm("AES-256-GCM", 0x0002, 32, AESGCM)
CHACHA20POLY1305 = AEADAlgorithm("ChaCha20-Poly1305", 0x0003, 32, ChaCha20Poly1305)
