"""TreeKEM: treekem.json, plus paths created here and tampered paths."""

import dataclasses

import pytest

from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mls.constants import LeafNodeSource
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import CredentialError, ProtocolError, StateError, VerificationError
from tlslite_mls.mls.groupcontext import GroupContext
from tlslite_mls.mls.leafnode import Capabilities, LeafNode, Lifetime
from tlslite_mls.mls.ratchettree import ParentNode, RatchetTree, validate_tree
from tlslite_mls.mls.treekem import (TreePrivateState, UpdatePath, create_update_path,
                                     decrypt_update_path, merge_update_path)
from helpers import h, run_vector, vector_cases
from pki import Refuse

ANY = AcceptAnyCredential()

FILE = "treekem.json"


def _context(v, cs, tree_hash):
    return GroupContext(1, cs.suite_id, h(v["group_id"]), v["epoch"], tree_hash,
                        h(v["confirmed_transcript_hash"]), []).serialize()


def _states(v, cs, tree):
    states = {}
    for p in v["leaves_private"]:
        state = TreePrivateState.for_leaf(cs, p["index"], h(p["encryption_priv"]))
        for entry in p["path_secrets"]:
            state.set_path_secret(cs, entry["node"], h(entry["path_secret"]))
        state.check_against(tree)
        assert state.nodes() == sorted([2 * p["index"]] + [e["node"] for e in p["path_secrets"]])
        states[p["index"]] = state
    return states


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    group_id = h(v["group_id"])
    tree = RatchetTree.from_extension_bytes(cs, h(v["ratchet_tree"]))
    tree.verify_parent_hashes()
    states = _states(v, cs, tree)
    signature_privs = {p["index"]: h(p["signature_priv"]) for p in v["leaves_private"]}

    # Every given UpdatePath, processed by every member but its sender.
    for up in v["update_paths"]:
        sender = up["sender"]
        path = UpdatePath.deserialize(h(up["update_path"]))
        assert path.serialize() == h(up["update_path"])
        merged = tree.copy()
        merge_update_path(merged, sender, path, group_id)
        assert merged.tree_hash() == h(up["tree_hash_after"])
        merged.verify_parent_hashes()
        validate_tree(merged, group_id, policy=ANY,
                      tree_hash=h(up["tree_hash_after"]))
        context = _context(v, cs, merged.tree_hash())
        for index, state in states.items():
            if index == sender:
                assert up["path_secrets"][index] is None
                with pytest.raises(StateError):
                    decrypt_update_path(merged, state, sender, path, context)
                continue
            got = decrypt_update_path(merged, state, sender, path, context)
            assert got.path_secret == h(up["path_secrets"][index])
            assert got.commit_secret == h(up["commit_secret"])
            got.private_state.check_against(merged)
            state.check_against(tree)  # the old state is untouched

    # A fresh UpdatePath from every member, processed by every other member.
    for sender, sender_state in states.items():
        own = tree.copy()
        new = create_update_path(own, sender, tree.leaf(sender), signature_privs[sender],
                                 group_id)
        assert new.leaf_node.encryption_key != tree.leaf(sender).encryption_key
        assert new.leaf_node.leaf_node_source == LeafNodeSource.COMMIT
        own.verify_parent_hashes()
        new.private_state.check_against(own)
        context = _context(v, cs, own.tree_hash())
        path = UpdatePath.deserialize(new.encrypt(own, context).serialize())
        for index, state in states.items():
            if index == sender:
                continue
            theirs = tree.copy()
            merge_update_path(theirs, sender, path, group_id)
            assert theirs.tree_hash() == own.tree_hash()
            got = decrypt_update_path(theirs, state, sender, path, context)
            assert got.commit_secret == new.commit_secret
            assert got.path_secret == new.path_secret_for(index)
            got.private_state.check_against(theirs)


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_treekem(vector):
    run_vector(FILE, vector, _check)


# --------------------------------------------------------------------------------------
# Negative and edge cases on one vector

