"""Which proposals a commit may carry, and what they do to the next epoch.

RFC 9420 section 12.2 (validation of the proposal list) and 12.3 (applying it, in
order), as pure functions over the list and the tree: the same rules serve a commit
we create and one we receive, and can be read without the group state machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .constants import ProposalType, PSKType, ResumptionPSKUsage
from .crypto import CipherSuite
from .errors import ProtocolError, UnsupportedError
from .extensions import Extension, check_unique_extensions
from .keypackage import KeyPackage
from .leafnode import check_required_capabilities, required_capabilities
from .proposals import Proposal
from .psk import PreSharedKeyID
from .ratchettree import RatchetTree

# Proposal types a commit may carry without an UpdatePath (section 12.4).
PATH_OPTIONAL = frozenset({ProposalType.ADD, ProposalType.PSK, ProposalType.REINIT})


@dataclass(eq=False)
class ResolvedProposal:
    """A proposal of a commit with who proposed it and whether it came by reference
    (Update proposals may only be committed by reference)."""

    proposal: Proposal
    sender: int
    by_reference: bool


def needs_path(resolved: Sequence[ResolvedProposal]) -> bool:
    """Whether a commit with these proposals must carry an UpdatePath (section 12.4)."""
    return not resolved or any(r.proposal.proposal_type not in PATH_OPTIONAL
                               for r in resolved)


def validate_proposal_list(cs: CipherSuite, tree: RatchetTree,
                           resolved: list[ResolvedProposal], committer: int) -> None:
    """Section 12.2: refuse a proposal list a commit by ``committer`` may not carry
    in a group whose current tree is ``tree``."""
    touched: set[int] = set()
    add_keys: set[bytes] = set()
    psk_ids: set[bytes] = set()
    gce = 0
    removed = {r.proposal.body.removed for r in resolved  # type: ignore[union-attr]
               if r.proposal.proposal_type == ProposalType.REMOVE}
    member_keys = {leaf.signature_key: i for i, leaf in tree.members()}
    for r in resolved:
        p = r.proposal
        t = p.proposal_type
        if t == ProposalType.UPDATE:
            if r.sender == committer:
                raise ProtocolError("a commit must not carry the committer's own Update")
            if not r.by_reference:
                raise ProtocolError("Update proposals can only be committed by reference")
            if r.sender in touched:
                raise ProtocolError(f"several Update/Remove proposals for leaf {r.sender}")
            touched.add(r.sender)
        elif t == ProposalType.REMOVE:
            target = p.body.removed  # type: ignore[union-attr]
            if target == committer:
                raise ProtocolError("a commit must not remove the committer")
            if target >= tree.n_leaves or tree.leaf(target) is None:
                raise ProtocolError(f"Remove of leaf {target}, which is not a member")
            if target in touched:
                raise ProtocolError(f"several Update/Remove proposals for leaf {target}")
            touched.add(target)
        elif t == ProposalType.ADD:
            key = p.body.key_package.leaf_node.signature_key  # type: ignore[union-attr]
            if key in add_keys:
                raise ProtocolError("two Add proposals for the same client")
            if key in member_keys and member_keys[key] not in removed:
                raise ProtocolError("Add of a client that is already a member")
            add_keys.add(key)
        elif t == ProposalType.PSK:
            psk_id = p.body.psk  # type: ignore[union-attr]
            if len(psk_id.psk_nonce) != cs.hash_length:
                raise ProtocolError("PreSharedKeyID psk_nonce must be Nh bytes")
            if psk_id.psktype == PSKType.RESUMPTION and \
                    psk_id.usage != ResumptionPSKUsage.APPLICATION:
                raise ProtocolError("a resumption PSK with usage reinit or branch "
                                    "cannot be used in a commit (section 8.6)")
            enc = psk_id.serialize()
            if enc in psk_ids:
                raise ProtocolError("two PreSharedKey proposals for the same PSK")
            psk_ids.add(enc)
        elif t == ProposalType.GROUP_CONTEXT_EXTENSIONS:
            gce += 1
            if gce > 1:
                raise ProtocolError("several GroupContextExtensions proposals")
        elif t == ProposalType.REINIT:
            if len(resolved) != 1:
                raise ProtocolError("a ReInit proposal must be the only proposal")
            raise UnsupportedError("ReInit is not supported")
        elif t == ProposalType.EXTERNAL_INIT:
            raise ProtocolError("ExternalInit is only allowed in external commits")
        else:  # pragma: no cover - the decoder refuses unknown types
            raise ProtocolError(f"unsupported proposal type 0x{t:04x}")
        if t not in (ProposalType.ADD, ProposalType.UPDATE, ProposalType.REMOVE,
                     ProposalType.PSK, ProposalType.GROUP_CONTEXT_EXTENSIONS):
            raise UnsupportedError(f"proposal type 0x{t:04x} is not supported")

def apply_proposals(tree: RatchetTree, extensions: Sequence[Extension],
                resolved: list[ResolvedProposal]
                ) -> tuple[list[Extension], list[tuple[int, KeyPackage]],
                           list[PreSharedKeyID]]:
    """Section 12.3: GroupContextExtensions, Update, Remove, Add, in that order.

    ``tree`` (the next epoch's copy) is changed in place; returns the next epoch's
    GroupContext extensions, the added members (leaf, KeyPackage) and the PSKs named.
    """
    extensions = list(extensions)
    by_type: dict[int, list[ResolvedProposal]] = {}
    for r in resolved:
        by_type.setdefault(r.proposal.proposal_type, []).append(r)
    for r in by_type.get(ProposalType.GROUP_CONTEXT_EXTENSIONS, []):
        extensions = list(r.proposal.body.extensions)  # type: ignore[union-attr]
        check_unique_extensions(extensions, "GroupContextExtensions")
        required = required_capabilities(extensions)
        for index, leaf in tree.members():
            check_required_capabilities(leaf, required, f"leaf {index}")
    for r in by_type.get(ProposalType.UPDATE, []):
        leaf = r.proposal.body.leaf_node  # type: ignore[union-attr]
        tree.set_leaf(r.sender, leaf)
        tree.blank_path(r.sender)
    for r in by_type.get(ProposalType.REMOVE, []):
        target = r.proposal.body.removed  # type: ignore[union-attr]
        tree.blank_leaf(target)
        tree.blank_path(target)
    if ProposalType.REMOVE in by_type:
        tree.truncate()
    added = []
    for r in by_type.get(ProposalType.ADD, []):
        kp = r.proposal.body.key_package  # type: ignore[union-attr]
        added.append((tree.add_leaf(kp.leaf_node), kp))
    psk_ids = [r.proposal.body.psk for r in by_type.get(ProposalType.PSK, [])]  # type: ignore
    return extensions, added, psk_ids
