"""Pre-shared keys (RFC 9420 section 8.4): PreSharedKeyID and the psk_secret."""

from __future__ import annotations

from dataclasses import dataclass

from .codec import Reader, Struct, Writer
from .constants import PSKType
from .errors import DecodeError


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
