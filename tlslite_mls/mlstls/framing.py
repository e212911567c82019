"""Handshake-content framing: TwoPartyMessages in and out of records.

A ``TwoPartyMessage`` has no length prefix of its own (docs/profile.md section 8 puts
it into records without the TLS Handshake header, as draft-kohbrok-mls-tls
section 8 says), so a receiver finds the end of a message by decoding it. A
message larger than one record (2^14 bytes, e.g. a KeyPackage with a large
credential) arrives over several records; :class:`HandshakeReassembler` keeps
the bytes until a whole message decodes. To tell "not all here yet" from
"malformed", it decodes with a reader that reports running past the end of
the *received* bytes separately from running past the end of a length-prefixed
vector (which is malformed: the vector's own length said the bytes were there).
"""

from __future__ import annotations

from typing import Mapping

from tlslite.constants import AlertDescription

from ..codepoints import MLSTLSMessageType
from ..mls.codec import Reader
from ..mls.constants import MLS10
from ..mls.errors import DecodeError
from ..twoparty.messages import DEFAULT_MLS_TLS_TYPES, TwoPartyMessage
from .errors import ProtocolViolation

__all__ = ["HandshakeReassembler", "fragment", "MAX_FRAGMENT", "DEFAULT_MAX_MESSAGE",
           "DEFAULT_MAX_HANDSHAKE_MESSAGE"]

# RFC 8446 section 5.1: TLSPlaintext.length and TLSInnerPlaintext content <= 2^14.
MAX_FRAGMENT = 1 << 14
# A reassembly bound, so a peer cannot make us buffer without end. A suite-1
# KeyPackage is about 300 bytes and a Welcome about 1 kB; large post-quantum
# credentials stay far below this.
DEFAULT_MAX_MESSAGE = 1 << 20
# docs/profile.md section 9: before authentication (the hellos, a resumption request) a
# message may be at most 128 KiB (a 64 KiB credential plus the rest).
DEFAULT_MAX_HANDSHAKE_MESSAGE = 128 * 1024


class _NeedMore(Exception):
    """Decoding ran past the bytes received so far (not a DecodeError on purpose)."""


class _OpenEndedReader(Reader):
    """A Reader over a prefix of a message: running off its end means "wait".

    A vector whose declared length would take the message past ``limit`` is refused
    as soon as that length is read, before its bytes are waited for.
    """

    __slots__ = ("limit",)

    def __init__(self, data: bytes, limit: int) -> None:
        Reader.__init__(self, data)
        self.limit = limit

    def _take(self, n: int) -> bytes:
        self._within_limit(n)
        if self.pos + n > self.end:
            raise _NeedMore()
        return Reader._take(self, n)

    def _within_limit(self, n: int) -> None:
        if self.pos + n > self.limit:
            raise ProtocolViolation(
                AlertDescription.decode_error,
                f"handshake message declares a field of {n} bytes: longer than "
                f"{self.limit} bytes in all")

    def u8(self) -> int:
        if self.pos >= self.end:
            raise _NeedMore()
        return Reader.u8(self)

    def sub(self) -> Reader:
        # The vector's length is read from here; its body must then be present.
        save = self.pos
        n = self.varint()
        self._within_limit(n)
        if self.pos + n > self.end:
            self.pos = save
            raise _NeedMore()
        self.pos = save
        return Reader.sub(self)


def fragment(data: bytes, size: int = MAX_FRAGMENT) -> list[bytes]:
    """``data`` cut into record-sized pieces (at least one piece)."""
    if not data:
        return [b""]
    return [data[i:i + size] for i in range(0, len(data), size)]


class HandshakeReassembler:
    """Bytes of handshake records in, whole ``TwoPartyMessage`` objects out.

    One record may carry several messages and one message may span several
    records; :attr:`pending` says whether a partial message is buffered (a key
    change must not happen in the middle of a message, RFC 8446 section 5.1).
    :attr:`max_message` is the bound in bytes; the channel raises it once the peer
    is authenticated.
    """

    def __init__(self, types: Mapping[MLSTLSMessageType, int] = DEFAULT_MLS_TLS_TYPES,
                 max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._types = types
        self.max_message = max_message
        self._buf = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self._buf)

    def feed(self, data: bytes) -> list[TwoPartyMessage]:
        """Add one record's content; return the messages it completes.

        :raises ProtocolViolation: ``decode_error`` when the message does not start
            with mls10 (a classic TLS ClientHello, for instance), is malformed or is
            larger than the bound.
        """
        if not data:
            # RFC 8446 section 5.1: no zero-length handshake fragments.
            raise ProtocolViolation(AlertDescription.unexpected_message,
                                    "empty handshake record")
        self._buf += data
        out: list[TwoPartyMessage] = []
        while self._buf:
            self._check_version()
            reader = _OpenEndedReader(bytes(self._buf), self.max_message)
            try:
                msg = TwoPartyMessage.read(reader, self._types)
            except _NeedMore:
                if len(self._buf) > self.max_message:
                    raise ProtocolViolation(
                        AlertDescription.decode_error,
                        f"handshake message longer than {self.max_message} bytes") from None
                break
            except DecodeError as exc:
                raise ProtocolViolation(AlertDescription.decode_error,
                                        f"malformed TwoPartyMessage: {exc}") from exc
            del self._buf[:reader.pos]
            out.append(msg)
        return out

    def _check_version(self) -> None:
        # A TwoPartyMessage whose version is not mls10 is a malformed MLS encoding:
        # decode_error (docs/profile.md section 4), the alert the extension mode sends for
        # a TwoPartyMLSMessage of another version too. A classic TLS ClientHello
        # (bytes 01 00 ..) on this port gets the same, with a hint in the reason.
        if len(self._buf) >= 2:
            version = int.from_bytes(self._buf[:2], "big")
            if version != MLS10:
                hint = " (looks like a TLS ClientHello)" if self._buf[0] == 1 else ""
                raise ProtocolViolation(
                    AlertDescription.decode_error,
                    f"TwoPartyMessage version 0x{version:04x} is not mls10{hint}")
