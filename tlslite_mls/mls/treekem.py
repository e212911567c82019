"""TreeKEM: UpdatePaths and the private keys of a member's path (RFC 9420 7.4-7.6, 12.4.2).

Both directions run in two steps, because the HPKE context of every path
secret is the provisional GroupContext, whose ``tree_hash`` covers the tree
*after* the path was merged:

Committer::

    new = create_update_path(tree, me, leaf_template, sig_priv, group_id)  # tree changed
    context = <provisional GroupContext with tree.tree_hash()>.serialize()
    update_path = new.encrypt(tree, context, exclude_leaves=joiners)
    ... new.commit_secret, new.path_secret_for(joiner), new.private_state

Receiver::

    merge_update_path(tree, sender, update_path, group_id)                 # tree changed
    context = <provisional GroupContext with tree.tree_hash()>.serialize()
    got = decrypt_update_path(tree, my_state, sender, update_path, context, joiners)
    ... got.commit_secret, got.private_state

Private state never changes in place: both directions return a new
:class:`TreePrivateState`, so a Commit that fails later (bad confirmation tag)
leaves the member's current keys untouched. The caller installs the new state
once the epoch is confirmed and wipes the old one.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from . import treemath as tm
from .codec import Opaque, Struct, Vec, struct
from .constants import LeafNodeSource
from .crypto import CipherSuite
from .errors import ProtocolError, StateError, VerificationError
from .extensions import Extension
from .leafnode import LeafNode
from .auth import AuthenticationPolicy
from .ratchettree import (ParentNode, RatchetTree,
                          validate_leaf_node)

__all__ = [
    "HPKECiphertext", "UpdatePathNode", "UpdatePath", "TreePrivateState", "NewPath",
    "DecryptedPath", "create_update_path", "merge_update_path", "decrypt_update_path",
    "UPDATE_PATH_LABEL",
]

UPDATE_PATH_LABEL = "UpdatePathNode"


@struct
class HPKECiphertext(Struct):
    kem_output: Opaque
    ciphertext: Opaque


@struct
class UpdatePathNode(Struct):
    encryption_key: Opaque
    encrypted_path_secret: Vec[HPKECiphertext]


@struct
class UpdatePath(Struct):
    leaf_node: LeafNode
    nodes: Vec[UpdatePathNode]


def _node_key_pair(cs: CipherSuite, path_secret: bytes) -> tuple[bytes, bytes]:
    """(priv, pub) of a path node: DeriveKeyPair(DeriveSecret(path_secret, "node"))."""
    return cs.derive_key_pair(cs.derive_secret(path_secret, "node"))


class TreePrivateState:
    """The HPKE private keys one member holds: its leaf and nodes of its direct path.

    Keys are stored with their public halves, so the state can be checked
    against (and pruned to) whatever tree it is used with. Path secrets are not
    kept: once a node's key pair is derived the secret has no further use.
    """

    __slots__ = ("leaf_index", "_keys")

    def __init__(self, leaf_index: int, keys: dict[int, tuple[bytes, bytes]]) -> None:
        if 2 * leaf_index not in keys:
            raise ValueError("a private state needs the key of its own leaf")
        self.leaf_index = leaf_index
        self._keys = dict(keys)

    @classmethod
    def for_leaf(cls, cs: CipherSuite, leaf_index: int, encryption_priv: bytes,
                 encryption_pub: Optional[bytes] = None) -> "TreePrivateState":
        """State holding only the leaf's key (a new member, or a committer's start).

        ``encryption_pub``: the public half when the caller already has it from the
        same key generation (deriving it again costs a scalar multiplication).
        """
        if encryption_pub is None:
            encryption_pub = cs.kem.public_key(encryption_priv)
        return cls(leaf_index, {2 * leaf_index: (encryption_priv, encryption_pub)})

    @classmethod
    def for_joiner(cls, cs: CipherSuite, tree: RatchetTree, leaf_index: int,
                   encryption_priv: bytes, committer: int,
                   path_secret: Optional[bytes],
                   encryption_pub: Optional[bytes] = None) -> "TreePrivateState":
        """State of a member joining by Welcome (section 12.4.3.1).

        ``path_secret`` (from GroupSecrets) belongs to the lowest common ancestor
        of the joiner and the committer; the keys above it follow the
        committer's filtered direct path. Every derived key must be the one in
        the tree, else the Welcome is lying (:class:`VerificationError`).
        """
        state = cls.for_leaf(cs, leaf_index, encryption_priv, encryption_pub)
        leaf = tree.leaf(leaf_index)
        if leaf is None or leaf.encryption_key != state._keys[2 * leaf_index][1]:
            raise VerificationError("the joiner's encryption key is not the one in its leaf")
        if path_secret is None:
            return state
        if committer == leaf_index:
            raise ProtocolError("a joiner cannot be the committer")
        tree.leaf(committer)  # range check
        lca = tm.common_ancestor(2 * leaf_index, 2 * committer)
        path = tree.filtered_direct_path(committer)
        if lca not in path:
            raise ProtocolError(f"common ancestor {lca} is not on the committer's filtered "
                                "direct path")
        secret = path_secret
        for node in path[path.index(lca):]:
            priv, pub = _node_key_pair(cs, secret)
            parent = tree.parent_node(node)
            if parent is None or parent.encryption_key != pub:
                raise VerificationError(f"path secret does not yield the key of node {node}")
            state._keys[node] = (priv, pub)
            secret = cs.derive_secret(secret, "path")
        return state

    # --- access ------------------------------------------------------------------------
    @property
    def encryption_priv(self) -> bytes:
        """The private key of the member's own leaf."""
        return self._keys[2 * self.leaf_index][0]

    def private_key(self, node: int) -> Optional[bytes]:
        entry = self._keys.get(node)
        return entry[0] if entry is not None else None

    def public_key(self, node: int) -> Optional[bytes]:
        entry = self._keys.get(node)
        return entry[1] if entry is not None else None

    def nodes(self) -> list[int]:
        """Node indices this state holds a private key for, ascending."""
        return sorted(self._keys)

    def set_path_secret(self, cs: CipherSuite, node: int, path_secret: bytes) -> bytes:
        """Derive and hold the key pair of ``node`` from its path secret; returns the public key."""
        if node % 2 == 0:
            raise ValueError("path secrets belong to parent nodes")
        priv, pub = _node_key_pair(cs, path_secret)
        self._keys[node] = (priv, pub)
        return pub

    def check_against(self, tree: RatchetTree) -> None:
        """Raise :class:`VerificationError` unless every held key matches ``tree``."""
        for node, (_, pub) in self._keys.items():
            if node >= tree.width:
                raise VerificationError(f"private key for node {node} outside the tree")
            current = tree.node(node)
            if current is None or current.encryption_key != pub:
                raise VerificationError(f"private key for node {node} does not match the tree")

    def prune(self, tree: RatchetTree) -> None:
        """Drop keys of nodes that are blank or hold another key in ``tree`` now
        (after Update/Remove proposals blanked them): outdated keys must go (7.5)."""
        for node, (_, pub) in list(self._keys.items()):
            if node == 2 * self.leaf_index:
                continue
            current = tree.node(node) if node < tree.width else None
            if current is None or current.encryption_key != pub:
                del self._keys[node]

    def copy(self) -> "TreePrivateState":
        return TreePrivateState(self.leaf_index, self._keys)

    def wipe(self) -> None:
        """Forget every key; the object is unusable afterwards."""
        self._keys.clear()

    def __repr__(self) -> str:
        return (f"<TreePrivateState leaf {self.leaf_index}, keys for nodes {self.nodes()} "
                "<redacted>>")


