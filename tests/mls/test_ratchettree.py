"""Ratchet tree: tree-validation.json, tree-operations.json and the rules of RFC 9420
sections 7.7-7.9 and 12.4.3 on hand-built trees."""

import dataclasses

import pytest

from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mls.codec import Reader, encode_varint
from tlslite_mls.mls.constants import LeafNodeSource, ProposalType
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import (CredentialError, DecodeError, ProtocolError,
                                    VerificationError)
from tlslite_mls.mls.leafnode import Capabilities, LeafNode, Lifetime
from tlslite_mls.mls.ratchettree import (ParentNode, RatchetTree,
                                         validate_leaf_node, validate_tree)
from helpers import h, run_vector, vector_cases
from pki import Refuse

ANY = AcceptAnyCredential()

VALIDATION = "tree-validation.json"
OPERATIONS = "tree-operations.json"


# --------------------------------------------------------------------------------------
# tree-validation.json

def _check_validation(v):
    cs = get_cipher_suite(v["cipher_suite"])
    data = h(v["tree"])
    tree = RatchetTree.from_extension_bytes(cs, data)
    assert tree.to_extension_bytes() == data
    assert tree.width == len(v["resolutions"]) == len(v["tree_hashes"])
    for x in range(tree.width):
        assert tree.resolution(x) == v["resolutions"][x], f"resolution of node {x}"
        assert tree.tree_hash_of(x) == h(v["tree_hashes"][x]), f"tree hash of node {x}"
    tree.verify_parent_hashes()
    group_id = h(v["group_id"])
    validate_tree(tree, group_id, policy=ANY,
                  tree_hash=h(v["tree_hashes"][tree.root]))
    for index, leaf in tree.members():
        if leaf.leaf_node_source == LeafNodeSource.KEY_PACKAGE:
            assert leaf.verify_signature(cs)
        else:
            assert leaf.verify_signature(cs, group_id, index)
    # The same tree claimed for another group must fail on some update/commit leaf.
    if any(leaf.leaf_node_source != LeafNodeSource.KEY_PACKAGE for _, leaf in tree.members()):
        with pytest.raises(VerificationError):
            validate_tree(tree, group_id + b"x", policy=ANY)


@pytest.mark.parametrize("vector", vector_cases(VALIDATION))
def test_tree_validation(vector):
    run_vector(VALIDATION, vector, _check_validation)


# --------------------------------------------------------------------------------------
# tree-operations.json

def _check_operations(v):
    from tlslite_mls.mls.proposals import Proposal

    cs = get_cipher_suite(v["cipher_suite"])
    tree = RatchetTree.from_extension_bytes(cs, h(v["tree_before"]))
    assert tree.tree_hash() == h(v["tree_hash_before"])
    proposal = Proposal.deserialize(h(v["proposal"]))
    sender = v["proposal_sender"]
    if proposal.proposal_type == ProposalType.ADD:
        tree.add_leaf(proposal.body.key_package.leaf_node)
    elif proposal.proposal_type == ProposalType.UPDATE:
        tree.set_leaf(sender, proposal.body.leaf_node)
        tree.blank_path(sender)
    elif proposal.proposal_type == ProposalType.REMOVE:
        tree.blank_leaf(proposal.body.removed)
        tree.blank_path(proposal.body.removed)
        tree.truncate()
    else:  # pragma: no cover - the file has only these three
        raise AssertionError(f"unexpected proposal type {proposal.proposal_type}")
    assert tree.to_extension_bytes() == h(v["tree_after"])
    assert tree.tree_hash() == h(v["tree_hash_after"])
    # The cached hashes must agree with a tree hashed from scratch.
    fresh = RatchetTree.from_extension_bytes(cs, h(v["tree_after"]))
    assert fresh.tree_hash() == tree.tree_hash()


@pytest.mark.parametrize("vector", vector_cases(OPERATIONS))
def test_tree_operations(vector):
    run_vector(OPERATIONS, vector, _check_operations)


# --------------------------------------------------------------------------------------
# Hand-built trees

CS = get_cipher_suite(1)
GROUP = b"tls13" + bytes(32)


def _caps():
    return Capabilities([1], [1], [], [], [1, 2])


def make_leaf(name: bytes, source=LeafNodeSource.KEY_PACKAGE, index=None, group_id=GROUP):
    """A signed leaf plus its signature private key."""
    sig_priv, sig_pub = CS.generate_signature_key_pair()
    _, enc_pub = CS.generate_hpke_key_pair()
    leaf = LeafNode(enc_pub, sig_pub, Credential.basic(name), _caps(), source,
                    lifetime=Lifetime(0, 2**64 - 1) if source == LeafNodeSource.KEY_PACKAGE else None,
                    parent_hash=b"" if source == LeafNodeSource.COMMIT else None)
    if source == LeafNodeSource.KEY_PACKAGE:
        leaf.sign(CS, sig_priv)
    else:
        leaf.sign(CS, sig_priv, group_id, index)
    return leaf, sig_priv