def _first_vector(min_members=3):
    for param in vector_cases(FILE):
        v = param.values[0]
        if v is not None and len(v["leaves_private"]) >= min_members:
            return v
    pytest.skip("no treekem vector")


def _setup():
    v = _first_vector()
    cs = get_cipher_suite(v["cipher_suite"])
    tree = RatchetTree.from_extension_bytes(cs, h(v["ratchet_tree"]))
    states = _states(v, cs, tree)
    privs = {p["index"]: h(p["signature_priv"]) for p in v["leaves_private"]}
    sender, receiver = sorted(states)[:2]
    return v, cs, tree, states, privs, sender, receiver


def _new_path(v, cs, tree, sender, privs):
    own = tree.copy()
    new = create_update_path(own, sender, tree.leaf(sender), privs[sender], h(v["group_id"]))
    context = _context(v, cs, own.tree_hash())
    return own, new, context, new.encrypt(own, context)


def test_mismatching_public_key_in_path_is_rejected():
    """A sender that lies consistently (parent hashes and leaf signature fit the
    bogus key) is caught only by re-deriving the keys from the path secret."""
    v, cs, tree, states, privs, sender, receiver = _setup()
    group_id = h(v["group_id"])
    own = tree.copy()
    new = create_update_path(own, sender, tree.leaf(sender), privs[sender], group_id)
    top = new.path[-1][0]
    _, bogus = cs.generate_hpke_key_pair()
    own.set_parent(top, ParentNode(bogus, b"", []))
    leaf = dataclasses.replace(new.leaf_node, parent_hash=own.set_path_parent_hashes(sender))
    leaf.sign(cs, privs[sender], group_id, sender)
    own.set_leaf(sender, leaf)
    context = _context(v, cs, own.tree_hash())
    forged = UpdatePath(leaf, new.encrypt(own, context).nodes)
    assert forged.nodes[-1].encryption_key == bogus

    theirs = tree.copy()
    merge_update_path(theirs, sender, forged, group_id)  # structurally fine
    assert theirs.tree_hash() == own.tree_hash()
    with pytest.raises(VerificationError, match="derived public key"):
        decrypt_update_path(theirs, states[receiver], sender, forged, context)


def test_tampered_leaf_signature_and_parent_hash_are_rejected():
    v, cs, tree, states, privs, sender, receiver = _setup()
    own, new, context, path = _new_path(v, cs, tree, sender, privs)
    group_id = h(v["group_id"])
    before = tree.copy()
    sig = path.leaf_node.signature
    bad_sig = dataclasses.replace(path.leaf_node, signature=bytes([sig[0] ^ 1]) + sig[1:])
    with pytest.raises(VerificationError, match="signature"):
        merge_update_path(tree, sender, UpdatePath(bad_sig, path.nodes), group_id)
    with pytest.raises(VerificationError, match="signature"):
        merge_update_path(tree, sender, path, group_id + b"x")
    # A validly signed leaf whose parent hash does not fit the path.
    ph = path.leaf_node.parent_hash
    bad_ph = dataclasses.replace(path.leaf_node, parent_hash=bytes([ph[0] ^ 1]) + ph[1:])
    bad_ph.sign(cs, privs[sender], group_id, sender)
    with pytest.raises(VerificationError, match="parent_hash"):
        merge_update_path(tree, sender, UpdatePath(bad_ph, path.nodes), group_id)
    # A key the path does not vouch for.
    _, bogus = cs.generate_hpke_key_pair()
    nodes = list(path.nodes)
    nodes[-1] = dataclasses.replace(nodes[-1], encryption_key=bogus)
    with pytest.raises(VerificationError, match="parent_hash"):
        merge_update_path(tree, sender, UpdatePath(path.leaf_node, nodes), group_id)
    assert tree == before and tree.tree_hash() == before.tree_hash()