@dataclass(repr=False, eq=False)
class NewPath:
    """A committer's fresh path: merged into its provisional tree, not yet encrypted.

    ``path`` lists ``(node, copath_child)`` of the filtered direct path and
    ``path_secrets`` the secret of each of those nodes. ``private_state`` is
    the committer's state for the new epoch.
    """

    cs: CipherSuite
    sender: int
    leaf_node: LeafNode
    path: list[tuple[int, int]]
    path_secrets: list[bytes]
    commit_secret: bytes
    private_state: TreePrivateState

    def path_secret_for(self, leaf_index: int) -> Optional[bytes]:
        """The path secret a new member at ``leaf_index`` gets in its GroupSecrets:
        the one of the lowest common ancestor with the committer."""
        if leaf_index == self.sender:
            return None
        lca = tm.common_ancestor(2 * self.sender, 2 * leaf_index)
        for (node, _), secret in zip(self.path, self.path_secrets):
            if node == lca:
                return secret
        return None

    def encrypt(self, tree: RatchetTree, group_context: bytes,
                exclude_leaves: Iterable[int] = ()) -> UpdatePath:
        """Encrypt each path secret to the resolution of its copath child (7.6).

        ``group_context`` is the serialized provisional GroupContext;
        ``exclude_leaves`` are the leaves added by the same Commit, who get
        their path secret through the Welcome instead.
        """
        if not self.path_secrets and self.path:
            raise StateError("this path was wiped")
        excluded = frozenset(exclude_leaves)
        cs = self.cs
        nodes = []
        for (node, copath_child), secret in zip(self.path, self.path_secrets):
            ciphertexts = []
            for target in tree.resolution(copath_child, excluded):
                kem_output, ct = cs.encrypt_with_label(
                    tree.encryption_key_of(target), UPDATE_PATH_LABEL, group_context, secret)
                ciphertexts.append(HPKECiphertext(kem_output, ct))
            nodes.append(UpdatePathNode(tree.encryption_key_of(node), ciphertexts))
        return UpdatePath(self.leaf_node, nodes)

    def wipe(self) -> None:
        """Forget the path secrets and commit secret once the Commit and Welcome are built."""
        self.path_secrets = []
        self.commit_secret = b""

    def __repr__(self) -> str:
        return (f"<NewPath sender {self.sender}, nodes {[n for n, _ in self.path]} "
                "<secrets redacted>>")


