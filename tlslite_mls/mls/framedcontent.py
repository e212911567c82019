"""The framing structs of RFC 9420 section 6: what a handshake or application message
is made of, and how it is encoded.

:class:`FramedContent` (who sent what, in which group and epoch), its auth data, and
the two wire forms (:class:`PublicMessage`, :class:`PrivateMessage` with its
:class:`SenderData` and :class:`PrivateMessageContent`). Signing, membership tags and
encryption, which need keys, are in :mod:`.framing`; these are only values and
their codecs.

Decoded :class:`FramedContent` keeps its encoded bytes, so verifying a received
signature or membership tag does not re-serialize it. Treat framed content as
immutable once built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from .codec import U8, U32, U64, Fixed, Opaque, Reader, Struct, Writer, struct
from .commit import Commit
from .constants import MLS10, ContentType, SenderType, WireFormat
from .errors import DecodeError, ProtocolError
from .groupcontext import GroupContext
from .proposals import Proposal
from .transcript import confirmed_transcript_hash_input

__all__ = [
    "Sender", "FramedContent", "FramedContentAuthData", "AuthenticatedContent",
    "PublicMessage", "PrivateMessage", "SenderData", "PrivateMessageContent",
    "ContentBody", "GroupContextLike", "framed_content_tbs",
]

ContentBody = Union[bytes, Proposal, Commit]
GroupContextLike = Union[GroupContext, bytes]

_VALID_CONTENT_TYPES = frozenset(int(t) for t in ContentType)


# ---------------------------------------------------------------------------
# Structs


@dataclass(frozen=True)
class Sender(Struct):
    """Who sent a message. ``index`` is the leaf index of a member or the
    index into the ``external_senders`` extension of an external sender;
    new-member senders carry none (it is 0)."""

    sender_type: int
    index: int = 0

    def __post_init__(self) -> None:
        if self.sender_type not in (SenderType.MEMBER, SenderType.EXTERNAL,
                                    SenderType.NEW_MEMBER_PROPOSAL, SenderType.NEW_MEMBER_COMMIT):
            raise ValueError(f"invalid sender type {self.sender_type}")
        if not 0 <= self.index <= 0xFFFFFFFF:
            raise ValueError(f"sender index out of range: {self.index}")

    @classmethod
    def member(cls, leaf_index: int) -> "Sender":
        return cls(SenderType.MEMBER, leaf_index)

    @classmethod
    def external(cls, sender_index: int) -> "Sender":
        return cls(SenderType.EXTERNAL, sender_index)

    @classmethod
    def new_member_proposal(cls) -> "Sender":
        return cls(SenderType.NEW_MEMBER_PROPOSAL)

    @classmethod
    def new_member_commit(cls) -> "Sender":
        return cls(SenderType.NEW_MEMBER_COMMIT)

    @property
    def is_member(self) -> bool:
        return self.sender_type == SenderType.MEMBER

    @property
    def leaf_index(self) -> Optional[int]:
        return self.index if self.sender_type == SenderType.MEMBER else None

    @property
    def has_group_context(self) -> bool:
        """Whether FramedContentTBS of this sender includes the GroupContext."""
        return self.sender_type in (SenderType.MEMBER, SenderType.NEW_MEMBER_COMMIT)

    def write(self, w: Writer) -> None:
        w.u8(self.sender_type)
        if self.sender_type in (SenderType.MEMBER, SenderType.EXTERNAL):
            w.u32(self.index)

    @classmethod
    def read(cls, r: Reader) -> "Sender":
        t = r.u8()
        if t in (SenderType.MEMBER, SenderType.EXTERNAL):
            try:
                return cls(t, r.u32())
            except DecodeError as e:
                e.path.insert(0, "leaf_index" if t == SenderType.MEMBER else "sender_index")
                raise
        if t in (SenderType.NEW_MEMBER_PROPOSAL, SenderType.NEW_MEMBER_COMMIT):
            return cls(t)
        raise DecodeError(f"invalid sender type {t}", ["sender_type"])


def _write_body(w: Writer, content_type: int, body: ContentBody) -> None:
    if content_type == ContentType.APPLICATION:
        if not isinstance(body, (bytes, bytearray)):
            raise ValueError("application content must be bytes")
        w.opaque(bytes(body))
    elif content_type == ContentType.PROPOSAL:
        if not isinstance(body, Proposal):
            raise ValueError("proposal content must be a Proposal")
        body.write(w)
    elif content_type == ContentType.COMMIT:
        if not isinstance(body, Commit):
            raise ValueError("commit content must be a Commit")
        body.write(w)
    else:
        raise ValueError(f"invalid content type {content_type}")


_BODY_NAMES = {ContentType.APPLICATION: "application_data", ContentType.PROPOSAL: "proposal",
               ContentType.COMMIT: "commit"}


def _read_body(r: Reader, content_type: int) -> ContentBody:
    try:
        if content_type == ContentType.APPLICATION:
            return r.opaque()
        if content_type == ContentType.PROPOSAL:
            return Proposal.read(r)
        if content_type == ContentType.COMMIT:
            return Commit.read(r)
    except DecodeError as e:
        e.path.insert(0, _BODY_NAMES[ContentType(content_type)])
        raise
    raise DecodeError(f"invalid content type {content_type}", ["content_type"])


@dataclass(frozen=True)
class FramedContent(Struct):
    """The authenticated payload of a message.

    ``body`` is the application data (bytes), a :class:`Proposal` or a
    :class:`Commit`, as ``content_type`` selects.
    """

    group_id: bytes
    epoch: int
    sender: Sender
    authenticated_data: bytes
    content_type: int
    body: ContentBody
    # The wire encoding once known; not an init field, so dataclasses.replace()
    # builds a new value that encodes itself afresh.
    _encoded: Optional[bytes] = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.content_type not in _VALID_CONTENT_TYPES:
            raise ValueError(f"invalid content type {self.content_type}")

    @property
    def application_data(self) -> Optional[bytes]:
        return self.body if self.content_type == ContentType.APPLICATION else None  # type: ignore[return-value]

    @property
    def proposal(self) -> Optional[Proposal]:
        return self.body if self.content_type == ContentType.PROPOSAL else None  # type: ignore[return-value]

    @property
    def commit(self) -> Optional[Commit]:
        return self.body if self.content_type == ContentType.COMMIT else None  # type: ignore[return-value]

    @classmethod
    def with_body_bytes(cls, group_id: bytes, epoch: int, sender: Sender,
                        authenticated_data: bytes, content_type: int, body: ContentBody,
                        body_bytes: bytes) -> "FramedContent":
        """A FramedContent whose body was just decoded from ``body_bytes`` (a
        PrivateMessage's plaintext): its encoding reuses them instead of encoding the
        body again (the decoder takes only canonical encodings, so they are equal)."""
        content = cls(group_id, epoch, sender, authenticated_data, content_type, body)
        object.__setattr__(content, "_encoded", content._header() + bytes(body_bytes))
        return content

    def _header(self) -> bytes:
        w = Writer()
        w.opaque(self.group_id)
        w.u64(self.epoch)
        self.sender.write(w)
        w.opaque(self.authenticated_data)
        w.u8(self.content_type)
        return bytes(w.buf)

    def encoded(self) -> bytes:
        """The wire encoding, computed once."""
        enc = self._encoded
        if enc is None:
            w = Writer()
            w.buf += self._header()
            _write_body(w, self.content_type, self.body)
            enc = bytes(w.buf)
            object.__setattr__(self, "_encoded", enc)
        return enc

    def body_bytes(self) -> bytes:
        """The body's encoding: the tail of :meth:`encoded` (the header is short)."""
        return self.encoded()[len(self._header()):]

    def write(self, w: Writer) -> None:
        w.buf += self.encoded()

    @classmethod
    def read(cls, r: Reader) -> "FramedContent":
        start = r.pos
        name = "group_id"
        try:
            group_id = r.opaque()
            name = "epoch"
            epoch = r.u64()
            name = "sender"
            sender = Sender.read(r)
            name = "authenticated_data"
            authenticated_data = r.opaque()
            name = "content_type"
            content_type = r.u8()
            if content_type not in _VALID_CONTENT_TYPES:
                raise DecodeError(f"invalid content type {content_type}")
            name = None  # _read_body names its own field
            body = _read_body(r, content_type)
        except DecodeError as e:
            if name is not None:
                e.path.insert(0, name)
            raise
        content = cls(group_id, epoch, sender, authenticated_data, content_type, body)
        object.__setattr__(content, "_encoded", r.data[start:r.pos])
        return content


@dataclass(eq=True)
class FramedContentAuthData(Struct):
    """The signature, and for a Commit its confirmation tag.

    Decoding needs the content type, so use :meth:`read_for`.
    """

    signature: bytes
    confirmation_tag: Optional[bytes] = None

    def write_for(self, w: Writer, content_type: int) -> None:
        w.opaque(self.signature)
        if content_type == ContentType.COMMIT:
            if self.confirmation_tag is None:
                raise ValueError("a Commit's auth data needs its confirmation_tag")
            w.opaque(self.confirmation_tag)
        elif self.confirmation_tag is not None:
            raise ValueError("only a Commit carries a confirmation_tag")

    def write(self, w: Writer) -> None:
        # Without the content type the presence of the tag decides.
        w.opaque(self.signature)
        if self.confirmation_tag is not None:
            w.opaque(self.confirmation_tag)

    @classmethod
    def read_for(cls, r: Reader, content_type: int) -> "FramedContentAuthData":
        name = "signature"
        try:
            signature = r.opaque()
            tag = None
            if content_type == ContentType.COMMIT:
                name = "confirmation_tag"
                tag = r.opaque()
        except DecodeError as e:
            e.path.insert(0, name)
            raise
        return cls(signature, tag)

    @classmethod
    def read(cls, r: Reader) -> "FramedContentAuthData":
        raise TypeError("FramedContentAuthData.read needs the content type: use read_for")


def _gc_bytes(group_context: Optional[GroupContextLike]) -> Optional[bytes]:
    if group_context is None or isinstance(group_context, bytes):
        return group_context
    return group_context.serialize()


def framed_content_tbs(wire_format: int, content: FramedContent,
                       group_context: Optional[GroupContextLike]) -> bytes:
    """FramedContentTBS: what the sender signs.

    Member and new-member-commit senders sign the GroupContext too, binding the
    message to the group's current state; ``group_context`` is then required.
    """
    w = Writer()
    w.u16(MLS10)
    w.u16(wire_format)
    w.buf += content.encoded()
    if content.sender.has_group_context:
        gc = _gc_bytes(group_context)
        if gc is None:
            raise ValueError("FramedContentTBS of this sender needs the GroupContext")
        w.buf += gc
    return bytes(w.buf)


@dataclass(eq=True)
class AuthenticatedContent(Struct):
    """FramedContent with its auth data, bound to the wire format it travels in."""

    wire_format: int
    content: FramedContent
    auth: FramedContentAuthData

    @property
    def sender(self) -> Sender:
        return self.content.sender

    def write(self, w: Writer) -> None:
        w.u16(self.wire_format)
        self.content.write(w)
        self.auth.write_for(w, self.content.content_type)

    @classmethod
    def read(cls, r: Reader) -> "AuthenticatedContent":
        try:
            wire_format = r.u16()
        except DecodeError as e:
            e.path.insert(0, "wire_format")
            raise
        try:
            content = FramedContent.read(r)
        except DecodeError as e:
            e.path.insert(0, "content")
            raise
        try:
            auth = FramedContentAuthData.read_for(r, content.content_type)
        except DecodeError as e:
            e.path.insert(0, "auth")
            raise
        return cls(wire_format, content, auth)

    def tbs(self, group_context: Optional[GroupContextLike]) -> bytes:
        return framed_content_tbs(self.wire_format, self.content, group_context)

    def tbm(self, group_context: Optional[GroupContextLike]) -> bytes:
        """AuthenticatedContentTBM: what the membership tag covers."""
        w = Writer()
        w.buf += self.tbs(group_context)
        self.auth.write_for(w, self.content.content_type)
        return bytes(w.buf)

    def confirmed_transcript_hash_input(self) -> bytes:
        """ConfirmedTranscriptHashInput: wire_format, content and signature of a Commit."""
        if self.content.content_type != ContentType.COMMIT:
            raise ProtocolError("only a Commit enters the confirmed transcript hash")
        return confirmed_transcript_hash_input(self.wire_format, self.content.encoded(),
                                               self.auth.signature)


@dataclass(eq=True)
class PublicMessage(Struct):
    """Content in the clear; ``membership_tag`` is present iff the sender is a member."""

    content: FramedContent
    auth: FramedContentAuthData
    membership_tag: Optional[bytes] = None

    def authenticated_content(self) -> AuthenticatedContent:
        return AuthenticatedContent(WireFormat.PUBLIC_MESSAGE, self.content, self.auth)

    def write(self, w: Writer) -> None:
        self.content.write(w)
        self.auth.write_for(w, self.content.content_type)
        if self.content.sender.is_member:
            if self.membership_tag is None:
                raise ValueError("a member's PublicMessage needs a membership_tag")
            w.opaque(self.membership_tag)
        elif self.membership_tag is not None:
            raise ValueError("only a member's PublicMessage carries a membership_tag")

    @classmethod
    def read(cls, r: Reader) -> "PublicMessage":
        name = "content"
        try:
            content = FramedContent.read(r)
            name = "auth"
            auth = FramedContentAuthData.read_for(r, content.content_type)
            tag = None
            if content.sender.is_member:
                name = "membership_tag"
                tag = r.opaque()
        except DecodeError as e:
            e.path.insert(0, name)
            raise
        return cls(content, auth, tag)


@struct
class PrivateMessage(Struct):
    group_id: Opaque
    epoch: U64
    content_type: U8
    authenticated_data: Opaque
    encrypted_sender_data: Opaque
    ciphertext: Opaque


@struct
class SenderData(Struct):
    leaf_index: U32
    generation: U32
    reuse_guard: Fixed[4]


@dataclass(eq=True)
class PrivateMessageContent(Struct):
    """The plaintext of a PrivateMessage: body, auth data and zero padding.

    The padding has no length field; it is whatever follows the auth data,
    and RFC 9420 section 6.3.1 requires it to be all zeros.
    """

    content_type: int
    body: ContentBody
    auth: FramedContentAuthData
    padding: int = 0

    def write(self, w: Writer) -> None:
        _write_body(w, self.content_type, self.body)
        self._write_rest(w)

    def _write_rest(self, w: Writer) -> None:
        self.auth.write_for(w, self.content_type)
        if self.padding < 0:
            raise ValueError("padding length must not be negative")
        w.buf += bytes(self.padding)

    def serialize_with_body(self, body_bytes: bytes) -> bytes:
        """:meth:`serialize` given the body's encoding (the sender has it from signing)."""
        w = Writer()
        w.buf += body_bytes
        self._write_rest(w)
        return bytes(w.buf)

    @classmethod
    def read(cls, r: Reader) -> "PrivateMessageContent":
        raise TypeError("PrivateMessageContent needs the content type: use parse")

    @classmethod
    def parse(cls, data: bytes, content_type: int) -> "PrivateMessageContent":
        return cls.parse_with_body_end(data, content_type)[0]

    @classmethod
    def parse_with_body_end(cls, data: bytes, content_type: int
                            ) -> tuple["PrivateMessageContent", int]:
        """:meth:`parse`, and where the body's encoding ends in ``data``."""
        r = Reader(data)
        try:
            body = _read_body(r, content_type)
            body_end = r.pos
            try:
                auth = FramedContentAuthData.read_for(r, content_type)
            except DecodeError as e:
                e.path.insert(0, "auth")
                raise
            padding = data[r.pos:]
            if padding.count(0) != len(padding):
                raise DecodeError("padding bytes must all be zero", ["padding"])
        except DecodeError as e:
            e.path.insert(0, cls.__name__)
            raise
        return cls(content_type, body, auth, len(padding)), body_end
