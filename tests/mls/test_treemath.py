"""tree-math.json, plus structural properties for widths the vectors do not list."""

import pytest
from hypothesis import given, strategies as st

from tlslite_mls.mls import treemath as tm
from helpers import run_vector, vector_cases

FILE = "tree-math.json"


def _opt(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return None


def _check(v):
    n = v["n_leaves"]
    assert tm.node_width(n) == v["n_nodes"]
    assert tm.root(n) == v["root"]
    for x in range(v["n_nodes"]):
        assert _opt(tm.left, x) == v["left"][x]
        assert _opt(tm.right, x) == v["right"][x]
        assert _opt(tm.parent, x, n) == v["parent"][x]
        assert _opt(tm.sibling, x, n) == v["sibling"][x]


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_tree_math(vector):
    run_vector(FILE, vector, _check)


@given(st.integers(min_value=0, max_value=12), st.data())
def test_direct_path_ends_at_root(k, data):
    n = 1 << k
    leaf = data.draw(st.integers(min_value=0, max_value=n - 1))
    x = tm.leaf_to_node(leaf)
    path = tm.direct_path(x, n)
    assert (path[-1] if path else x) == tm.root(n)
    assert len(tm.copath(x, n)) == len(path)
    for a in path:
        assert tm.is_ancestor(a, x)
        assert leaf in tm.subtree_leaves(a)
    other = data.draw(st.integers(min_value=0, max_value=n - 1))
    ca = tm.common_ancestor(x, tm.leaf_to_node(other))
    assert tm.is_ancestor(ca, x) and tm.is_ancestor(ca, tm.leaf_to_node(other))
