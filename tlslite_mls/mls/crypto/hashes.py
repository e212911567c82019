"""Hash functions and HKDF (RFC 5869) on hashlib/hmac, the fastest backend here.

HKDF is a handful of HMAC calls; doing them through the C implementations of
``hmac.digest`` is several times faster than building a ``cryptography`` HKDF
object per call, and the key schedule makes dozens of such calls per epoch.
"""

from __future__ import annotations

import hashlib
import hmac


class HashFunction:
    """One hash with its HMAC, HKDF-Extract and HKDF-Expand."""

    __slots__ = ("name", "length", "block_size", "_new")

    def __init__(self, name: str) -> None:
        self.name = name
        self._new = getattr(hashlib, name)
        h = self._new()
        self.length = h.digest_size
        self.block_size = h.block_size

    def __repr__(self) -> str:
        return f"HashFunction({self.name!r})"

    def digest(self, data: bytes) -> bytes:
        return self._new(data).digest()

    def hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.digest(key, data, self.name)

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        if not salt:
            salt = bytes(self.length)
        return hmac.digest(salt, ikm, self.name)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        n = self.length
        if length > 255 * n:
            raise ValueError("HKDF-Expand length too large")
        if length <= n:
            return hmac.digest(prk, info + b"\x01", self.name)[:length]
        out = bytearray()
        block = b""
        counter = 1
        while len(out) < length:
            block = hmac.digest(prk, block + info + bytes((counter,)), self.name)
            out += block
            counter += 1
        return bytes(out[:length])


SHA256 = HashFunction("sha256")
SHA384 = HashFunction("sha384")
SHA512 = HashFunction("sha512")