def test_merge_runs_leaf_validation_with_a_policy():
    v, cs, tree, states, privs, sender, receiver = _setup()
    own, new, context, path = _new_path(v, cs, tree, sender, privs)
    group_id = h(v["group_id"])
    before = tree.copy()
    with pytest.raises(CredentialError):
        merge_update_path(tree, sender, path, group_id, policy=Refuse(lambda cred: True))
    assert tree == before
    # The committer may not take over another member's signature key.
    other = next(i for i in privs if i != sender)
    stolen = dataclasses.replace(path.leaf_node, signature_key=tree.leaf(other).signature_key)
    stolen.sign(cs, privs[other], group_id, sender)
    with pytest.raises(ProtocolError, match="signature key"):
        merge_update_path(tree, sender, UpdatePath(stolen, path.nodes), group_id,
                          policy=ANY)
    merge_update_path(tree, sender, path, group_id, policy=ANY)
    assert tree.tree_hash() == own.tree_hash()


def test_structural_errors():
    v, cs, tree, states, privs, sender, receiver = _setup()
    own, new, context, path = _new_path(v, cs, tree, sender, privs)
    group_id = h(v["group_id"])
    with pytest.raises(ProtocolError, match="nodes"):
        merge_update_path(tree.copy(), sender, UpdatePath(path.leaf_node, path.nodes[:-1]),
                          group_id)
    # Reusing the old encryption key is refused.
    old = tree.leaf(sender)
    same_key = dataclasses.replace(path.leaf_node, encryption_key=old.encryption_key)
    same_key.sign(cs, privs[sender], group_id, sender)
    with pytest.raises(ProtocolError, match="encryption key"):
        merge_update_path(tree.copy(), sender, UpdatePath(same_key, path.nodes), group_id)
    # A leaf of the wrong source.
    upd = dataclasses.replace(path.leaf_node, leaf_node_source=LeafNodeSource.UPDATE,
                              parent_hash=None)
    upd.sign(cs, privs[sender], group_id, sender)
    with pytest.raises(ProtocolError, match="commit"):
        merge_update_path(tree.copy(), sender, UpdatePath(upd, path.nodes), group_id)
    # Decrypting under another GroupContext fails authentication.
    theirs = tree.copy()
    merge_update_path(theirs, sender, path, group_id)
    with pytest.raises(VerificationError):
        decrypt_update_path(theirs, states[receiver], sender, path, context + b"x")
    # Dropping a ciphertext is a structural error.
    fdp = theirs.filtered_direct_path_with_copath(sender)
    i = next(i for i, (n, _) in enumerate(fdp) if n == _lca(sender, receiver))
    nodes = list(path.nodes)
    nodes[i] = dataclasses.replace(nodes[i], encrypted_path_secret=nodes[i].encrypted_path_secret[1:])
    with pytest.raises(ProtocolError, match="ciphertexts"):
        decrypt_update_path(theirs, states[receiver], sender, UpdatePath(path.leaf_node, nodes),
                            context)


def _lca(a, b):
    from tlslite_mls.mls.treemath import common_ancestor
    return common_ancestor(2 * a, 2 * b)


