"""Message framing and protection (RFC 9420 section 6).

Every handshake or application message is a :class:`FramedContent` (who sent
what, in which group and epoch), authenticated by the sender's signature over
FramedContentTBS and, for Commits, the new epoch's confirmation tag. It then
travels either as a :class:`PublicMessage` (content in the clear, plus a
membership tag proving a member of the epoch sent it) or as a
:class:`PrivateMessage` (content AEAD-encrypted under a key of the secret
tree, the sender's identity hidden under a second AEAD layer).

The protection functions are sans-IO: values in, values out. Group state
(which leaf holds which signature key, which epoch is current) stays with the
caller, who passes in the GroupContext, the epoch's keys and either the
sender's signature key or a function that looks it up.

Decoded :class:`FramedContent` keeps its encoded bytes, so verifying a
received signature or membership tag does not re-serialize it. Treat framed
content as immutable once built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from .codec import U8, U32, U64, Fixed, Opaque, Reader, Struct, Writer, struct
from .commit import Commit
from .constants import MLS10, ContentType, SenderType, WireFormat
from .crypto import CipherSuite
from .errors import DecodeError, ProtocolError, VerificationError
from .groupcontext import GroupContext
from .proposals import Proposal
from .secrettree import SecretTree, sender_data_key_nonce
from .transcript import confirmed_transcript_hash_input

__all__ = [
    "Sender", "FramedContent", "FramedContentAuthData", "AuthenticatedContent",
    "PublicMessage", "PrivateMessage", "SenderData", "PrivateMessageContent",
    "ContentBody", "SignatureKey", "framed_content_tbs", "sign_framed_content",
    "verify_framed_content", "membership_tag", "protect_public", "unprotect_public",
    "protect_private", "unprotect_private", "decrypt_sender_data", "sender_data_aad", "private_content_aad",
]

FRAMED_CONTENT_TBS_LABEL = "FramedContentTBS"
REUSE_GUARD_SIZE = 4

ContentBody = Union[bytes, Proposal, Commit]
# The sender's signature public key, or a function finding it for the content
# (it may raise ProtocolError, e.g. for a blank leaf or an unknown external sender).
SignatureKey = Union[bytes, Callable[["FramedContent"], bytes]]
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

    def encoded(self) -> bytes:
        """The wire encoding, computed once."""
        enc = self._encoded
        if enc is None:
            w = Writer()
            w.opaque(self.group_id)
            w.u64(self.epoch)
            self.sender.write(w)
            w.opaque(self.authenticated_data)
            w.u8(self.content_type)
            _write_body(w, self.content_type, self.body)
            enc = bytes(w.buf)
            object.__setattr__(self, "_encoded", enc)
        return enc

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
        self.auth.write_for(w, self.content_type)
        if self.padding < 0:
            raise ValueError("padding length must not be negative")
        w.buf += bytes(self.padding)

    @classmethod
    def read(cls, r: Reader) -> "PrivateMessageContent":
        raise TypeError("PrivateMessageContent needs the content type: use parse")

    @classmethod
    def parse(cls, data: bytes, content_type: int) -> "PrivateMessageContent":
        r = Reader(data)
        try:
            body = _read_body(r, content_type)
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
        return cls(content_type, body, auth, len(padding))


# ---------------------------------------------------------------------------
# Signing and membership tags


def sign_framed_content(cs: CipherSuite, wire_format: int, content: FramedContent,
                        signature_private: bytes,
                        group_context: Optional[GroupContextLike] = None) -> AuthenticatedContent:
    """Sign ``content`` for sending as ``wire_format``.

    The result has no confirmation tag yet: for a Commit the tag depends on
    this signature (through the confirmed transcript hash), so the caller
    computes it from :meth:`AuthenticatedContent.confirmed_transcript_hash_input`
    and sets ``auth.confirmation_tag`` before protecting the message.
    """
    if wire_format not in (WireFormat.PUBLIC_MESSAGE, WireFormat.PRIVATE_MESSAGE):
        raise ValueError(f"content is framed as PublicMessage or PrivateMessage, not {wire_format}")
    tbs = framed_content_tbs(wire_format, content, group_context)
    signature = cs.sign_with_label(signature_private, FRAMED_CONTENT_TBS_LABEL, tbs)
    return AuthenticatedContent(wire_format, content, FramedContentAuthData(signature))


def _resolve_key(signature_key: SignatureKey, content: FramedContent) -> bytes:
    if isinstance(signature_key, (bytes, bytearray)):
        return bytes(signature_key)
    return signature_key(content)


def verify_framed_content(cs: CipherSuite, auth_content: AuthenticatedContent,
                          signature_key: SignatureKey,
                          group_context: Optional[GroupContextLike] = None) -> None:
    """Check the sender's signature; raises :class:`VerificationError` if it is bad."""
    _verify_tbs(cs, auth_content, signature_key, auth_content.tbs(group_context))


