"""secret-tree.json and the ratchet rules of RFC 9420 section 9."""

import pytest

from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import ProtocolError, StateError
from tlslite_mls.mls.secrettree import SecretTree, sender_data_key_nonce
from helpers import h, run_vector, vector_cases

FILE = "secret-tree.json"


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    sd = v["sender_data"]
    key, nonce = sender_data_key_nonce(cs, h(sd["sender_data_secret"]), h(sd["ciphertext"]))
    assert (key, nonce) == (h(sd["key"]), h(sd["nonce"]))

    n = len(v["leaves"])
    secret = h(v["encryption_secret"])
    receiver = SecretTree(cs, secret, n)
    sender = SecretTree(cs, secret, n)
    for leaf, gens in enumerate(v["leaves"]):
        for handshake, kind in ((True, "handshake"), (False, "application")):
            wanted = {g["generation"]: (h(g[kind + "_key"]), h(g[kind + "_nonce"])) for g in gens}
            # receiving: jump straight to each listed generation
            for g in sorted(wanted):
                assert receiver.decryption_key(leaf, handshake, g) == wanted[g], (leaf, kind, g)
            # sending: step through every generation up to the last listed one
            for g in range(max(wanted) + 1):
                gen, key, nonce = sender.next_encryption_key(leaf, handshake)
                assert gen == g
                if g in wanted:
                    assert (key, nonce) == wanted[g], (leaf, kind, g)


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_secret_tree(vector):
    run_vector(FILE, vector, _check)


CS = get_cipher_suite(1)
SECRET = bytes(range(32))


def _tree(**kw) -> SecretTree:
    return SecretTree(CS, SECRET, 4, **kw)


def test_sender_and_receiver_agree():
    a, b = _tree(), _tree()
    for _ in range(5):
        g, key, nonce = a.next_encryption_key(2, False)
        assert b.decryption_key(2, False, g) == (key, nonce)
    assert a.generation(2, False) == 5 and a.generation(2, True) == 0


def test_ratchets_are_independent():
    t = _tree()
    keys = {t.decryption_key(leaf, hs, 0) for leaf in range(4) for hs in (True, False)}
    assert len(keys) == 8


def test_key_reuse_refused():
    t = _tree()
    t.decryption_key(1, True, 0)
    with pytest.raises(ProtocolError, match="already used"):
        t.decryption_key(1, True, 0)


def test_out_of_order_within_window():
    ref = _tree()
    expected = [ref.next_encryption_key(0, False)[1:] for _ in range(10)]
    t = _tree(out_of_order_window=8)
    assert t.decryption_key(0, False, 9) == expected[9]
    for g in (5, 1, 8, 3):
        assert t.decryption_key(0, False, g) == expected[g]
    with pytest.raises(ProtocolError, match="already used"):
        t.decryption_key(0, False, 5)
    # generation 0 is 9 behind the newest: outside a window of 8
    with pytest.raises(ProtocolError, match="too old"):
        t.decryption_key(0, False, 0)
    # in-order receipt continues after the jump
    assert t.decryption_key(0, False, 10) != expected[9]


def test_skipped_keys_expire_as_ratchet_moves():
    ref = _tree()
    expected = [ref.next_encryption_key(3, True)[1:] for _ in range(20)]
    t = _tree(out_of_order_window=4)
    t.decryption_key(3, True, 2)  # generations 0 and 1 kept as skipped
    for g in range(3, 8):
        assert t.decryption_key(3, True, g) == expected[g]
    with pytest.raises(ProtocolError, match="too old"):
        t.decryption_key(3, True, 1)


def test_beyond_window_and_gap_refused():
    ref = _tree()
    expected = [ref.next_encryption_key(0, True)[1:] for _ in range(12)]
    t = _tree(max_generation_gap=10, out_of_order_window=3)
    with pytest.raises(ProtocolError, match="too far ahead"):
        t.decryption_key(0, True, 11)
    assert t.decryption_key(0, True, 10) == expected[10]
    assert t.decryption_key(0, True, 7) == expected[7]
    with pytest.raises(ProtocolError, match="too old"):
        t.decryption_key(0, True, 6)
    with pytest.raises(ProtocolError, match="too far ahead"):
        t.decryption_key(0, True, 11 + 11)


def test_bad_leaf_and_generation():
    t = _tree()
    for leaf in (-1, 4, 100):
        with pytest.raises(ProtocolError, match="leaf index"):
            t.decryption_key(leaf, True, 0)
    with pytest.raises(ProtocolError):
        t.decryption_key(0, True, 1 << 32)


def test_node_secrets_deleted_along_the_way():
    t = SecretTree(CS, SECRET, 8)
    assert set(t._nodes) == {7}
    t.next_encryption_key(0, True)
    # root and every node on leaf 0's path consumed; only copath secrets remain
    assert set(t._nodes) == {2, 5, 11}
    assert SECRET not in t._nodes.values()
    t.decryption_key(1, False, 0)
    assert set(t._nodes) == {5, 11}


def test_repr_and_wipe():
    t = _tree()
    _, key, nonce = t.next_encryption_key(0, False)
    text = repr(t)
    for secret in (SECRET, key, nonce):
        assert secret.hex() not in text and repr(secret) not in text
    t.wipe()
    with pytest.raises(StateError):
        t.next_encryption_key(0, False)
    with pytest.raises(StateError):
        t.decryption_key(1, True, 0)


def test_single_leaf_and_odd_sizes():
    one = SecretTree(CS, SECRET, 1)
    g, key, nonce = one.next_encryption_key(0, True)
    assert (g, len(key), len(nonce)) == (0, CS.key_size, CS.nonce_size)
    # a 3-leaf tree is the 4-leaf tree with its last leaf unused
    three, four = SecretTree(CS, SECRET, 3), SecretTree(CS, SECRET, 4)
    assert three.decryption_key(2, False, 0) == four.decryption_key(2, False, 0)
    with pytest.raises(ValueError):
        SecretTree(CS, SECRET[:16], 2)


def test_sender_data_sample_is_prefix():
    k1 = sender_data_key_nonce(CS, SECRET, b"a" * 40)
    assert k1 == sender_data_key_nonce(CS, SECRET, b"a" * 32 + b"b" * 8)
    assert k1 != sender_data_key_nonce(CS, SECRET, b"a" * 31)


def test_copy_ratchets_independently():
    """SecretTree.copy: keys consumed or wiped in the copy stay available in the original."""
    from tlslite_mls.mls.crypto import get_cipher_suite
    from tlslite_mls.mls.secrettree import SecretTree
    tree = SecretTree(get_cipher_suite(1), bytes(range(32)), 2)
    assert tree.next_encryption_key(0, False)[0] == 0
    copy = tree.copy()
    assert copy.next_encryption_key(0, False) == tree.next_encryption_key(0, False)
    assert copy.decryption_key(1, False, 0) == tree.decryption_key(1, False, 0)
    copy.wipe()
    assert tree.generation(0, False) == 2 and tree.next_encryption_key(0, False)[0] == 2
