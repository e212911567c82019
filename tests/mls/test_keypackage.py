"""KeyPackage creation and validation (RFC 9420 sections 7.3, 10.1) and credentials."""

from __future__ import annotations

import time

import pytest

from tlslite_mls.mls.auth import (AcceptAnyCredential, CertificateError, ExpectedIdentity,
                                  X509Policy)
from tlslite_mls.mls.constants import GREASE_VALUES
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites
from tlslite_mls.mls.errors import CredentialError, DecodeError, ProtocolError, VerificationError
from tlslite_mls.mls.keypackage import KeyPackage, create_key_package, validate_key_package
from pki import TestCA


@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_create_validate_round_trip(suite):
    cs = get_cipher_suite(suite)
    priv, _ = cs.generate_signature_key_pair()
    bundle = create_key_package(cs, Credential.basic(b"alice"), priv)
    kp = KeyPackage.deserialize(bundle.key_package.serialize())
    assert kp == bundle.key_package
    assert validate_key_package(kp, policy=AcceptAnyCredential()) is cs
    assert kp.ref(cs) == bundle.key_package.ref(cs)
    # Both private keys are kept and belong to the published keys.
    assert cs.kem.public_key(bundle.init_private) == kp.init_key
    assert cs.kem.public_key(bundle.encryption_private) == kp.leaf_node.encryption_key
    caps = kp.leaf_node.capabilities
    for values in (caps.cipher_suites, caps.extensions, caps.proposals, caps.credentials):
        assert any(v in GREASE_VALUES for v in values)
    assert bundle.init_private.hex() not in repr(bundle)


def _bundle(**kw):
    cs = get_cipher_suite(1)
    priv, _ = cs.generate_signature_key_pair()
    return cs, priv, create_key_package(cs, Credential.basic(b"alice"), priv, **kw)


def test_bad_signature_refused():
    cs, _, b = _bundle()
    kp = b.key_package
    kp.signature = bytes(len(kp.signature))
    with pytest.raises(VerificationError):
        validate_key_package(kp)


def test_leaf_signature_refused():
    cs, priv, b = _bundle()
    kp = b.key_package
    kp.leaf_node.credential = Credential.basic(b"mallory")
    kp.sign(cs, priv)  # outer signature fine, leaf signature now stale
    with pytest.raises(VerificationError, match="LeafNode"):
        validate_key_package(kp)


def test_expired_and_overlong_lifetimes():
    _, _, b = _bundle(not_before=int(time.time()) - 10 * 86400, lifetime_seconds=3600)
    with pytest.raises(ProtocolError, match="expired"):
        validate_key_package(b.key_package)
    _, _, b = _bundle(lifetime_seconds=3 * 86400)
    validate_key_package(b.key_package)
    with pytest.raises(ProtocolError, match="exceeds"):
        validate_key_package(b.key_package, max_lifetime=86400)


def test_init_key_equal_to_leaf_key_refused():
    cs, priv, b = _bundle()
    kp = b.key_package
    kp.init_key = kp.leaf_node.encryption_key
    kp.sign(cs, priv)
    with pytest.raises(ProtocolError, match="init_key"):
        validate_key_package(kp)


def test_wrong_suite_for_group():
    _, _, b = _bundle()
    with pytest.raises(ProtocolError, match="cipher suite"):
        validate_key_package(b.key_package, cipher_suite=2)


def test_truncated_key_package_is_decode_error():
    _, _, b = _bundle()
    data = b.key_package.serialize()
    for cut in range(0, len(data), 7):
        with pytest.raises(DecodeError):
            KeyPackage.deserialize(data[:cut])


def test_expected_identity_policy():
    _, _, b = _bundle()
    validate_key_package(b.key_package, policy=ExpectedIdentity(b"alice"))
    with pytest.raises(CredentialError):
        validate_key_package(b.key_package, policy=ExpectedIdentity(b"bob"))


@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_x509_credential(suite):
    cs = get_cipher_suite(suite)
    ca = TestCA()
    priv, _ = cs.generate_signature_key_pair()
    cred = Credential.x509([ca.issue(cs, priv, "server.test")])
    kp = create_key_package(cs, cred, priv).key_package
    policy = X509Policy([ca.cert], server_name="server.test")
    validate_key_package(kp, policy=policy)
    with pytest.raises(CertificateError):
        validate_key_package(kp, policy=X509Policy([ca.cert], server_name="other.test"))
    with pytest.raises(CertificateError):
        validate_key_package(kp, policy=X509Policy([TestCA().cert], server_name="server.test"))
    # A certificate for another key is refused whatever the policy.
    other, _ = cs.generate_signature_key_pair()
    bad = create_key_package(cs, Credential.x509([ca.issue(cs, other, "server.test")]), priv)
    with pytest.raises(CertificateError, match="end-entity key"):
        validate_key_package(bad.key_package, policy=AcceptAnyCredential())


def test_grease_values_are_uniform_over_all_fifteen():
    from collections import Counter

    from tlslite_mls.mls.keypackage import _grease_values
    draws = Counter(_grease_values(3000))
    assert sum(draws.values()) == 3000 and set(draws) == set(GREASE_VALUES)
    assert min(draws.values()) > 100  # 200 expected each; a biased pick would show
    caps = create_key_package(get_cipher_suite(1), Credential.basic(b"a"),
                              get_cipher_suite(1).generate_signature_key_pair()[0]
                              ).key_package.leaf_node.capabilities
    for values in (caps.cipher_suites, caps.extensions, caps.proposals, caps.credentials):
        assert sum(v in GREASE_VALUES for v in values) == 1


def test_decoded_key_package_keeps_its_bytes_until_a_field_changes():
    cs, priv, b = _bundle()
    wire = b.key_package.serialize()
    kp = KeyPackage.deserialize(wire)
    assert kp.serialize() == wire
    assert kp.tbs() == wire[:len(wire) - 64 - 2]  # a 64-byte signature, 2-byte length
    assert kp.ref(cs) == cs.ref_hash("MLS 1.0 KeyPackage Reference", wire)
    assert validate_key_package(kp) is cs
    # The leaf's signed content is the received bytes too.
    assert kp.leaf_node._content == KeyPackage.deserialize(wire).leaf_node.tbs()
    kp.signature = bytes(len(kp.signature))  # assignment drops the cached encoding
    assert kp.serialize() != wire and kp.serialize()[:-64] == wire[:-64]
    with pytest.raises(VerificationError):
        validate_key_package(kp)
    kp.init_key = cs.generate_hpke_key_pair()[1]
    kp.sign(cs, priv)
    assert KeyPackage.deserialize(kp.serialize()) == kp
    assert validate_key_package(KeyPackage.deserialize(kp.serialize())) is cs
