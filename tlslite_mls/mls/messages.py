"""MLSMessage (RFC 9420 section 6): the envelope every MLS object travels in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .codec import Reader, Struct, Writer
from .constants import MLS10, WireFormat
from .errors import DecodeError
from .framedcontent import PrivateMessage, PublicMessage
from .keypackage import KeyPackage
from .welcome import GroupInfo, Welcome

__all__ = ["MLSMessage", "MLSMessageBody", "BODY_CLASSES"]

MLSMessageBody = Union[PublicMessage, PrivateMessage, Welcome, GroupInfo, KeyPackage]

BODY_CLASSES: dict[int, type] = {
    WireFormat.PUBLIC_MESSAGE: PublicMessage,
    WireFormat.PRIVATE_MESSAGE: PrivateMessage,
    WireFormat.WELCOME: Welcome,
    WireFormat.GROUP_INFO: GroupInfo,
    WireFormat.KEY_PACKAGE: KeyPackage,
}
_WIRE_FORMAT_OF = {cls: int(wf) for wf, cls in BODY_CLASSES.items()}


@dataclass(eq=True)
class MLSMessage(Struct):
    """``version``, ``wire_format`` and the body it selects.

    Only MLS 1.0 is understood: the body layout of another version is
    unknown, so such a message fails to decode.
    """

    version: int
    wire_format: int
    body: MLSMessageBody

    def __post_init__(self) -> None:
        expected = BODY_CLASSES.get(self.wire_format)
        if expected is None:
            raise ValueError(f"unknown wire format {self.wire_format}")
        if not isinstance(self.body, expected):
            raise ValueError(f"wire format {self.wire_format} needs a {expected.__name__} "
                             f"body, got {type(self.body).__name__}")

    @classmethod
    def wrap(cls, body: MLSMessageBody) -> "MLSMessage":
        """An MLS 1.0 envelope for ``body``, with the wire format its type implies."""
        wire_format = _WIRE_FORMAT_OF.get(type(body))
        if wire_format is None:
            raise ValueError(f"{type(body).__name__} is not an MLSMessage body")
        return cls(MLS10, wire_format, body)

    def write(self, w: Writer) -> None:
        w.u16(self.version)
        w.u16(self.wire_format)
        self.body.write(w)

    @classmethod
    def read(cls, r: Reader) -> "MLSMessage":
        name = "version"
        try:
            version = r.u16()
            if version != MLS10:
                raise DecodeError(f"unsupported protocol version {version}")
            name = "wire_format"
            wire_format = r.u16()
            body_cls = BODY_CLASSES.get(wire_format)
            if body_cls is None:
                raise DecodeError(f"unknown wire format {wire_format}")
            name = body_cls.__name__
            body = body_cls.read(r)
        except DecodeError as e:
            e.path.insert(0, name)
            raise
        return cls(version, wire_format, body)
