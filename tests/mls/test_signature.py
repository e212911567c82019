"""SigningKey: a private key parsed once, usable wherever the key's bytes are."""

import pytest

from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import SigningKey, get_cipher_suite
from tlslite_mls.mls.crypto.signature import private_key_bytes
from tlslite_mls.mls.group import Group
from tlslite_mls.mls.groupstate import import_group_state
from tlslite_mls.mls.keypackage import create_key_package

SUITES = [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("suite", SUITES)
def test_signing_key_signs_like_its_bytes(suite):
    cs = get_cipher_suite(suite)
    priv, pub = cs.generate_signature_key_pair()
    key = SigningKey(priv)
    assert cs.signature.public_key(key) == pub
    sig = cs.sign_with_label(key, "LeafNodeTBS", b"content")
    assert cs.verify_with_label(pub, "LeafNodeTBS", b"content", sig)
    assert not cs.verify_with_label(pub, "LeafNodeTBS", b"other", sig)
    if cs.signature.name.startswith("ed"):  # EdDSA is deterministic
        assert sig == cs.sign_with_label(priv, "LeafNodeTBS", b"content")


def test_signing_key_is_parsed_once_per_scheme():
    ed = get_cipher_suite(1).signature
    p256 = get_cipher_suite(2).signature
    key = SigningKey(b"\x01" * 32)
    first = ed.load_private(key)
    assert ed.load_private(key) is first
    # The same 32 bytes are a different key under another scheme.
    assert p256.load_private(key) is not first
    assert p256.public_key(key) != ed.public_key(key)


def test_signing_key_hides_the_key_and_refuses_non_bytes():
    key = SigningKey(b"\xab" * 32)
    assert "ab" not in repr(key).lower() and "32 bytes" in repr(key)
    assert private_key_bytes(key) == b"\xab" * 32
    assert private_key_bytes(bytearray(b"\x01\x02")) == b"\x01\x02"
    assert SigningKey(key).private_bytes == key.private_bytes
    with pytest.raises(TypeError):
        SigningKey("not bytes")
    with pytest.raises(TypeError):
        SigningKey(b"")


def test_group_with_signing_key_exports_the_key_bytes():
    cs = get_cipher_suite(1)
    priv, _ = cs.generate_signature_key_pair()
    bundle = create_key_package(cs, Credential.basic(b"alice"), SigningKey(priv))
    group = Group.create(bundle)
    restored = import_group_state(group.export_state())
    assert restored._signature_private == priv
    assert restored.export_secret("x", b"", 32) == group.export_secret("x", b"", 32)
