"""Just enough MLSMessage parsing for the harness to check what a peer really sent.

The harness must not trust a peer's word that a commit went out as PrivateMessage,
and mls-rs has no epoch getter; both facts sit in the clear framing (RFC 9420
section 6), so a few bytes of parsing settle them independently of any peer.
"""

from __future__ import annotations

from dataclasses import dataclass

MLS10 = 1
WIRE_FORMAT_NAMES = {
    1: "public",
    2: "private",
    3: "welcome",
    4: "group_info",
    5: "key_package",
}


class WireError(ValueError):
    """The bytes are not a well-formed MLSMessage header."""


def read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """RFC 9420 section 2.1.2 variable-length integer; returns (value, new offset)."""
    if offset >= len(data):
        raise WireError("truncated varint")
    first = data[offset]
    size = 1 << (first >> 6)
    if size == 8:
        raise WireError("invalid varint prefix")
    if offset + size > len(data):
        raise WireError("truncated varint")
    value = first & 0x3F
    for b in data[offset + 1 : offset + size]:
        value = (value << 8) | b
    if (size == 2 and value < 64) or (size == 4 and value < 16384):
        raise WireError("varint not minimally encoded")
    return value, offset + size


@dataclass(frozen=True)
class Framing:
    """The clear part of a Public/PrivateMessage."""

    wire_format: str
    group_id: bytes
    epoch: int


def wire_format(message: bytes) -> str:
    """``"public"``, ``"private"``, ``"welcome"``, ``"group_info"`` or ``"key_package"``."""
    if len(message) < 4:
        raise WireError("MLSMessage shorter than its header")
    version = int.from_bytes(message[0:2], "big")
    if version != MLS10:
        raise WireError(f"unknown protocol version {version}")
    code = int.from_bytes(message[2:4], "big")
    try:
        return WIRE_FORMAT_NAMES[code]
    except KeyError:
        raise WireError(f"unknown wire format {code}") from None


def framing(message: bytes) -> Framing:
    """group_id and epoch of a Public/PrivateMessage (both start with them)."""
    fmt = wire_format(message)
    if fmt not in ("public", "private"):
        raise WireError(f"{fmt} message has no group framing")
    length, offset = read_varint(message, 4)
    end = offset + length
    if end + 8 > len(message):
        raise WireError("truncated framing")
    return Framing(fmt, bytes(message[offset:end]), int.from_bytes(message[end : end + 8], "big"))
