"""Every received public key is checked for its suite (docs/profile.md section 2).

A key that no honest peer can hold (wrong length, not on the curve, of small order,
all-zero) is refused as :class:`InvalidKeyError` (``illegal_parameter``) when it
arrives, in a KeyPackage, a LeafNode or an UpdatePath, instead of failing later in
an encryption with an error the TLS layer can only report as ``internal_error``.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
from nacl import bindings

from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites
from tlslite_mls.mls.errors import InvalidKeyError, ProtocolError
from tlslite_mls.mls.keypackage import create_key_package, validate_key_package
from tlslite_mls.mls.leafnode import check_leaf_node

P25519 = 2**255 - 19
P448 = 2**448 - 2**224 - 1
# u-coordinates of the X25519 points of order 8 (RFC 7748 section 7, libsodium's list)
X25519_ORDER8 = (325606250916557431795983626356110631294008115727848805560023387167927233504,
                 39382357235489614581723060781553021112529911719440698176882885853963445705823)


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


BAD_HPKE_KEYS = {
    0x0001: [b"\x01" * 7, bytes(32), _le(1, 32), _le(P25519 - 1, 32), _le(P25519, 32),
             _le(X25519_ORDER8[0], 32), _le(X25519_ORDER8[1] | (1 << 255), 32), bytes(33)],
    0x0004: [bytes(56), _le(1, 56), _le(P448 - 1, 56), _le(P448 + 1, 56), bytes(7)],
    0x0002: [b"\x04" + bytes(64), b"\x04" + b"\xff" * 64, b"\x00", bytes(65),
             b"\x04" + os.urandom(63)],
}


def _valid_pub(cs):
    return cs.generate_hpke_key_pair()[1]


def _unreduced(ek: bytes) -> bytes:
    """An ML-KEM encapsulation key whose first coefficient is 4095 >= q (FIPS 203 7.2)."""
    return b"\xff" + bytes([ek[1] | 0x0F]) + ek[2:]


def _pq_bad_keys(suite):
    cs = get_cipher_suite(suite)
    good = _valid_pub(cs)
    kem = cs.kem
    bad = [good[:-1], good + b"\x00", _unreduced(good)]
    pq = getattr(kem, "pq", None)
    if pq is not None:  # a hybrid: a good ML-KEM part with a bad ECDH part
        tail = kem.public_size - pq.public_size
        bad.append(good[:pq.public_size] + bytes(tail))
        if tail != 32:  # a NIST curve: a point off the curve (any X25519 string decodes)
            bad.append(good[:pq.public_size] + b"\x04" + b"\xff" * (tail - 1))
    return bad


PQ_KEM_SUITES = {0xF001: "MLKEM768-X25519", 0xF003: "MLKEM768-P256", 0xF005: "MLKEM1024-P384",
                 0xF006: "ML-KEM-768", 0xF008: "ML-KEM-1024"}


@pytest.mark.parametrize("suite", sorted(PQ_KEM_SUITES), ids=list(PQ_KEM_SUITES.values()))
def test_pq_encapsulation_key_check(suite):
    cs = get_cipher_suite(suite)
    for bad in _pq_bad_keys(suite):
        with pytest.raises(InvalidKeyError):
            cs.check_hpke_public_key(bad, "init_key")
    cs.check_hpke_public_key(_valid_pub(cs), "init_key")


@pytest.mark.parametrize("suite", sorted(BAD_HPKE_KEYS))
def test_hpke_public_key_check_refuses_bad_keys(suite):
    cs = get_cipher_suite(suite)
    for bad in BAD_HPKE_KEYS[suite]:
        with pytest.raises(InvalidKeyError):
            cs.kem.check_public_key(bad)
    cs.kem.check_public_key(_valid_pub(cs))


def test_p256_compressed_point_refused():
    """MLS carries uncompressed points only (RFC 9420 section 5.1.1)."""
    cs = get_cipher_suite(2)
    pub = _valid_pub(cs)
    compressed = bytes([2 + (pub[-1] & 1)]) + pub[1:33]
    with pytest.raises(InvalidKeyError, match="33 bytes"):
        cs.kem.check_public_key(compressed)


@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_generated_keys_pass_the_checks(suite):
    cs = get_cipher_suite(suite)
    for _ in range(5):
        cs.check_hpke_public_key(_valid_pub(cs), "key")
        cs.check_signature_public_key(cs.generate_signature_key_pair()[1], "key")


@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_signature_public_key_check_refuses_bad_keys(suite):
    cs = get_cipher_suite(suite)
    good = cs.generate_signature_key_pair()[1]
    bad = [good[:7], good + b"\x00", bytes(len(good))]
    if cs.signature.name.startswith("mldsa"):
        bad.pop()  # every string of the right length is an ML-DSA key
    elif cs.signature.name.startswith("ed"):
        bad.append(_le(1, len(good)))  # the identity
        bad.append(b"\xff" * len(good))  # y >= p: not canonical
    else:
        bad.append(b"\x04" + bytes(len(good) - 1))
    for key in bad:
        with pytest.raises(InvalidKeyError):
            cs.check_signature_public_key(key, "leaf signature_key")


def test_ed25519_point_off_the_curve_refused():
    cs = get_cipher_suite(1)
    while True:  # about half of all y have no x
        candidate = os.urandom(31) + b"\x00"
        if not bindings.crypto_core_ed25519_is_valid_point(candidate):
            break
    with pytest.raises(InvalidKeyError):
        cs.check_signature_public_key(candidate, "key")


def _key_package_with(suite, *, encryption_key=None, init_key=None):
    """A KeyPackage whose leaf and outer signatures are valid over the bad key."""
    cs = get_cipher_suite(suite)
    priv, _ = cs.generate_signature_key_pair()
    kp = create_key_package(cs, Credential.basic(b"alice"), priv).key_package
    if encryption_key is not None:
        kp.leaf_node = dataclasses.replace(kp.leaf_node, encryption_key=encryption_key)
        kp.leaf_node.sign(cs, priv)
    if init_key is not None:
        kp.init_key = init_key
    kp.sign(cs, priv)
    return kp


@pytest.mark.parametrize("bad", [b"\x01" * 7, bytes(32)], ids=["7-byte", "all-zero"])
def test_key_package_leaf_encryption_key_is_validated(bad):
    kp = _key_package_with(1, encryption_key=bad)
    with pytest.raises(InvalidKeyError, match="encryption_key"):
        validate_key_package(kp, policy=AcceptAnyCredential())


@pytest.mark.parametrize("bad", [b"\x01" * 7, bytes(32)], ids=["7-byte", "all-zero"])
def test_key_package_init_key_is_validated(bad):
    kp = _key_package_with(1, init_key=bad)
    with pytest.raises(InvalidKeyError, match="init_key"):
        validate_key_package(kp, policy=AcceptAnyCredential())


def test_invalid_key_is_a_protocol_error_for_illegal_parameter():
    from tlslite_mls.twoparty.errors import alert_name
    assert issubclass(InvalidKeyError, ProtocolError)
    assert alert_name(InvalidKeyError("x")) == "illegal_parameter"


def test_leaf_node_signature_key_is_checked_before_the_signature():
    cs = get_cipher_suite(1)
    kp = _key_package_with(1)
    leaf = dataclasses.replace(kp.leaf_node, signature_key=bytes(32))
    with pytest.raises(InvalidKeyError, match="signature_key"):
        check_leaf_node(cs, leaf)
