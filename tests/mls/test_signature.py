"""SigningKey: a private key parsed once, usable wherever the key's bytes are."""

import os

import pytest

from helpers import h, load_vectors
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import SigningKey, get_cipher_suite
from tlslite_mls.mls.crypto.signature import ED25519_OPENSSL, ED25519_SODIUM, private_key_bytes
from tlslite_mls.mls.group import Group
from tlslite_mls.mls.keypackage import create_key_package

SUITES = [1, 2, 3, 4, 5, 6, 7, 0xF009, 0xF00A, 0xF00B]


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
    restored = Group.import_state(group.export_state())
    assert restored._signature_private == priv
    assert restored.export_secret("x", b"", 32) == group.export_secret("x", b"", 32)


# -- the two Ed25519 backends ---------------------------------------------------------

BACKENDS = [pytest.param(ED25519_OPENSSL, id="openssl"),
            pytest.param(ED25519_SODIUM, id="libsodium")]


def test_libsodium_is_the_default_ed25519():
    """PyNaCl is a dependency, so Ed25519 runs on libsodium (twice as fast)."""
    assert ED25519_SODIUM is not None, "PyNaCl is missing: pip install the package's dependencies"
    assert get_cipher_suite(1).signature is ED25519_SODIUM
    assert get_cipher_suite(3).signature is ED25519_SODIUM


@pytest.mark.parametrize("scheme", BACKENDS)
def test_ed25519_backend_reproduces_the_official_signatures(scheme):
    """Ed25519 is deterministic: both backends must give the vectors' exact bytes."""
    seen = 0
    for v in load_vectors("crypto-basics.json"):
        if v["cipher_suite"] not in (1, 3):
            continue
        s = v["sign_with_label"]
        priv, pub, content = h(s["priv"]), h(s["pub"]), h(s["content"])
        message = _labeled(s["label"], content)
        assert scheme.public_key(priv) == pub
        assert scheme.public_key(SigningKey(priv)) == pub
        assert scheme.sign(priv, message) == h(s["signature"])
        assert scheme.sign(SigningKey(priv), message) == h(s["signature"])
        assert scheme.verify(pub, message, h(s["signature"]))
        seen += 1
    assert seen == 2


@pytest.mark.parametrize("signer", BACKENDS)
@pytest.mark.parametrize("verifier", BACKENDS)
def test_ed25519_backends_agree(signer, verifier):
    for size in (0, 1, 64, 1000):
        priv, pub = signer.generate()
        msg = os.urandom(size)
        sig = signer.sign(priv, msg)
        assert verifier.verify(pub, msg, sig)
        assert not verifier.verify(pub, msg + b"x", sig)
        assert not verifier.verify(pub, msg, sig[:-1])  # short
        assert not verifier.verify(pub, msg, sig + b"\x00")  # long
        assert not verifier.verify(pub[:-1], msg, sig)
        assert not verifier.verify(pub, msg, bytes(64))
        bad = bytearray(sig)
        bad[63] |= 0xF0  # S far above the group order
        assert not verifier.verify(pub, msg, bytes(bad))
        # A signature is not a combined (signature || message) prefix:
        assert not verifier.verify(pub, msg[1:], sig + msg[:1]) or size == 0


def test_libsodium_accepts_cryptography_key_objects():
    """x509 credentials carry cryptography key objects; they still sign."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ed25519.Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes_raw()
    assert ED25519_SODIUM.public_key(key) == pub
    assert ED25519_SODIUM.verify(pub, b"m", ED25519_SODIUM.sign(key, b"m"))
    assert ED25519_SODIUM.sign(key, b"m") == key.sign(b"m")


def _labeled(label, content):
    from tlslite_mls.mls.codec import Writer
    w = Writer()
    w.opaque(b"MLS 1.0 " + label.encode())
    w.opaque(content)
    return w.getvalue()