@dataclass(repr=False, eq=False)
class DecryptedPath:
    """What a receiver learns from an UpdatePath.

    ``path_secret`` is the secret it decrypted, for ``node`` (the lowest
    common ancestor with the sender); ``private_state`` its state for the
    new epoch.
    """

    node: int
    path_secret: bytes
    commit_secret: bytes
    private_state: TreePrivateState

    def __repr__(self) -> str:
        return f"<DecryptedPath at node {self.node} <secrets redacted>>"


def create_update_path(tree: RatchetTree, sender: int, leaf_template: LeafNode,
                       signature_priv: bytes, group_id: bytes) -> NewPath:
    """Give ``sender`` a fresh leaf key and fresh keys on its filtered direct path.

    ``tree`` is the provisional tree (proposals applied) and is changed in
    place: the direct path is blanked, the new public keys and parent hashes
    are set, and the new leaf is stored. The leaf keeps ``leaf_template``'s
    signature key, credential, capabilities and extensions; it gets a new
    encryption key, ``leaf_node_source = commit``, its parent hash, and a
    signature by ``signature_priv`` bound to ``group_id`` and ``sender``.
    """
    cs = tree.cs
    old = tree.leaf(sender)
    tree.blank_path(sender)
    path = tree.filtered_direct_path_with_copath(sender)

    leaf_priv, leaf_pub = cs.generate_hpke_key_pair()
    while old is not None and leaf_pub == old.encryption_key:  # pragma: no cover - 2^-256
        leaf_priv, leaf_pub = cs.generate_hpke_key_pair()
    keys = {2 * sender: (leaf_priv, leaf_pub)}

    secrets = []
    secret = os.urandom(cs.hash_length)
    for node, _ in path:
        secrets.append(secret)
        priv, pub = _node_key_pair(cs, secret)
        keys[node] = (priv, pub)
        tree.set_parent(node, ParentNode(pub, b"", []))
        secret = cs.derive_secret(secret, "path")
    commit_secret = secret if path else cs.derive_secret(secret, "path")
    parent_hash = tree.set_path_parent_hashes(sender)

    leaf = dataclasses.replace(leaf_template, encryption_key=leaf_pub,
                               leaf_node_source=LeafNodeSource.COMMIT, lifetime=None,
                               parent_hash=parent_hash, signature=b"")
    leaf.sign(cs, signature_priv, group_id, sender)
    tree.set_leaf(sender, leaf)
    return NewPath(cs, sender, leaf, path, secrets, commit_secret,
                   TreePrivateState(sender, keys))


