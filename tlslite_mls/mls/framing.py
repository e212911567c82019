"""Message protection (RFC 9420 section 6): signing, membership tags, encryption.

Every handshake or application message is a :class:`FramedContent` (who sent
what, in which group and epoch; the structs are in :mod:`.framedcontent` and
importable from here too), authenticated by the sender's signature over
FramedContentTBS and, for Commits, the new epoch's confirmation tag. It then
travels either as a :class:`PublicMessage` (content in the clear, plus a
membership tag proving a member of the epoch sent it) or as a
:class:`PrivateMessage` (content AEAD-encrypted under a key of the secret
tree, the sender's identity hidden under a second AEAD layer).

The protection functions are sans-IO: values in, values out. Group state
(which leaf holds which signature key, which epoch is current) stays with the
caller, who passes in the GroupContext, the epoch's keys and either the
sender's signature key or a function that looks it up.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from .constants import ContentType, SenderType, WireFormat
from .codec import Writer
from .crypto import CipherSuite
from .errors import DecodeError, ProtocolError, VerificationError
from .framedcontent import (_VALID_CONTENT_TYPES, AuthenticatedContent, ContentBody,
                            FramedContent, FramedContentAuthData, GroupContextLike,
                            PrivateMessage, PrivateMessageContent, PublicMessage, Sender,
                            SenderData, framed_content_tbs)
from .groupcontext import GroupContext
from .secrettree import SecretTree, sender_data_key_nonce

__all__ = [
    "Sender", "FramedContent", "FramedContentAuthData", "AuthenticatedContent",
    "PublicMessage", "PrivateMessage", "SenderData", "PrivateMessageContent",
    "ContentBody", "SignatureKey", "framed_content_tbs", "sign_framed_content",
    "verify_framed_content", "membership_tag", "protect_public", "unprotect_public",
    "protect_private", "unprotect_private", "decrypt_sender_data", "sender_data_aad", "private_content_aad",
]

FRAMED_CONTENT_TBS_LABEL = "FramedContentTBS"
REUSE_GUARD_SIZE = 4

# The sender's signature public key, or a function finding it for the content
# (it may raise ProtocolError, e.g. for a blank leaf or an unknown external sender).
SignatureKey = Union[bytes, Callable[["FramedContent"], bytes]]


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
    plaintext = PrivateMessageContent(content_type, content.body, auth_content.auth
                                      ).serialize_with_body(content.body_bytes())
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
                      signature_key: SignatureKey,
                      context_bytes: Optional[bytes] = None) -> AuthenticatedContent:
    """Decrypt and authenticate a received PrivateMessage.

    ``context_bytes``: ``group_context`` already serialized (a group keeps it), so
    the signature check need not encode it again.

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
        plain, body_end = PrivateMessageContent.parse_with_body_end(plaintext, content_type)
        content = FramedContent.with_body_bytes(
            message.group_id, message.epoch, Sender.member(sender_data.leaf_index),
            message.authenticated_data, content_type, plain.body, plaintext[:body_end])
        auth_content = AuthenticatedContent(WireFormat.PRIVATE_MESSAGE, content, plain.auth)
        verify_framed_content(cs, auth_content, signature_key,
                              context_bytes if context_bytes is not None else group_context)
    except BaseException:
        # A forged or damaged message must not burn the genuine message's key.
        secret_tree.restore(checkpoint)
        raise
    return auth_content
