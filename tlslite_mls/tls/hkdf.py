"""TLS 1.3 HKDF-Expand-Label and Derive-Secret (RFC 8446 section 7.1) on ``hmac.digest``.

tlslite-ng's versions build an ``hmac.HMAC`` object and a codec ``Writer`` per call;
the one-shot C ``hmac.digest`` gives the same bytes several times faster. Our record
layers and the epoch key schedule derive a dozen secrets per epoch change, so they use
these; tlslite-ng's own handshake keeps its functions.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Optional

_SIZES = {"sha256": 32, "sha384": 48}
_EMPTY_HASHES = {name: hashlib.new(name).digest() for name in _SIZES}


def hkdf_expand(prk: Any, info: bytes, length: int, algorithm: str) -> bytearray:
    """HKDF-Expand (RFC 5869 section 2.3)."""
    prk = bytes(prk)
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.digest(prk, block + info + bytes((counter,)), algorithm)
        out += block
        counter += 1
    return bytearray(out[:length])


def expand_label(secret: Any, label: bytes, context: Any, length: int,
                 algorithm: str) -> bytearray:
    """HKDF-Expand-Label(secret, label, context, length)."""
    full = b"tls13 " + bytes(label)
    context = bytes(context)
    info = length.to_bytes(2, "big") + bytes((len(full),)) + full \
        + bytes((len(context),)) + context
    if length <= _SIZES.get(algorithm, 0):
        return bytearray(hmac.digest(bytes(secret), info + b"\x01", algorithm)[:length])
    return hkdf_expand(secret, info, length, algorithm)


def derive_secret(secret: Any, label: bytes, transcript_hash: Optional[bytes],
                  algorithm: str) -> bytearray:
    """Derive-Secret(secret, label, messages) given Hash(messages); None stands for the
    hash of no messages."""
    if transcript_hash is None:
        transcript_hash = _EMPTY_HASHES[algorithm]
    return expand_label(secret, label, transcript_hash, _SIZES[algorithm], algorithm)


def extract(salt: Any, ikm: Any, algorithm: str) -> bytearray:
    """HKDF-Extract(salt, IKM)."""
    return bytearray(hmac.digest(bytes(salt), bytes(ikm), algorithm))
