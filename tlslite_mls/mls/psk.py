"""Pre-shared keys (RFC 9420 section 8.4): PreSharedKeyID and the psk_secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .codec import Reader, Struct, Writer
from .constants import PSKType
from .crypto import CipherSuite
from .errors import DecodeError, ProtocolError


@dataclass(eq=True)
class PreSharedKeyID(Struct):
    """An external PSK (``psk_id``) or a resumption PSK (usage, group, epoch)."""

    psktype: int
    psk_nonce: bytes
    psk_id: bytes = b""
    usage: int = 0
    psk_group_id: bytes = b""
    psk_epoch: int = 0

    def write(self, w: Writer) -> None:
        w.u8(self.psktype)
        if self.psktype == PSKType.EXTERNAL:
            w.opaque(self.psk_id)
        elif self.psktype == PSKType.RESUMPTION:
            w.u8(self.usage)
            w.opaque(self.psk_group_id)
            w.u64(self.psk_epoch)
        else:
            raise ValueError(f"cannot encode psktype {self.psktype}")
        w.opaque(self.psk_nonce)

    @classmethod
    def read(cls, r: Reader) -> "PreSharedKeyID":
        psktype = r.u8()
        try:
            if psktype == PSKType.EXTERNAL:
                psk_id = r.opaque()
                return cls(psktype, r.opaque(), psk_id=psk_id)
            if psktype == PSKType.RESUMPTION:
                usage = r.u8()
                group_id = r.opaque()
                epoch = r.u64()
                return cls(psktype, r.opaque(), usage=usage, psk_group_id=group_id,
                           psk_epoch=epoch)
        except DecodeError as e:
            e.path.insert(0, "psk")
            raise
        raise DecodeError(f"unknown psktype {psktype}", ["psktype"])


def psk_label(psk_id: PreSharedKeyID, index: int, count: int) -> bytes:
    """The encoded PSKLabel {PreSharedKeyID id; uint16 index; uint16 count;}."""
    w = Writer()
    psk_id.write(w)
    w.u16(index)
    w.u16(count)
    return w.getvalue()


def psk_secret(cs: CipherSuite,
               psks: Sequence[tuple[PreSharedKeyID, bytes]]) -> bytes:
    """Chain the PSKs of a Commit or Welcome into one ``psk_secret`` (section 8.4).

    Each PSK is bound to its id and to its position in the list (index and
    count), so reordering or dropping one changes the result. An empty list
    gives the all-zero value the key schedule uses when no PSK is injected.
    """
    nh = cs.hash_length
    count = len(psks)
    if count > 0xFFFF:
        raise ProtocolError(f"too many PSKs: {count} (at most 65535)")
    zero = bytes(nh)
    secret = zero
    for index, (psk_id, psk) in enumerate(psks):
        extracted = cs.extract(zero, psk)
        psk_input = cs.expand_with_label(
            extracted, "derived psk", psk_label(psk_id, index, count), nh)
        secret = cs.extract(psk_input, secret)
    return secret


def psk_nonce_length_ok(cs: CipherSuite, psk_id: PreSharedKeyID) -> bool:
    """Section 8.4: a psk_nonce MUST be KDF.Nh bytes long."""
    return len(psk_id.psk_nonce) == cs.hash_length


def check_psk_ids(cs: CipherSuite, psk_ids: Sequence[PreSharedKeyID]) -> None:
    """Reject PSK lists RFC 9420 forbids: a psk_nonce that is not KDF.Nh bytes
    (section 8.4) or the same PreSharedKeyID twice (section 12.2)."""
    seen = set()
    for i, pid in enumerate(psk_ids):
        if not psk_nonce_length_ok(cs, pid):
            raise ProtocolError(
                f"PSK {i}: psk_nonce is {len(pid.psk_nonce)} bytes, must be {cs.hash_length}")
        key = pid.serialize()
        if key in seen:
            raise ProtocolError(f"PSK {i}: the same PreSharedKeyID appears twice")
        seen.add(key)