def _parent():
    return ParentNode(CS.generate_hpke_key_pair()[1], b"", [])


def test_add_leaf_fills_leftmost_blank_and_extends():
    tree = RatchetTree.with_leaf(CS, make_leaf(b"a")[0])
    assert tree.n_leaves == 1
    assert tree.add_leaf(make_leaf(b"b")[0]) == 1
    assert tree.n_leaves == 2
    assert tree.add_leaf(make_leaf(b"c")[0]) == 2
    assert tree.n_leaves == 4
    tree.blank_leaf(1)
    assert tree.add_leaf(make_leaf(b"d")[0]) == 1
    assert tree.add_leaf(make_leaf(b"e")[0]) == 3
    assert tree.add_leaf(make_leaf(b"f")[0]) == 4
    assert tree.n_leaves == 8
    assert [i for i, _ in tree.members()] == [0, 1, 2, 3, 4]


def test_add_leaf_records_unmerged_leaves_sorted():
    tree = RatchetTree(CS, [make_leaf(b"a")[0], None, None, _parent(), None, None, None])
    tree.set_parent(1, _parent())
    assert tree.add_leaf(make_leaf(b"c")[0]) == 1
    assert tree.parent_node(1).unmerged_leaves == [1]
    assert tree.parent_node(3).unmerged_leaves == [1]
    assert tree.add_leaf(make_leaf(b"d")[0]) == 2
    assert tree.parent_node(3).unmerged_leaves == [1, 2]
    assert tree.parent_node(5) is None
    # Resolution of a parent: the node itself, then its unmerged leaves.
    assert tree.resolution(3) == [3, 2, 4]
    assert tree.resolution(5) == [4]


def test_truncate_halves_while_right_half_is_empty():
    tree = RatchetTree.with_leaf(CS, make_leaf(b"a")[0])
    for name in (b"b", b"c", b"d", b"e"):
        tree.add_leaf(make_leaf(name)[0])
    assert tree.n_leaves == 8
    tree.blank_leaf(4)
    tree.truncate()
    assert tree.n_leaves == 4
    tree.blank_leaf(3)
    tree.blank_leaf(2)
    tree.truncate()
    assert tree.n_leaves == 2
    tree.blank_leaf(1)
    tree.truncate()
    assert tree.n_leaves == 1 and tree.width == 1


def test_tree_hash_cache_tracks_changes_and_copies_are_independent():
    tree = RatchetTree.with_leaf(CS, make_leaf(b"a")[0])
    for name in (b"b", b"c"):
        tree.add_leaf(make_leaf(name)[0])
    before = tree.tree_hash()
    copy = tree.copy()
    copy.set_parent(1, _parent())
    assert copy.tree_hash() != before
    assert tree.tree_hash() == before
    assert RatchetTree.from_extension_bytes(CS, copy.to_extension_bytes()).tree_hash() \
        == copy.tree_hash()
    copy.set_parent(1, None)
    assert copy.tree_hash() == before


def test_extension_encoding_rules():
    tree = RatchetTree.with_leaf(CS, make_leaf(b"a")[0])
    tree.add_leaf(make_leaf(b"b")[0])
    tree.add_leaf(make_leaf(b"c")[0])
    data = tree.to_extension_bytes()
    back = RatchetTree.from_extension_bytes(CS, data)
    assert back == tree and back.width == 7
    r = Reader(data)
    body = r.opaque()
    # A trailing blank node is refused.
    inner = body + b"\x00"
    with pytest.raises(ProtocolError, match="blank"):
        RatchetTree.from_extension_bytes(CS, encode_varint(len(inner)) + inner)
    # A leaf in a parent position is refused.
    leaf_bytes = b"\x01\x01" + make_leaf(b"z")[0].serialize()
    inner = leaf_bytes + leaf_bytes
    with pytest.raises(ProtocolError, match="node 1"):
        RatchetTree.from_extension_bytes(CS, encode_varint(len(inner)) + inner)
    with pytest.raises(DecodeError):
        RatchetTree.from_extension_bytes(CS, data[:-1])
    with pytest.raises(DecodeError):
        RatchetTree.from_extension_bytes(CS, data + b"\x00")
    with pytest.raises(ProtocolError, match="empty"):
        RatchetTree.from_extension_bytes(CS, b"\x00")


