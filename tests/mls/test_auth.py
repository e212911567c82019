"""Authentication policies: pinned keys, names, x509, and how each one describes itself."""

from __future__ import annotations

import pytest

from pki import TestCA
from tlslite_mls.mls.auth import (AcceptAnyCredential, CredentialContext, ExpectedIdentity,
                                  PinnedKey, PublicIdentity, X509Policy, authenticate,
                                  describe_policy, make_policy)
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import CredentialError

CS = get_cipher_suite(0x0001)


def _ident(name: bytes):
    priv, pub = CS.generate_signature_key_pair()
    return Credential.basic(name), pub


def test_pinned_key_refuses_an_impostor_that_claims_the_same_name():
    """A second peer with the expected name but its own key: the name check lets it
    through (and says it is a name only), the pinned key does not."""
    real_cred, real_key = _ident(b"server")
    fake_cred, fake_key = _ident(b"server")
    name_only = ExpectedIdentity(b"server")
    name_only.authenticate(fake_cred, CredentialContext(CS, fake_key))
    assert "name only, not verified" in describe_policy(name_only)
    pinned = PinnedKey([PublicIdentity(real_key, b"server")])
    authenticate(pinned, real_cred, CredentialContext(CS, real_key))
    with pytest.raises(CredentialError, match="not a pinned key"):
        authenticate(pinned, fake_cred, CredentialContext(CS, fake_key))
    assert "verified" in describe_policy(pinned) and "not verified" not in \
        describe_policy(pinned)


def test_pinned_key_checks_the_pinned_name_and_the_expected_identity():
    cred, key = _ident(b"server")
    with pytest.raises(CredentialError, match="pinned name"):
        PinnedKey([PublicIdentity(key, b"someone-else")]).authenticate(
            cred, CredentialContext(CS, key))
    with pytest.raises(CredentialError, match="pinned name"):
        PinnedKey([key], identity=b"other").authenticate(cred, CredentialContext(CS, key))
    PinnedKey([key]).authenticate(cred, CredentialContext(CS, key))  # key alone
    with pytest.raises(ValueError):
        PinnedKey([])


def test_pinned_key_keeps_the_identity_across_renewals():
    cred, key = _ident(b"server")
    policy = PinnedKey([key])
    with pytest.raises(CredentialError, match="different identity"):
        policy.authenticate(Credential.basic(b"other"),
                            CredentialContext(CS, key, previous=cred))


def test_make_policy_choices_and_refusals():
    ca = TestCA()
    _, key = _ident(b"x")
    assert make_policy("client") is None
    assert isinstance(make_policy("client", expected_identity=b"a"), ExpectedIdentity)
    p = make_policy("server", expected_identity=b"a", pinned_keys=[key])
    assert isinstance(p, PinnedKey) and p.identity == b"a"
    x = make_policy("client", trust_anchors=[ca.cert], expected_identity=b"c.test")
    assert isinstance(x, X509Policy) and x.server_name == "c.test" and x.purpose == "client"
    x = make_policy("server", trust_anchors=[ca.cert], x509_name="s.test")
    assert x.server_name == "s.test" and x.purpose == "server"
    any_ = AcceptAnyCredential()
    assert make_policy("client", auth_policy=any_) is any_
    with pytest.raises(ValueError, match="stands alone"):
        make_policy("client", auth_policy=any_, expected_identity=b"a")
    with pytest.raises(ValueError, match="not both"):
        make_policy("client", trust_anchors=[ca.cert], pinned_keys=[key])
    assert "NOT verified" in describe_policy(any_)
    assert "x509 chain verified" in describe_policy(x)
