"""Tree math for the array representation of left-balanced binary trees (RFC 9420 appendix C).

Nodes are numbered left to right, leaves at even indices; a tree with ``n``
leaves (``n`` a power of two in RFC 9420, since the tree is extended and
truncated in powers of two) has ``2n - 1`` nodes. Functions take node indices
unless their name says "leaf". Everything here works for any number of leaves.
"""

from __future__ import annotations


def log2(x: int) -> int:
    """Floor of log2, with log2(0) = 0 as the RFC defines it."""
    return x.bit_length() - 1 if x > 0 else 0


def level(x: int) -> int:
    """Height of node ``x``: 0 for leaves (trailing one-bits of the index)."""
    if x & 1 == 0:
        return 0
    k = 0
    while (x >> k) & 1 == 1:
        k += 1
    return k


def node_width(n_leaves: int) -> int:
    return 0 if n_leaves == 0 else 2 * (n_leaves - 1) + 1


def root(n_leaves: int) -> int:
    # (1 << log2(node_width(n_leaves))) - 1, inline: every path walk starts here
    return (1 << ((2 * n_leaves - 1).bit_length() - 1)) - 1 if n_leaves > 0 else 0


def left(x: int) -> int:
    k = level(x)
    if k == 0:
        raise ValueError("leaf node has no children")
    return x ^ (0x01 << (k - 1))


def right(x: int) -> int:
    k = level(x)
    if k == 0:
        raise ValueError("leaf node has no children")
    return x ^ (0x03 << (k - 1))


def _parent_step(x: int) -> int:
    k = level(x)
    b = (x >> (k + 1)) & 0x01
    return (x | (1 << k)) ^ (b << (k + 1))


def parent(x: int, n_leaves: int) -> int:
    if x == root(n_leaves):
        raise ValueError("root node has no parent")
    return _parent_step(x)


def sibling(x: int, n_leaves: int) -> int:
    p = parent(x, n_leaves)
    return right(p) if x < p else left(p)


def direct_path(x: int, n_leaves: int) -> list[int]:
    """Ancestors of ``x`` from its parent up to and including the root."""
    r = root(n_leaves)
    if x == r:
        return []
    path = []
    while x != r:
        x = _parent_step(x)
        path.append(x)
    return path


def copath(x: int, n_leaves: int) -> list[int]:
    """Siblings of ``x`` and of each of its ancestors below the root."""
    if x == root(n_leaves):
        return []
    d = [x] + direct_path(x, n_leaves)
    d.pop()
    return [sibling(y, n_leaves) for y in d]


def is_ancestor(a: int, x: int) -> bool:
    """True when ``a`` is a (non-strict) ancestor of ``x``."""
    k = level(a)
    return (a >> (k + 1)) == (x >> (k + 1)) and level(x) <= k


def common_ancestor(x: int, y: int) -> int:
    """The lowest node that is an ancestor of both ``x`` and ``y``."""
    lx, ly = level(x) + 1, level(y) + 1
    if lx <= ly and x >> ly == y >> ly:
        return y
    if ly <= lx and x >> lx == y >> lx:
        return x
    xn, yn, k = x, y, 0
    while xn != yn:
        xn >>= 1
        yn >>= 1
        k += 1
    return (xn << k) + (1 << (k - 1)) - 1


def leaf_to_node(leaf: int) -> int:
    return 2 * leaf


def node_to_leaf(x: int) -> int:
    if x & 1:
        raise ValueError(f"node {x} is not a leaf")
    return x >> 1


def subtree_leaves(x: int) -> range:
    """Leaf indices (not node indices) below node ``x``."""
    k = level(x)
    first = (x >> k) << k  # leftmost node index under x, at level 0
    return range(first // 2, first // 2 + (1 << k))