def test_joiners_are_excluded_and_get_their_secret_by_welcome():
    v, cs, tree, states, privs, sender, receiver = _setup()
    group_id = h(v["group_id"])
    # A new member joins in the same commit: add it to the provisional tree.
    joiner_priv, joiner_pub = cs.generate_hpke_key_pair()
    sig_priv, sig_pub = cs.generate_signature_key_pair()
    template = tree.leaf(receiver)
    joiner_leaf = dataclasses.replace(template, encryption_key=joiner_pub, signature_key=sig_pub,
                                      leaf_node_source=LeafNodeSource.KEY_PACKAGE,
                                      parent_hash=None, lifetime=_lifetime())
    joiner_leaf.sign(cs, sig_priv)
    own = tree.copy()
    joiner = own.add_leaf(joiner_leaf)
    theirs = own.copy()
    new = create_update_path(own, sender, tree.leaf(sender), privs[sender], group_id)
    context = _context(v, cs, own.tree_hash())
    path = new.encrypt(own, context, exclude_leaves=[joiner])
    copath = [c for _, c in own.filtered_direct_path_with_copath(sender)]
    total = sum(len(n.encrypted_path_secret) for n in path.nodes)
    assert total == sum(len(own.resolution(c, [joiner])) for c in copath)
    assert total == sum(len(own.resolution(c)) for c in copath) - 1
    merge_update_path(theirs, sender, path, group_id)
    got = decrypt_update_path(theirs, states[receiver], sender, path, context, [joiner])
    assert got.commit_secret == new.commit_secret
    # The joiner derives its keys from the Welcome's path secret.
    joined = TreePrivateState.for_joiner(cs, theirs, joiner, joiner_priv, sender,
                                         new.path_secret_for(joiner))
    joined.check_against(theirs)
    assert _lca(sender, joiner) in joined.nodes()
    with pytest.raises(VerificationError):
        TreePrivateState.for_joiner(cs, theirs, joiner, joiner_priv, sender, b"\x00" * 32)


def _lifetime():
    return Lifetime(0, 2**64 - 1)


def test_private_state_repr_copy_prune_and_wipe():
    v, cs, tree, states, privs, sender, receiver = _setup()
    state = states[receiver]
    text = repr(state)
    assert "redacted" in text
    assert state.encryption_priv.hex() not in text
    copy = state.copy()
    pruned_tree = tree.copy()
    pruned_tree.blank_path(receiver)
    copy.prune(pruned_tree)
    assert copy.nodes() == [2 * receiver]
    assert len(state.nodes()) > 1  # the original keeps its path keys
    copy.wipe()
    assert copy.nodes() == []
    own, new, context, path = _new_path(v, cs, tree, sender, privs)
    assert "redacted" in repr(new) and new.commit_secret.hex() not in repr(new)
    new.wipe()
    assert new.commit_secret == b""


def test_single_member_path_has_no_nodes():
    cs = get_cipher_suite(1)
    sig_priv, sig_pub = cs.generate_signature_key_pair()
    leaf = LeafNode(cs.generate_hpke_key_pair()[1], sig_pub, Credential.basic(b"alone"),
                    Capabilities([1], [1], [], [], [1]), LeafNodeSource.KEY_PACKAGE,
                    lifetime=_lifetime())
    leaf.sign(cs, sig_priv)
    tree = RatchetTree.with_leaf(cs, leaf)
    new = create_update_path(tree, 0, leaf, sig_priv, b"group")
    assert new.path == [] and len(new.commit_secret) == cs.hash_length
    path = new.encrypt(tree, b"ctx")
    assert path.nodes == [] and path.leaf_node.parent_hash == b""
    validate_tree(tree, b"group", policy=ANY)


@pytest.mark.parametrize("position", ["path node", "leaf"])
def test_update_path_with_invalid_key_is_refused(position):
    """A path node or leaf key that is not a valid point: illegal_parameter at once
    (docs/profile.md section 2), whether or not a policy validates the leaf."""
    from tlslite_mls.mls.errors import InvalidKeyError
    v, cs, tree, states, privs, sender, receiver = _setup()
    own, new, context, path = _new_path(v, cs, tree, sender, privs)
    group_id = h(v["group_id"])
    bad_key = bytes(cs.kem.public_size)
    if position == "leaf":
        leaf = dataclasses.replace(path.leaf_node, encryption_key=bad_key)
        leaf.sign(cs, privs[sender], group_id, sender)
        forged = UpdatePath(leaf, path.nodes)
    else:
        nodes = list(path.nodes)
        nodes[0] = dataclasses.replace(nodes[0], encryption_key=bad_key)
        forged = UpdatePath(path.leaf_node, nodes)
    before = tree.copy()
    for policy in (None, ANY):
        with pytest.raises(InvalidKeyError, match="encryption_key"):
            merge_update_path(tree, sender, forged, group_id, policy=policy)
    assert tree == before