def merge_update_path(tree: RatchetTree, sender: int, update_path: UpdatePath,
                      group_id: bytes, *, policy: Optional[AuthenticationPolicy] = None,
                      group_extensions: Sequence[Extension] = (), now: Optional[int] = None,
                      external: bool = False) -> None:
    """Check a received UpdatePath's structure and leaf and merge it into ``tree``.

    ``tree`` is the provisional tree (the Commit's proposals applied). Checks:
    the leaf has source ``commit`` and a valid signature for
    ``group_id``/``sender``, its encryption key is new (not when ``external``:
    the sender joins with this commit and has no previous key), there is one
    UpdatePathNode per filtered-direct-path node, and the leaf's parent hash is
    the one the merged path yields. With ``policy`` the leaf also gets
    the rest of section 7.3 (:func:`validate_leaf_node`: credential policy,
    capabilities, unique keys); without it the caller must do that itself.

    On error ``tree`` is left as it was.
    """
    cs = tree.cs
    leaf = update_path.leaf_node
    if leaf.leaf_node_source != LeafNodeSource.COMMIT:
        raise ProtocolError("UpdatePath leaf_node_source must be commit")
    old = tree.leaf(sender)
    if policy is not None:
        validate_leaf_node(cs, leaf, tree, policy=policy, group_id=group_id,
                           leaf_index=sender, expected_source=LeafNodeSource.COMMIT,
                           group_extensions=group_extensions, now=now,
                           previous=old.credential if old is not None else None)
    else:
        cs.check_hpke_public_key(leaf.encryption_key, "UpdatePath leaf encryption_key")
        cs.check_signature_public_key(leaf.signature_key, "UpdatePath leaf signature_key")
        if not leaf.verify_signature(cs, group_id, sender):
            raise VerificationError("invalid signature on the UpdatePath leaf")
    if not external:
        if old is None:
            raise ProtocolError(f"UpdatePath sender leaf {sender} is blank")
        if old.encryption_key == leaf.encryption_key:
            raise ProtocolError("UpdatePath leaf reuses the committer's encryption key")
    path = tree.filtered_direct_path(sender)
    if len(path) != len(update_path.nodes):
        raise ProtocolError(f"UpdatePath has {len(update_path.nodes)} nodes, the filtered "
                            f"direct path of leaf {sender} has {len(path)}")
    for node, path_node in zip(path, update_path.nodes):
        cs.check_hpke_public_key(path_node.encryption_key,
                                 f"UpdatePath encryption_key of node {node}")

    direct = tm.direct_path(2 * sender, tree.n_leaves)
    saved = [(x, tree.node(x)) for x in direct] + [(2 * sender, old)]
    try:
        tree.blank_path(sender)
        for node, path_node in zip(path, update_path.nodes):
            tree.set_parent(node, ParentNode(path_node.encryption_key, b"", []))
        parent_hash = tree.set_path_parent_hashes(sender)
        if leaf.parent_hash != parent_hash:
            raise VerificationError("UpdatePath leaf parent_hash does not match its path")
        tree.set_leaf(sender, leaf)
    except BaseException:
        for x, node in saved:
            if x % 2:
                tree.set_parent(x, node)  # type: ignore[arg-type]
            elif node is None:
                tree.blank_leaf(x // 2)
            else:
                tree.set_leaf(x // 2, node)  # type: ignore[arg-type]
        raise


def decrypt_update_path(tree: RatchetTree, state: TreePrivateState, sender: int,
                        update_path: UpdatePath, group_context: bytes,
                        exclude_leaves: Iterable[int] = ()) -> DecryptedPath:
    """Decrypt the path secret meant for this member and derive the commit secret.

    ``tree`` must already have the path merged (:func:`merge_update_path`);
    ``group_context`` is the serialized provisional GroupContext and
    ``exclude_leaves`` the leaves the same Commit added. Every key derived
    from the decrypted secret must equal the public key the sender put in
    the path (:class:`VerificationError` otherwise). ``state`` is not changed.
    """
    cs = tree.cs
    me = state.leaf_index
    if me == sender:
        raise StateError("a member cannot process its own UpdatePath")
    path = tree.filtered_direct_path_with_copath(sender)
    if len(path) != len(update_path.nodes):
        raise ProtocolError("UpdatePath does not match the sender's filtered direct path")
    my_node = 2 * me
    start = next((i for i, (node, _) in enumerate(path) if tm.is_ancestor(node, my_node)), None)
    if start is None:
        raise ProtocolError(f"leaf {me} is not below the filtered direct path of leaf {sender}")
    node, copath_child = path[start]
    resolution = tree.resolution(copath_child, exclude_leaves)
    ciphertexts = update_path.nodes[start].encrypted_path_secret
    if len(ciphertexts) != len(resolution):
        raise ProtocolError(f"UpdatePath node {node} has {len(ciphertexts)} ciphertexts for "
                            f"a resolution of {len(resolution)}")
    for position, target in enumerate(resolution):
        priv = state.private_key(target)
        if priv is not None and state.public_key(target) == tree.encryption_key_of(target):
            break
    else:
        raise ProtocolError(f"no private key for the resolution of node {copath_child}")
    ct = ciphertexts[position]
    path_secret = cs.decrypt_with_label(priv, UPDATE_PATH_LABEL, group_context,
                                        ct.kem_output, ct.ciphertext)

    new_state = state.copy()
    for x in tm.direct_path(my_node, tree.n_leaves):
        # every key shared with the sender's path is replaced or gone
        if tm.is_ancestor(x, 2 * sender):
            new_state._keys.pop(x, None)
    secret = path_secret
    for (x, _), path_node in zip(path[start:], update_path.nodes[start:]):
        priv_x, pub_x = _node_key_pair(cs, secret)
        if pub_x != path_node.encryption_key:
            new_state.wipe()
            raise VerificationError(f"derived public key of node {x} does not match the "
                                    "UpdatePath")
        new_state._keys[x] = (priv_x, pub_x)
        secret = cs.derive_secret(secret, "path")
    new_state.prune(tree)
    return DecryptedPath(node, path_secret, secret, new_state)