def test_tampered_parent_hash_is_rejected():
    v = next(v for v in vector_cases(VALIDATION)
             if v.values[0] is not None and _has_parent(v.values[0]))
    v = v.values[0]
    cs = get_cipher_suite(v["cipher_suite"])
    tree = RatchetTree.from_extension_bytes(cs, h(v["tree"]))
    p = next(x for x in range(1, tree.width, 2) if tree.parent_node(x) is not None)
    node = tree.parent_node(p)
    tree.set_parent(p, dataclasses.replace(
        node, parent_hash=bytes([node.parent_hash[0] ^ 1]) + node.parent_hash[1:]
        if node.parent_hash else b"\x00"))
    with pytest.raises(VerificationError, match="parent-hash valid"):
        tree.verify_parent_hashes()
    with pytest.raises(VerificationError):
        validate_tree(tree, h(v["group_id"]), policy=ANY)


def _has_parent(v):
    cs = get_cipher_suite(v["cipher_suite"])
    tree = RatchetTree.from_extension_bytes(cs, h(v["tree"]))
    return any(tree.parent_node(x) is not None for x in range(1, tree.width, 2))


def test_tampered_leaf_signature_is_rejected():
    leaf, _ = make_leaf(b"a")
    tree = RatchetTree.with_leaf(CS, leaf)
    validate_tree(tree, GROUP, policy=ANY, tree_hash=tree.tree_hash())
    bad = dataclasses.replace(leaf, signature=bytes([leaf.signature[0] ^ 1]) + leaf.signature[1:])
    tree.set_leaf(0, bad)
    with pytest.raises(VerificationError, match="signature"):
        validate_tree(tree, GROUP, policy=ANY)


def test_validate_tree_checks_hash_policy_duplicates_and_unmerged():
    a, _ = make_leaf(b"a")
    b, _ = make_leaf(b"b")
    tree = RatchetTree.with_leaf(CS, a)
    tree.add_leaf(b)
    with pytest.raises(VerificationError, match="tree_hash"):
        validate_tree(tree, GROUP, policy=ANY, tree_hash=b"\x00" * 32)
    with pytest.raises(CredentialError):
        validate_tree(tree, GROUP, policy=Refuse(lambda cred: cred.identity == b"b"))
    dup = RatchetTree.with_leaf(CS, a)
    dup.add_leaf(a)
    with pytest.raises(ProtocolError, match="signature key"):
        validate_tree(dup, GROUP, policy=ANY)
    # unmerged leaf that is blank
    t = RatchetTree(CS, [a, ParentNode(CS.generate_hpke_key_pair()[1], b"", [1]), None])
    with pytest.raises(ProtocolError, match="unmerged leaf 1 is blank"):
        validate_tree(t, GROUP, policy=ANY)
    # leaf with extension not in its capabilities
    c, sig = make_leaf(b"c")
    from tlslite_mls.mls.extensions import Extension
    c = dataclasses.replace(c, extensions=[Extension(0xF0A1, b"x")])
    c.sign(CS, sig)
    with pytest.raises(ProtocolError, match="0xf0a1"):
        validate_leaf_node(CS, c, tree, policy=ANY)


def test_validate_leaf_node_source_lifetime_and_credential_support():
    a, _ = make_leaf(b"a")
    tree = RatchetTree.with_leaf(CS, a)
    b, _ = make_leaf(b"b")
    validate_leaf_node(CS, b, tree, policy=ANY,
                       expected_source=LeafNodeSource.KEY_PACKAGE, now=1_700_000_000)
    with pytest.raises(ProtocolError, match="leaf_node_source"):
        validate_leaf_node(CS, b, tree, policy=ANY,
                           expected_source=LeafNodeSource.COMMIT)
    short, sig = make_leaf(b"s")
    short = dataclasses.replace(short, lifetime=Lifetime(0, 10))
    short.sign(CS, sig)
    with pytest.raises(ProtocolError, match="lifetime"):
        validate_leaf_node(CS, short, tree, policy=ANY, now=10_000)
    narrow, sig = make_leaf(b"n")
    narrow = dataclasses.replace(narrow, credential=Credential.x509([b"cert"]),
                                 capabilities=Capabilities([1], [1], [], [], [2]))
    narrow.sign(CS, sig)
    with pytest.raises(ProtocolError, match="credential type"):
        validate_leaf_node(CS, narrow, tree, policy=ANY)
    upd, _ = make_leaf(b"a2", LeafNodeSource.UPDATE, index=0)
    validate_leaf_node(CS, upd, tree, policy=ANY,
                       group_id=GROUP, leaf_index=0)
    with pytest.raises(VerificationError):
        validate_leaf_node(CS, upd, tree, policy=ANY,
                           group_id=GROUP, leaf_index=1)
