"""Persisting a member's group state, for resumption after the connection is gone.

The encoding holds private keys and live epoch secrets, so it is as sensitive
as the secrets themselves: stores that keep it must protect it like keys. It
holds only what the epoch still needs (RFC 9420 section 9.2): not the joiner,
welcome, epoch or encryption secrets, and of the secret tree only the node
secrets and ratchet states not yet consumed. Cached proposals are not kept:
they die with their epoch anyway, and the two-party profile sends none.

The layout is versioned; an unknown version is refused, never guessed at.
Version 2 adds the resumption PSKs of the past epochs the group keeps;
version 1 states (without them) are still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .codec import U8, U16, U32, U64, Opaque, Opt, Reader, Struct, Vec, struct
from .crypto import CipherSuite, get_cipher_suite
from .crypto.signature import private_key_bytes
from .errors import DecodeError, UnsupportedError
from .groupconfig import GroupConfig
from .groupcontext import GroupContext
from .keyschedule import EpochSecrets
from .ratchettree import RatchetTree
from .secrettree import SecretTree, _Ratchet
from .treekem import TreePrivateState

GROUP_STATE_VERSION = 2

_KEPT_SECRETS = ("sender_data_secret", "exporter_secret", "external_secret",
                 "confirmation_key", "membership_key", "resumption_psk",
                 "epoch_authenticator", "init_secret")


@struct
class _NodeKey(Struct):
    node: U32
    private: Opaque
    public: Opaque


@struct
class _NodeSecret(Struct):
    node: U32
    secret: Opaque


@struct
class _SkippedKey(Struct):
    generation: U32
    key: Opaque
    nonce: Opaque


@struct
class _RatchetState(Struct):
    index: U32
    secret: Opt[Opaque]
    generation: U32
    skipped: Vec[_SkippedKey]


@struct
class _GroupStateV1(Struct):
    _secret_fields_ = ("private_keys", "signature_private", "secrets", "tree_secrets",
                       "ratchets")

    cipher_suite: U16
    group_context: GroupContext
    ratchet_tree: Opaque
    own_leaf: U32
    private_keys: Vec[_NodeKey]
    signature_private: Opaque
    secrets: Vec[Opaque]
    interim_transcript_hash: Opaque
    tree_secrets: Vec[_NodeSecret]
    ratchets: Vec[_RatchetState]
    retired: U8


@struct
class _EpochPSK(Struct):
    epoch: U64
    psk: Opaque


@struct
class _GroupStateV2(_GroupStateV1):
    _secret_fields_ = _GroupStateV1._secret_fields_ + ("past_resumption_psks",)

    past_resumption_psks: Vec[_EpochPSK]


@dataclass(eq=False)
class GroupStateParts:
    """What one epoch of a member's group is made of: the arguments of ``Group()``
    plus the past epochs' resumption PSKs. :class:`~.group.Group` converts itself to
    and from this, so the encoding here needs no knowledge of the state machine."""

    _secret_fields_ = ("signature_private", "secrets", "private", "secret_tree",
                       "past_resumption_psks")

    cs: CipherSuite
    context: GroupContext
    tree: RatchetTree
    private: TreePrivateState
    signature_private: bytes
    secrets: EpochSecrets
    interim_transcript_hash: bytes
    secret_tree: SecretTree
    past_resumption_psks: dict[int, bytes]
    retired: bool = False

    def __repr__(self) -> str:
        return (f"<GroupStateParts 0x{self.cs.suite_id:04x} epoch {self.context.epoch} "
                f"leaf {self.private.leaf_index}>")


def encode_group_state(parts: GroupStateParts) -> bytes:
    """The versioned encoding of one epoch's state (sensitive: holds private keys)."""
    st = parts.secret_tree
    state = _GroupStateV2(
        parts.cs.suite_id, parts.context, parts.tree.to_extension_bytes(),
        parts.private.leaf_index,
        [_NodeKey(n, parts.private.private_key(n), parts.private.public_key(n))  # type: ignore
         for n in parts.private.nodes()],
        private_key_bytes(parts.signature_private),
        [getattr(parts.secrets, name) or b"" for name in _KEPT_SECRETS],
        parts.interim_transcript_hash,
        [_NodeSecret(n, s) for n, s in sorted(st._nodes.items())],
        [_RatchetState(i, r.secret, r.generation,
                       [_SkippedKey(g, k, n) for g, (k, n) in sorted(r.skipped.items())])
         for i, r in sorted(st._ratchets.items())],
        1 if parts.retired else 0,
        [_EpochPSK(e, v) for e, v in sorted(parts.past_resumption_psks.items())])
    return GROUP_STATE_VERSION.to_bytes(2, "big") + state.serialize()


def decode_group_state(data: bytes, config: Optional[GroupConfig] = None) -> GroupStateParts:
    """Parse and check :func:`encode_group_state` output (of either version).

    ``config`` sizes the secret tree's windows and how many past resumption PSKs
    are kept. A retired epoch, an unknown version or a private key that does not
    match the tree is refused.
    """
    r = Reader(data)
    version = r.u16()
    layout = {1: _GroupStateV1, 2: _GroupStateV2}.get(version)
    if layout is None:
        raise UnsupportedError(f"stored group state has version {version}; this release "
                               f"reads versions 1 and {GROUP_STATE_VERSION}")
    state = layout.deserialize(data[2:])
    if state.retired:
        raise UnsupportedError("stored group state is of a retired epoch")
    cs = get_cipher_suite(state.cipher_suite)
    config = config or GroupConfig()
    tree = RatchetTree.from_extension_bytes(cs, state.ratchet_tree)
    if len(state.secrets) != len(_KEPT_SECRETS):
        raise DecodeError("stored group state has the wrong number of epoch secrets")
    secrets = EpochSecrets(**dict(zip(_KEPT_SECRETS, state.secrets)))
    private = TreePrivateState(state.own_leaf, {k.node: (k.private, k.public)
                                                for k in state.private_keys})
    private.check_against(tree)
    secret_tree = SecretTree(cs, bytes(cs.hash_length), tree.n_leaves,
                             max_generation_gap=config.max_generation_gap,
                             out_of_order_window=config.out_of_order_window)
    secret_tree._nodes.clear()
    secret_tree._nodes.update((s.node, s.secret) for s in state.tree_secrets)
    for rs in state.ratchets:
        ratchet = _Ratchet(b"")
        ratchet.secret = rs.secret
        ratchet.generation = rs.generation
        ratchet.skipped = {k.generation: (k.key, k.nonce) for k in rs.skipped}
        secret_tree._ratchets[rs.index] = ratchet
    epoch = state.group_context.epoch
    keep = config.resumption_psk_epochs
    past = {p.epoch: p.psk for p in getattr(state, "past_resumption_psks", [])
            if epoch - keep <= p.epoch < epoch}
    return GroupStateParts(cs, state.group_context, tree, private, state.signature_private,
                           secrets, state.interim_transcript_hash, secret_tree, past)
