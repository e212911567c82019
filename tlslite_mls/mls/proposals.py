"""Proposals (RFC 9420 section 12.1) and proposal references (section 5.2).

A proposal's body has no self-describing length on the wire: the
``proposal_type`` selects the struct and the struct's own encoding says where
it ends. A type this implementation does not know therefore cannot even be
skipped, so decoding one is a :class:`DecodeError` naming the type (a group
only sees such proposals if it advertised support for them, which we never do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .codec import U16, U32, Opaque, Reader, Struct, Vec, Writer, struct
from .constants import ProposalType
from .crypto import CipherSuite
from .errors import DecodeError
from .extensions import Extension
from .keypackage import KeyPackage
from .leafnode import LeafNode
from .psk import PreSharedKeyID

__all__ = [
    "Add", "Update", "Remove", "PreSharedKey", "ReInit", "ExternalInit",
    "GroupContextExtensions", "ProposalBody", "Proposal", "PROPOSAL_BODY_CLASSES",
    "PROPOSAL_REF_LABEL", "make_proposal_ref",
]

PROPOSAL_REF_LABEL = "MLS 1.0 Proposal Reference"


@struct
class Add(Struct):
    PROPOSAL_TYPE = ProposalType.ADD
    key_package: KeyPackage


@struct
class Update(Struct):
    PROPOSAL_TYPE = ProposalType.UPDATE
    leaf_node: LeafNode


@struct
class Remove(Struct):
    PROPOSAL_TYPE = ProposalType.REMOVE
    removed: U32


@struct
class PreSharedKey(Struct):
    PROPOSAL_TYPE = ProposalType.PSK
    psk: PreSharedKeyID


@struct
class ReInit(Struct):
    PROPOSAL_TYPE = ProposalType.REINIT
    group_id: Opaque
    version: U16
    cipher_suite: U16
    extensions: Vec[Extension]


@struct
class ExternalInit(Struct):
    PROPOSAL_TYPE = ProposalType.EXTERNAL_INIT
    kem_output: Opaque


@struct
class GroupContextExtensions(Struct):
    PROPOSAL_TYPE = ProposalType.GROUP_CONTEXT_EXTENSIONS
    extensions: Vec[Extension]


ProposalBody = Union[Add, Update, Remove, PreSharedKey, ReInit, ExternalInit,
                     GroupContextExtensions]

PROPOSAL_BODY_CLASSES: dict[int, type] = {
    int(cls.PROPOSAL_TYPE): cls
    for cls in (Add, Update, Remove, PreSharedKey, ReInit, ExternalInit,
                GroupContextExtensions)
}


@dataclass(eq=True)
class Proposal(Struct):
    """``proposal_type`` plus the body it selects.

    Both are kept (rather than deriving the type from the body's class) so the
    value mirrors the wire struct; the constructor refuses a mismatch.
    :meth:`of` builds one from a body alone.
    """

    proposal_type: int
    body: ProposalBody

    def __post_init__(self) -> None:
        expected = PROPOSAL_BODY_CLASSES.get(self.proposal_type)
        if expected is None:
            raise ValueError(f"unsupported proposal type 0x{self.proposal_type:04x}")
        if not isinstance(self.body, expected):
            raise ValueError(f"proposal type 0x{self.proposal_type:04x} needs a "
                             f"{expected.__name__} body, got {type(self.body).__name__}")

    @classmethod
    def of(cls, body: ProposalBody) -> "Proposal":
        return cls(int(body.PROPOSAL_TYPE), body)

    def write(self, w: Writer) -> None:
        w.u16(self.proposal_type)
        self.body.write(w)

    @classmethod
    def read(cls, r: Reader) -> "Proposal":
        try:
            proposal_type = r.u16()
        except DecodeError as e:
            e.path.insert(0, "proposal_type")
            raise
        body_cls = PROPOSAL_BODY_CLASSES.get(proposal_type)
        if body_cls is None:
            raise DecodeError(f"unknown proposal type 0x{proposal_type:04x} cannot be parsed",
                              ["proposal_type"])
        try:
            body = body_cls.read(r)
        except DecodeError as e:
            e.path.insert(0, body_cls.__name__)
            raise
        return cls(proposal_type, body)


def make_proposal_ref(cs: CipherSuite, authenticated_content: Union[bytes, Struct]) -> bytes:
    """ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent).

    Takes the AuthenticatedContent that carried the proposal (encoded, or the
    struct, which is then encoded here): the reference covers the sender and
    signature, so the same proposal sent twice gets two references.
    """
    data = authenticated_content if isinstance(authenticated_content, (bytes, bytearray)) \
        else authenticated_content.serialize()
    return cs.ref_hash(PROPOSAL_REF_LABEL, bytes(data))
