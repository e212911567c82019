"""The ratchet tree (RFC 9420 sections 4, 7 and 12.4.3).

The tree is kept in the array form of appendix C: node ``x`` at list position
``x``, leaves at even positions, always ``2^d`` leaves (``2^(d+1) - 1`` nodes)
because the tree only ever grows by doubling and shrinks by halving.

Two rules keep it both fast and correct:

* Nodes stored in a tree are never mutated in place. Every change goes through a
  method of :class:`RatchetTree`, which replaces the node object and forgets the
  cached tree hashes of that node and its ancestors. Because of that,
  :meth:`RatchetTree.copy` can share node objects and is a cheap list copy, so a
  provisional tree for a Commit costs almost nothing.
* Tree hashes are cached per node. A change invalidates ``log n`` entries, so the
  tree hash after a Commit hashes only the changed path, not the whole tree.

Validation of a received tree (:func:`validate_tree`) and of a single leaf
(:func:`validate_leaf_node`) live here too, because both are questions about a
leaf *in this tree* (uniqueness of keys, credential types of the other members).
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

from . import treemath as tm
from .codec import Opaque, Reader, Struct, U32, Vec, Writer, struct
from .auth import AuthenticationPolicy, CredentialContext, authenticate
from .constants import LeafNodeSource
from .credentials import Credential
from .crypto import CipherSuite
from .errors import CredentialError, DecodeError, ProtocolError, VerificationError
from .extensions import Extension
from .leafnode import LeafNode, check_leaf_node, required_capabilities

__all__ = [
    "NodeType", "ParentNode", "Node", "TreeNode", "RatchetTree",
    "validate_tree", "validate_leaf_node",
]


class NodeType(IntEnum):
    LEAF = 1
    PARENT = 2


@struct
class ParentNode(Struct):
    """A parent node (section 7.1). ``unmerged_leaves`` are leaf indices, sorted."""

    encryption_key: Opaque
    parent_hash: Opaque
    unmerged_leaves: Vec[U32]


TreeNode = Union[LeafNode, ParentNode]


@dataclass(eq=True)
class Node(Struct):
    """The ``Node`` variant of the ``ratchet_tree`` extension (section 12.4.3.3)."""

    node_type: int
    value: TreeNode

    @classmethod
    def of(cls, value: TreeNode) -> "Node":
        return cls(NodeType.LEAF if isinstance(value, LeafNode) else NodeType.PARENT, value)

    def write(self, w: Writer) -> None:
        w.u8(self.node_type)
        self.value.write(w)

    @classmethod
    def read(cls, r: Reader) -> "Node":
        node_type = r.u8()
        if node_type == NodeType.LEAF:
            name, reader = "leaf_node", LeafNode.read
        elif node_type == NodeType.PARENT:
            name, reader = "parent_node", ParentNode.read
        else:
            raise DecodeError(f"invalid node_type {node_type}", ["node_type"])
        try:
            return cls(node_type, reader(r))
        except DecodeError as e:
            e.path.insert(0, name)
            raise


def _node_parent_hash(node: TreeNode) -> Optional[bytes]:
    """The ``parent_hash`` a node carries, if its kind carries one."""
    if isinstance(node, ParentNode):
        return node.parent_hash
    if node.leaf_node_source == LeafNodeSource.COMMIT:
        return node.parent_hash
    return None


class RatchetTree:
    """A ratchet tree of one group, with cached tree hashes.

    ``cs`` is the group's cipher suite; its hash defines tree and parent hashes.
    """

    __slots__ = ("cs", "_nodes", "_hashes")

    def __init__(self, cs: CipherSuite, nodes: Sequence[Optional[TreeNode]] = ()) -> None:
        nodes = list(nodes)
        width = len(nodes)
        if width and (width + 1) & width:
            raise ValueError(f"a ratchet tree has 2^(d+1) - 1 nodes, not {width}")
        for x, node in enumerate(nodes):
            if node is not None and isinstance(node, LeafNode) != (x % 2 == 0):
                raise ValueError(f"node {x} has the wrong type for its position")
        self.cs = cs
        self._nodes: list[Optional[TreeNode]] = nodes
        self._hashes: list[Optional[bytes]] = [None] * width

    @classmethod
    def with_leaf(cls, cs: CipherSuite, leaf_node: LeafNode) -> "RatchetTree":
        """The one-member tree of a freshly created group."""
        return cls(cs, [leaf_node])

    def copy(self) -> "RatchetTree":
        """An independent tree sharing the (immutable) node objects and cached hashes."""
        new = RatchetTree.__new__(RatchetTree)
        new.cs = self.cs
        new._nodes = list(self._nodes)
        new._hashes = list(self._hashes)
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RatchetTree):
            return NotImplemented
        return self.cs.suite_id == other.cs.suite_id and self._nodes == other._nodes

    def __repr__(self) -> str:
        members = sum(1 for _ in self.members())
        return f"<RatchetTree {self.n_leaves} leaves, {members} members>"

    # --- shape -----------------------------------------------------------------
    @property
    def width(self) -> int:
        return len(self._nodes)

    @property
    def n_leaves(self) -> int:
        return (len(self._nodes) + 1) // 2

    @property
    def root(self) -> int:
        return tm.root(self.n_leaves)

    def _check_leaf_index(self, leaf_index: int) -> None:
        if not 0 <= leaf_index < self.n_leaves:
            raise ProtocolError(f"leaf index {leaf_index} is outside the tree "
                                f"({self.n_leaves} leaves)")

    def _check_node_index(self, x: int) -> None:
        if not 0 <= x < len(self._nodes):
            raise ProtocolError(f"node index {x} is outside the tree ({len(self._nodes)} nodes)")

    # --- reading nodes -----------------------------------------------------------
    def node(self, x: int) -> Optional[TreeNode]:
        self._check_node_index(x)
        return self._nodes[x]

    def leaf(self, leaf_index: int) -> Optional[LeafNode]:
        self._check_leaf_index(leaf_index)
        return self._nodes[2 * leaf_index]  # type: ignore[return-value]

    def parent_node(self, x: int) -> Optional[ParentNode]:
        self._check_node_index(x)
        if x % 2 == 0:
            raise ValueError(f"node {x} is a leaf, not a parent")
        return self._nodes[x]  # type: ignore[return-value]

    def is_blank(self, x: int) -> bool:
        return self.node(x) is None

    def encryption_key_of(self, x: int) -> bytes:
        node = self.node(x)
        if node is None:
            raise ProtocolError(f"node {x} is blank and has no encryption key")
        return node.encryption_key

    def members(self) -> Iterator[tuple[int, LeafNode]]:
        """``(leaf_index, leaf_node)`` of every non-blank leaf, left to right."""
        nodes = self._nodes
        for x in range(0, len(nodes), 2):
            node = nodes[x]
            if node is not None:
                yield x // 2, node  # type: ignore[misc]

    def find_leaf(self, predicate: Callable[[LeafNode], bool]) -> Optional[int]:
        """Index of the leftmost non-blank leaf for which ``predicate`` holds."""
        for index, leaf in self.members():
            if predicate(leaf):
                return index
        return None

    # --- changing nodes ------------------------------------------------------------
    def _invalidate(self, x: int) -> None:
        hashes = self._hashes
        hashes[x] = None
        for x in tm.direct_path(x, self.n_leaves):
            if hashes[x] is None:
                # Hashes are only cached bottom-up, so a forgotten ancestor means
                # everything above it was forgotten already.
                break
            hashes[x] = None

    def _set(self, x: int, node: Optional[TreeNode]) -> None:
        self._nodes[x] = node
        self._invalidate(x)

    def set_leaf(self, leaf_index: int, leaf_node: LeafNode) -> None:
        self._check_leaf_index(leaf_index)
        self._set(2 * leaf_index, leaf_node)

    def blank_leaf(self, leaf_index: int) -> None:
        self._check_leaf_index(leaf_index)
        self._set(2 * leaf_index, None)

    def set_parent(self, x: int, node: Optional[ParentNode]) -> None:
        self._check_node_index(x)
        if x % 2 == 0:
            raise ValueError(f"node {x} is a leaf, not a parent")
        self._set(x, node)

    def blank_path(self, leaf_index: int) -> None:
        """Blank every parent node on the leaf's direct path (Update, Remove, UpdatePath)."""
        self._check_leaf_index(leaf_index)
        for x in tm.direct_path(2 * leaf_index, self.n_leaves):
            if self._nodes[x] is not None:
                self._set(x, None)

    def _extend(self) -> None:
        """Double the number of leaves; the old tree becomes the new root's left subtree.

        Cached hashes of the old nodes stay valid: a tree hash depends only on
        the subtree below a node, and those subtrees keep their indices.
        """
        width = len(self._nodes)
        grow = width + 1 if width else 1
        self._nodes.extend([None] * grow)
        self._hashes.extend([None] * grow)

    def add_leaf(self, leaf_node: LeafNode) -> int:
        """Put a new member in the leftmost blank leaf, extending if there is none (12.1.1).

        The new leaf becomes an unmerged leaf of every non-blank parent above it,
        because those parents' private keys are unknown to it.
        """
        nodes = self._nodes
        index = None
        for x in range(0, len(nodes), 2):
            if nodes[x] is None:
                index = x // 2
                break
        if index is None:
            index = self.n_leaves
            self._extend()
        self._set(2 * index, leaf_node)
        for x in tm.direct_path(2 * index, self.n_leaves):
            parent = nodes[x]
            if parent is not None:
                unmerged = list(parent.unmerged_leaves)  # type: ignore[union-attr]
                if index not in unmerged:
                    bisect.insort(unmerged, index)
                self._set(x, dataclasses.replace(parent, unmerged_leaves=unmerged))
        return index

    def truncate(self) -> None:
        """Halve the tree while its right half has no member (section 12.1.3)."""
        while self.n_leaves > 1:
            n = self.n_leaves
            if any(self._nodes[2 * i] is not None for i in range(n // 2, n)):
                return
            half = n - 1
            del self._nodes[half:]
            del self._hashes[half:]

    # --- resolution and paths ------------------------------------------------------
    def resolution(self, x: int, exclude_leaves: Iterable[int] = ()) -> list[int]:
        """Node indices of the resolution of ``x`` (section 4.1.2), left to right.

        ``exclude_leaves`` (leaf indices) are left out: joiners added in the same
        Commit must not receive path secrets through the UpdatePath.
        """
        self._check_node_index(x)
        excluded = frozenset(exclude_leaves)
        out: list[int] = []
        self._resolve(x, excluded, out)
        return out

    def _resolve(self, x: int, excluded: frozenset[int], out: list[int]) -> None:
        node = self._nodes[x]
        if node is None:
            if x & 1:
                k = tm.level(x)
                self._resolve(x ^ (1 << (k - 1)), excluded, out)
                self._resolve(x ^ (3 << (k - 1)), excluded, out)
            return
        if x & 1:
            out.append(x)
            for leaf in node.unmerged_leaves:  # type: ignore[union-attr]
                if leaf not in excluded:
                    out.append(2 * leaf)
        elif x // 2 not in excluded:
            out.append(x)

    def _resolution_is_empty(self, x: int) -> bool:
        nodes = self._nodes
        if nodes[x] is not None:
            return False
        if x & 1 == 0:
            return True
        k = tm.level(x)
        return (self._resolution_is_empty(x ^ (1 << (k - 1)))
                and self._resolution_is_empty(x ^ (3 << (k - 1))))

    def filtered_direct_path_with_copath(self, leaf_index: int) -> list[tuple[int, int]]:
        """``(node, copath_child)`` for each node of the filtered direct path (4.1.2).

        A direct-path node is filtered out when its child on the copath has an
        empty resolution: nobody would be able to decrypt a secret sent to it.
        """
        self._check_leaf_index(leaf_index)
        child = 2 * leaf_index
        out = []
        for p in tm.direct_path(child, self.n_leaves):
            sibling = tm.right(p) if child < p else tm.left(p)
            if not self._resolution_is_empty(sibling):
                out.append((p, sibling))
            child = p
        return out

    def filtered_direct_path(self, leaf_index: int) -> list[int]:
        return [p for p, _ in self.filtered_direct_path_with_copath(leaf_index)]

    # --- tree hashes (section 7.8) -----------------------------------------------------
    def tree_hash(self) -> bytes:
        """The tree hash of the root: what the GroupContext commits to."""
        if not self._nodes:
            raise ProtocolError("an empty tree has no tree hash")
        return self.tree_hash_of(self.root)

    def tree_hash_of(self, x: int) -> bytes:
        self._check_node_index(x)
        return self._tree_hash(x)

    def _tree_hash(self, x: int) -> bytes:
        cached = self._hashes[x]
        if cached is not None:
            return cached
        node = self._nodes[x]
        w = Writer()
        if x & 1 == 0:
            w.u8(NodeType.LEAF)
            w.u32(x >> 1)
            w.optional(node, _write_struct)
        else:
            k = tm.level(x)
            left_hash = self._tree_hash(x ^ (1 << (k - 1)))
            right_hash = self._tree_hash(x ^ (3 << (k - 1)))
            w.u8(NodeType.PARENT)
            w.optional(node, _write_struct)
            w.opaque(left_hash)
            w.opaque(right_hash)
        value = self.cs.digest(bytes(w.buf))
        self._hashes[x] = value
        return value

    def original_tree_hash(self, x: int, excluded_leaves: Iterable[int]) -> bytes:
        """Tree hash of ``x`` as if ``excluded_leaves`` had never been added (7.9).

        Those leaves are blanked and dropped from every ``unmerged_leaves`` list.
        Uses the cache for every subtree that holds none of them.
        """
        self._check_node_index(x)
        excluded = frozenset(excluded_leaves)
        return self._original_hash(x, excluded) if excluded else self._tree_hash(x)

    def _original_hash(self, x: int, excluded: frozenset[int]) -> bytes:
        span = tm.subtree_leaves(x)
        if not any(leaf in span for leaf in excluded):
            return self._tree_hash(x)
        w = Writer()
        node = self._nodes[x]
        if x & 1 == 0:
            w.u8(NodeType.LEAF)
            w.u32(x >> 1)
            w.u8(0)  # the excluded leaf itself: blank
        else:
            k = tm.level(x)
            left_hash = self._original_hash(x ^ (1 << (k - 1)), excluded)
            right_hash = self._original_hash(x ^ (3 << (k - 1)), excluded)
            if node is not None:
                node = dataclasses.replace(node, unmerged_leaves=[
                    i for i in node.unmerged_leaves if i not in excluded])  # type: ignore[union-attr]
            w.u8(NodeType.PARENT)
            w.optional(node, _write_struct)
            w.opaque(left_hash)
            w.opaque(right_hash)
        return self.cs.digest(bytes(w.buf))

    # --- parent hashes (section 7.9) -------------------------------------------------------
    def parent_hash_of(self, p: int, copath_child: int) -> bytes:
        """The parent hash of parent ``p`` with copath child ``copath_child``."""
        node = self.parent_node(p)
        if node is None:
            raise ProtocolError(f"parent node {p} is blank and has no parent hash")
        sibling_hash = self.original_tree_hash(copath_child, node.unmerged_leaves)
        w = Writer()
        w.opaque(node.encryption_key)
        w.opaque(node.parent_hash)
        w.opaque(sibling_hash)
        return self.cs.digest(bytes(w.buf))

    def set_path_parent_hashes(self, leaf_index: int) -> bytes:
        """Fill ``parent_hash`` along the leaf's filtered direct path, root first.

        Returns the parent hash the leaf itself must carry. Called after an
        UpdatePath's public keys were put into the tree, by both its sender and
        its receivers, so both arrive at the same hashes.
        """
        path = self.filtered_direct_path_with_copath(leaf_index)
        above = b""
        for p, sibling in reversed(path):
            node = self._nodes[p]
            if node is None:
                raise ProtocolError(f"filtered direct path node {p} is blank")
            if node.parent_hash != above:  # type: ignore[union-attr]
                self._set(p, dataclasses.replace(node, parent_hash=above))
            above = self.parent_hash_of(p, sibling)
        return above

    def verify_parent_hashes(self) -> None:
        """Check that every non-blank parent node is parent-hash valid (7.9.2).

        "Top down": each non-blank parent P must have exactly one descendant D
        in the resolution of one of its children C such that D's parent_hash is
        the parent hash of P with the other child as copath child, and P's
        unmerged leaves below C are exactly the rest of C's resolution.
        """
        nodes = self._nodes
        for p in range(1, len(nodes), 2):
            node = nodes[p]
            if node is None:
                continue
            k = tm.level(p)
            left, right = p ^ (1 << (k - 1)), p ^ (3 << (k - 1))
            matches = 0
            for child, sibling in ((left, right), (right, left)):
                resolution = self.resolution(child)
                if not resolution:
                    continue
                span = tm.subtree_leaves(child)
                unmerged_here = {2 * i for i in node.unmerged_leaves  # type: ignore[union-attr]
                                 if i in span}
                expected: Optional[bytes] = None
                for d in resolution:
                    carried = _node_parent_hash(nodes[d])  # type: ignore[arg-type]
                    if carried is None:
                        continue
                    if expected is None:
                        expected = self.parent_hash_of(p, sibling)
                    if carried != expected:
                        continue
                    if set(resolution) - {d} == unmerged_here:
                        matches += 1
            if matches != 1:
                raise VerificationError(
                    f"parent node {p} is not parent-hash valid "
                    f"({'no' if matches == 0 else matches} descendants vouch for it)")

    # --- the ratchet_tree extension (section 12.4.3.3) -----------------------------------------
    def to_extension_bytes(self) -> bytes:
        """``optional<Node> ratchet_tree<V>`` without the trailing blank nodes."""
        nodes = self._nodes
        end = len(nodes)
        while end > 0 and nodes[end - 1] is None:
            end -= 1
        inner = Writer()
        for node in nodes[:end]:
            if node is None:
                inner.u8(0)
            else:
                inner.u8(1)
                inner.u8(NodeType.LEAF if isinstance(node, LeafNode) else NodeType.PARENT)
                node.write(inner)
        w = Writer()
        w.opaque(inner.buf)
        return w.getvalue()

    @classmethod
    def from_extension_bytes(cls, cs: CipherSuite, data: bytes) -> "RatchetTree":
        """Decode a ``ratchet_tree`` extension body and restore the full width.

        The sender omits trailing blank nodes; the receiver checks that the last
        node is non-blank and pads with the fewest blanks giving ``2^(d+1) - 1``.
        Structural checks only: :func:`validate_tree` does the cryptographic ones.
        """
        r = Reader(data)
        try:
            entries = r.vector(lambda rr: rr.optional(Node.read))
            r.finish()
        except DecodeError as e:
            e.path.insert(0, "ratchet_tree")
            raise
        if not entries:
            raise ProtocolError("ratchet_tree is empty")
        if entries[-1] is None:
            raise ProtocolError("ratchet_tree ends with a blank node")
        nodes: list[Optional[TreeNode]] = []
        for x, entry in enumerate(entries):
            if entry is None:
                nodes.append(None)
                continue
            want = NodeType.LEAF if x % 2 == 0 else NodeType.PARENT
            if entry.node_type != want:
                raise ProtocolError(f"ratchet_tree node {x} must be a "
                                    f"{want.name.lower()} node")
            nodes.append(entry.value)
        width = 1
        while width < len(nodes):
            width = 2 * width + 1
        nodes.extend([None] * (width - len(nodes)))
        return cls(cs, nodes)


def _write_struct(w: Writer, value: Struct) -> None:
    value.write(w)


# --------------------------------------------------------------------------------------
# Validation

def _authenticate(policy: AuthenticationPolicy, cs: CipherSuite, leaf: LeafNode, where: str,
                  previous: Optional[Credential] = None) -> None:
    try:
        authenticate(policy, leaf.credential,
                     CredentialContext(cs, leaf.signature_key, "peer", previous))
    except CredentialError as e:
        raise type(e)(f"{where}: {e}") from None


def validate_leaf_node(cs: CipherSuite, leaf: LeafNode, tree: Optional[RatchetTree], *,
                       policy: AuthenticationPolicy,
                       group_id: Optional[bytes] = None,
                       leaf_index: Optional[int] = None,
                       expected_source: Optional[int] = None,
                       group_extensions: Sequence[Extension] = (),
                       now: Optional[int] = None,
                       previous: Optional[Credential] = None) -> None:
    """Validate a LeafNode that is about to enter ``tree`` (section 7.3).

    ``leaf_index`` is the leaf the node occupies or will occupy (it is signed
    into update and commit leaves); that leaf's current content is not counted
    when checking that the signature and encryption keys are unique, since a
    member may keep its signature key. ``now`` (Unix seconds) enables the
    lifetime check of key_package leaves. Raises :class:`VerificationError`,
    :class:`CredentialError` or :class:`ProtocolError`.
    """
    where = "LeafNode" if leaf_index is None else f"LeafNode for leaf {leaf_index}"
    # A member that keeps its signature key (the usual update) brings a key this
    # tree accepted already: its point check need not run again.
    current = tree.leaf(leaf_index) if tree is not None and leaf_index is not None \
        and 0 <= leaf_index < tree.n_leaves else None
    check_leaf_node(cs, leaf, where=where, group_id=group_id, leaf_index=leaf_index,
                    expected_source=expected_source,
                    required=required_capabilities(group_extensions), now=now,
                    signature_key_checked=current is not None
                    and current.signature_key == leaf.signature_key)
    own_type = leaf.credential.credential_type
    for index, other in tree.members() if tree is not None else ():
        if index == leaf_index:
            continue
        if other.signature_key == leaf.signature_key:
            raise ProtocolError(f"{where}: signature key already used by leaf {index}")
        if other.encryption_key == leaf.encryption_key:
            raise ProtocolError(f"{where}: encryption key already used by leaf {index}")
        if own_type not in other.capabilities.credentials:
            raise ProtocolError(f"{where}: leaf {index} does not support credential "
                                f"type {own_type}")
        if other.credential.credential_type not in leaf.capabilities.credentials:
            raise ProtocolError(f"{where}: does not support credential type "
                                f"{other.credential.credential_type} of leaf {index}")
    # The policy last: it may be the costly part (x509 path validation).
    _authenticate(policy, cs, leaf, where, previous)


def validate_tree(tree: RatchetTree, group_id: bytes, *,
                  policy: AuthenticationPolicy,
                  tree_hash: Optional[bytes] = None,
                  group_extensions: Sequence[Extension] = (),
                  now: Optional[int] = None,
                  known_valid: Optional[LeafNode] = None) -> None:
    """Everything section 12.4.3.1 asks of a ratchet tree received on joining.

    ``known_valid`` is a leaf the caller made itself (a joiner's own KeyPackage
    leaf): a tree leaf identical to it is not signature-checked again.

    ``tree_hash`` is the GroupContext's; when given it must match. Every leaf
    is validated as in section 7.3 (signature bound to ``group_id`` and its
    index for update/commit leaves, credential through ``policy``),
    every parent must be parent-hash valid, ``unmerged_leaves`` must be
    consistent, and no HPKE or signature key may appear twice.
    """
    cs = tree.cs
    if tree.width == 0:
        raise ProtocolError("ratchet tree has no nodes")
    if tree_hash is not None and tree.tree_hash() != tree_hash:
        raise VerificationError("ratchet tree does not match the GroupContext tree_hash")

    required = required_capabilities(group_extensions)
    members = list(tree.members())
    if not members:
        raise ProtocolError("ratchet tree has no members")

    signature_keys: dict[bytes, int] = {}
    encryption_keys: dict[bytes, int] = {}
    credential_types: set[int] = set()
    for index, leaf in members:
        where = f"leaf {index}"
        ours = known_valid is not None and leaf == known_valid
        check_leaf_node(cs, leaf, where=where, group_id=group_id, leaf_index=index,
                        required=required, now=now, verify_signature=not ours)
        if not ours:
            _authenticate(policy, cs, leaf, where)
        if leaf.signature_key in signature_keys:
            raise ProtocolError(f"{where}: signature key already used by leaf "
                                f"{signature_keys[leaf.signature_key]}")
        signature_keys[leaf.signature_key] = index
        if leaf.encryption_key in encryption_keys:
            raise ProtocolError(f"{where}: encryption key already used by node "
                                f"{encryption_keys[leaf.encryption_key]}")
        encryption_keys[leaf.encryption_key] = 2 * index
        credential_types.add(leaf.credential.credential_type)
    for index, leaf in members:
        unsupported = credential_types.difference(leaf.capabilities.credentials)
        if unsupported:
            raise ProtocolError(f"leaf {index} does not support credential types "
                                f"{sorted(unsupported)} used in the group")

    n_leaves = tree.n_leaves
    for p in range(1, tree.width, 2):
        node = tree.parent_node(p)
        if node is None:
            continue
        cs.check_hpke_public_key(node.encryption_key, f"parent node {p} encryption_key")
        if node.encryption_key in encryption_keys:
            raise ProtocolError(f"parent node {p}: encryption key already used by node "
                                f"{encryption_keys[node.encryption_key]}")
        encryption_keys[node.encryption_key] = p
        unmerged = node.unmerged_leaves
        if any(a >= b for a, b in zip(unmerged, unmerged[1:])):
            raise ProtocolError(f"parent node {p}: unmerged_leaves not strictly increasing")
        span = tm.subtree_leaves(p)
        for leaf_index in unmerged:
            if leaf_index not in span or leaf_index >= n_leaves:
                raise ProtocolError(f"parent node {p}: unmerged leaf {leaf_index} is not "
                                    "below it")
            if tree.leaf(leaf_index) is None:
                raise ProtocolError(f"parent node {p}: unmerged leaf {leaf_index} is blank")
            for q in tm.direct_path(2 * leaf_index, n_leaves):
                if q == p:
                    break
                between = tree.parent_node(q)
                if between is not None and leaf_index not in between.unmerged_leaves:
                    raise ProtocolError(f"parent node {q}: misses unmerged leaf "
                                        f"{leaf_index} listed by its ancestor {p}")

    tree.verify_parent_hashes()