def _verify_tbs(cs: CipherSuite, auth_content: AuthenticatedContent,
                signature_key: SignatureKey, tbs: bytes) -> None:
    key = _resolve_key(signature_key, auth_content.content)
    if not cs.verify_with_label(key, FRAMED_CONTENT_TBS_LABEL, tbs, auth_content.auth.signature):
        raise VerificationError(
            f"bad signature on {ContentType(auth_content.content.content_type).name.lower()} "
            f"content from {_describe(auth_content.content.sender)}")


def membership_tag(cs: CipherSuite, membership_key: bytes, auth_content: AuthenticatedContent,
                   group_context: GroupContextLike) -> bytes:
    """MAC(membership_key, AuthenticatedContentTBM)."""
    return cs.mac(membership_key, auth_content.tbm(group_context))


def _describe(sender: Sender) -> str:
    if sender.sender_type == SenderType.MEMBER:
        return f"member leaf {sender.index}"
    if sender.sender_type == SenderType.EXTERNAL:
        return f"external sender {sender.index}"
    return SenderType(sender.sender_type).name.lower().replace("_", " ")


def _check_group(group_id: bytes, epoch: int, group_context: GroupContext) -> None:
    if group_id != group_context.group_id:
        raise ProtocolError("message is for another group")
    if epoch != group_context.epoch:
        raise ProtocolError(f"message is for epoch {epoch}, group is in epoch "
                            f"{group_context.epoch}")


def _check_confirmation_tag(auth_content: AuthenticatedContent) -> None:
    is_commit = auth_content.content.content_type == ContentType.COMMIT
    if is_commit and auth_content.auth.confirmation_tag is None:
        raise ValueError("set the Commit's confirmation_tag before protecting it")
    if not is_commit and auth_content.auth.confirmation_tag is not None:
        raise ValueError("only a Commit carries a confirmation_tag")


# ---------------------------------------------------------------------------
# PublicMessage


def protect_public(cs: CipherSuite, auth_content: AuthenticatedContent,
                   group_context: GroupContext,
                   membership_key: Optional[bytes] = None) -> PublicMessage:
    """Frame signed content as a PublicMessage, adding the membership tag for members.

    ``group_context`` is the epoch's (the one the content was signed under).
    """
    if auth_content.wire_format != WireFormat.PUBLIC_MESSAGE:
        raise ValueError("content was signed for another wire format than PublicMessage")
    _check_confirmation_tag(auth_content)
    tag = None
    if auth_content.sender.is_member:
        if membership_key is None:
            raise ValueError("a member's PublicMessage needs the epoch's membership_key")
        tag = membership_tag(cs, membership_key, auth_content, group_context)
    return PublicMessage(auth_content.content, auth_content.auth, tag)


def unprotect_public(cs: CipherSuite, message: PublicMessage, group_context: GroupContext,
                     membership_key: Optional[bytes],
                     signature_key: SignatureKey) -> AuthenticatedContent:
    """Authenticate a received PublicMessage and return its content.

    Checks group and epoch (:class:`ProtocolError`), the membership tag of a
    member sender and the signature (:class:`VerificationError`). Application
    data in a PublicMessage is refused: RFC 9420 section 6.2 requires it to be
    encrypted.
    """
    content = message.content
    _check_group(content.group_id, content.epoch, group_context)
    if content.content_type == ContentType.APPLICATION:
        raise ProtocolError("application data must not be sent as PublicMessage")
    auth_content = message.authenticated_content()
    tbs = auth_content.tbs(group_context.serialize())
    if content.sender.is_member:
        if membership_key is None:
            raise ValueError("checking a member's PublicMessage needs the membership_key")
        w = Writer()
        w.buf += tbs
        message.auth.write_for(w, content.content_type)
        if message.membership_tag is None or not cs.verify_mac(
                membership_key, bytes(w.buf), message.membership_tag):
            raise VerificationError(f"bad membership tag from {_describe(content.sender)}")
    _verify_tbs(cs, auth_content, signature_key, tbs)
    return auth_content


# ---------------------------------------------------------------------------
# PrivateMessage


def sender_data_aad(group_id: bytes, epoch: int, content_type: int) -> bytes:
    """SenderDataAAD."""
    w = Writer()
    w.opaque(group_id)
    w.u64(epoch)
    w.u8(content_type)
    return bytes(w.buf)


def private_content_aad(group_id: bytes, epoch: int, content_type: int,
                        authenticated_data: bytes) -> bytes:
    """PrivateContentAAD."""
    w = Writer()
    w.opaque(group_id)
    w.u64(epoch)
    w.u8(content_type)
    w.opaque(authenticated_data)
    return bytes(w.buf)


