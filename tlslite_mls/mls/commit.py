"""Commit and ProposalOrRef (RFC 9420 section 12.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Optional, Union

from .codec import Reader, Struct, Writer
from .errors import DecodeError
from .proposals import Proposal
from .treekem import UpdatePath

__all__ = ["ProposalOrRefType", "ProposalOrRef", "Commit"]


class ProposalOrRefType(IntEnum):
    PROPOSAL = 1
    REFERENCE = 2


@dataclass(eq=True)
class ProposalOrRef(Struct):
    """A proposal sent inline in the Commit, or the ProposalRef of one sent before.

    Exactly one of ``proposal`` and ``reference`` is set; ``type`` says which.
    """

    type: int
    proposal: Optional[Proposal] = None
    reference: Optional[bytes] = None

    def __post_init__(self) -> None:
        if self.type == ProposalOrRefType.PROPOSAL:
            ok = self.proposal is not None and self.reference is None
        elif self.type == ProposalOrRefType.REFERENCE:
            ok = self.reference is not None and self.proposal is None
        else:
            raise ValueError(f"invalid ProposalOrRefType {self.type}")
        if not ok:
            raise ValueError("ProposalOrRef needs exactly the field its type selects")

    @classmethod
    def by_value(cls, proposal: Proposal) -> "ProposalOrRef":
        return cls(ProposalOrRefType.PROPOSAL, proposal=proposal)

    @classmethod
    def by_reference(cls, ref: bytes) -> "ProposalOrRef":
        return cls(ProposalOrRefType.REFERENCE, reference=ref)

    def write(self, w: Writer) -> None:
        w.u8(self.type)
        if self.type == ProposalOrRefType.PROPOSAL:
            self.proposal.write(w)  # type: ignore[union-attr]
        else:
            w.opaque(self.reference)  # type: ignore[arg-type]

    @classmethod
    def read(cls, r: Reader) -> "ProposalOrRef":
        try:
            t = r.u8()
        except DecodeError as e:
            e.path.insert(0, "type")
            raise
        if t == ProposalOrRefType.PROPOSAL:
            try:
                return cls(t, proposal=Proposal.read(r))
            except DecodeError as e:
                e.path.insert(0, "proposal")
                raise
        if t == ProposalOrRefType.REFERENCE:
            try:
                return cls(t, reference=r.opaque())
            except DecodeError as e:
                e.path.insert(0, "reference")
                raise
        raise DecodeError(f"invalid ProposalOrRefType {t}", ["type"])


@dataclass(eq=True)
class Commit(Struct):
    """The proposals a Commit applies, and the committer's UpdatePath if any."""

    proposals: list[ProposalOrRef] = field(default_factory=list)
    path: Optional[UpdatePath] = None

    def write(self, w: Writer) -> None:
        w.structs(self.proposals)
        w.optional(self.path, _write_struct)

    @classmethod
    def read(cls, r: Reader) -> "Commit":
        try:
            proposals = r.vector(ProposalOrRef.read)
        except DecodeError as e:
            e.path.insert(0, "proposals")
            raise
        try:
            path = r.optional(UpdatePath.read)
        except DecodeError as e:
            e.path.insert(0, "path")
            raise
        return cls(proposals, path)


def _write_struct(w: Writer, item: Union[Struct, UpdatePath]) -> None:
    item.write(w)
