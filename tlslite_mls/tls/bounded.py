"""Handshake messages refused by their declared length, before they are buffered.

tlslite-ng reassembles a handshake message in its ``Defragmenter`` until all the
bytes its 4-byte header declares have arrived: up to 16 MiB per connection, before
anything looks at the message. docs/profile.md section 9 bounds that: as soon as a
header is in, its length is checked against the limit for the connection's state
(``max_handshake_message`` while the handshake runs, ``max_post_handshake_message``
after it: ``mls_handshake`` and the other post-handshake messages), and a message
over it ends the connection with ``decode_error`` (RFC 8446 section 6: "a field
was out of the specified range or the length of the message was incorrect").

:class:`BoundedDefragmenter` notes the violation and drops what it holds; the
connection sends the alert before it reads the next record (the defragmenter
cannot send anything itself).
"""

from __future__ import annotations

from typing import Callable, Optional

from tlslite.constants import ContentType, HandshakeType
from tlslite.defragmenter import Defragmenter

__all__ = ["BoundedDefragmenter", "Oversized", "DEFAULT_MAX_HANDSHAKE_MESSAGE",
           "DEFAULT_MAX_POST_HANDSHAKE_MESSAGE"]

# docs/profile.md section 9: a ClientHello may carry a 64 KiB extension plus the rest.
DEFAULT_MAX_HANDSHAKE_MESSAGE = 128 * 1024
DEFAULT_MAX_POST_HANDSHAKE_MESSAGE = 1 << 20
_HEADER = 4  # msg_type(1) + uint24 length


class Oversized:
    """A handshake message whose declared length is over the limit."""

    __slots__ = ("msg_type", "declared", "limit")

    def __init__(self, msg_type: int, declared: int, limit: int) -> None:
        self.msg_type = msg_type
        self.declared = declared
        self.limit = limit

    def __str__(self) -> str:
        name = HandshakeType.toStr(self.msg_type)
        return (f"{name} declares {self.declared} bytes, more than the {self.limit} "
                "bytes allowed at this point")


class BoundedDefragmenter(Defragmenter):
    """tlslite-ng's Defragmenter (state taken over) with the length check.

    :param limit: called for the current limit in bytes (it depends on whether
        the handshake is complete).
    """

    def __init__(self, original: Defragmenter, limit: Callable[[], int]) -> None:
        Defragmenter.__init__(self)
        self.__dict__.update(original.__dict__)
        self._limit = limit
        self.oversized: Optional[Oversized] = None

    def add_data(self, msg_type: int, data: bytes) -> None:  # type: ignore[override]
        Defragmenter.add_data(self, msg_type, data)
        if msg_type != ContentType.handshake:
            return
        buf = self.buffers[msg_type]
        limit = self._limit()
        pos = 0
        while len(buf) - pos >= _HEADER:
            declared = int.from_bytes(buf[pos + 1:pos + _HEADER], "big")
            if declared > limit:
                self.oversized = Oversized(buf[pos], declared, limit)
                self.buffers[msg_type] = bytearray()  # nothing kept of it
                return
            pos += _HEADER + declared

    addData = add_data  # noqa: N815 - tlslite-ng's deprecated name

    def clear_buffers(self) -> None:  # type: ignore[override]
        Defragmenter.clear_buffers(self)
        self.oversized = None

    clearBuffers = clear_buffers  # noqa: N815