def _guard_nonce(nonce: bytes, reuse_guard: bytes) -> bytes:
    # Section 6.3.1: the reuse guard is XORed into the first four nonce bytes,
    # so a key and nonce reused after a state rollback still differ in nonce.
    head = bytes(a ^ b for a, b in zip(nonce[:REUSE_GUARD_SIZE], reuse_guard))
    return head + nonce[REUSE_GUARD_SIZE:]


def protect_private(cs: CipherSuite, auth_content: AuthenticatedContent,
                    secret_tree: SecretTree, sender_data_secret: bytes,
                    padding: Union[int, Callable[[int], int]] = 0) -> PrivateMessage:
    """Encrypt signed content as a PrivateMessage.

    Uses (and ratchets past) the sender's next handshake or application key.
    ``padding`` is a number of zero bytes, or a function from the unpadded
    plaintext length to it (e.g. to pad up to a multiple of a block size and
    hide the message length).
    """
    content = auth_content.content
    if auth_content.wire_format != WireFormat.PRIVATE_MESSAGE:
        raise ValueError("content was signed for another wire format than PrivateMessage")
    if not content.sender.is_member:
        raise ValueError("only members can send PrivateMessages")
    _check_confirmation_tag(auth_content)
    content_type = content.content_type
    plaintext = PrivateMessageContent(content_type, content.body, auth_content.auth).serialize()
    pad = padding(len(plaintext)) if callable(padding) else padding
    if pad < 0:
        raise ValueError("padding length must not be negative")
    plaintext += bytes(pad)

    leaf = content.sender.index
    generation, key, nonce = secret_tree.next_encryption_key(
        leaf, content_type != ContentType.APPLICATION)
    reuse_guard = os.urandom(REUSE_GUARD_SIZE)
    ciphertext = cs.aead_encrypt(
        key, _guard_nonce(nonce, reuse_guard),
        private_content_aad(content.group_id, content.epoch, content_type,
                            content.authenticated_data),
        plaintext)
    del key, nonce

    sd_key, sd_nonce = sender_data_key_nonce(cs, sender_data_secret, ciphertext)
    encrypted_sender_data = cs.aead_encrypt(
        sd_key, sd_nonce, sender_data_aad(content.group_id, content.epoch, content_type),
        SenderData(leaf, generation, reuse_guard).serialize())
    return PrivateMessage(content.group_id, content.epoch, content_type,
                          content.authenticated_data, encrypted_sender_data, ciphertext)


def decrypt_sender_data(cs: CipherSuite, message: PrivateMessage,
                        sender_data_secret: bytes) -> SenderData:
    """Open a PrivateMessage's sender data (who sent it, with which generation)."""
    sd_key, sd_nonce = sender_data_key_nonce(cs, sender_data_secret, message.ciphertext)
    plaintext = cs.aead_decrypt(
        sd_key, sd_nonce,
        sender_data_aad(message.group_id, message.epoch, message.content_type),
        message.encrypted_sender_data)
    return SenderData.deserialize(plaintext)


def unprotect_private(cs: CipherSuite, message: PrivateMessage, group_context: GroupContext,
                      secret_tree: SecretTree, sender_data_secret: bytes,
                      signature_key: SignatureKey) -> AuthenticatedContent:
    """Decrypt and authenticate a received PrivateMessage.

    Raises :class:`ProtocolError` for another group or epoch or a key the
    secret tree no longer has (replay, too old), :class:`VerificationError`
    for failed decryption or a bad signature, :class:`DecodeError` for a
    malformed plaintext (including nonzero padding).

    ``signature_key`` given as a function receives content whose sender is
    the member leaf named in the sender data; it should refuse a blank leaf.
    """
    _check_group(message.group_id, message.epoch, group_context)
    content_type = message.content_type
    if content_type not in _VALID_CONTENT_TYPES:
        raise DecodeError(f"invalid content type {content_type}", ["PrivateMessage",
                                                                   "content_type"])
    sender_data = decrypt_sender_data(cs, message, sender_data_secret)
    checkpoint = secret_tree.checkpoint()
    try:
        key, nonce = secret_tree.decryption_key(sender_data.leaf_index,
                                                content_type != ContentType.APPLICATION,
                                                sender_data.generation)
        plaintext = cs.aead_decrypt(
            key, _guard_nonce(nonce, sender_data.reuse_guard),
            private_content_aad(message.group_id, message.epoch, content_type,
                                message.authenticated_data),
            message.ciphertext)
        del key, nonce
        plain = PrivateMessageContent.parse(plaintext, content_type)
        content = FramedContent(message.group_id, message.epoch,
                                Sender.member(sender_data.leaf_index),
                                message.authenticated_data, content_type, plain.body)
        auth_content = AuthenticatedContent(WireFormat.PRIVATE_MESSAGE, content, plain.auth)
        verify_framed_content(cs, auth_content, signature_key, group_context)
    except BaseException:
        # A forged or damaged message must not burn the genuine message's key.
        secret_tree.restore(checkpoint)
        raise
    return auth_content
