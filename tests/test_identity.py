"""Identity files: round trips for every signature scheme, x509-backed identities,
the exported public side, OpenSSL reading the key, and every bad file refused."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from helpers import require
from pki import CA_KEY_FOR_SCHEME, TestCA
from tlslite_mls.identity import (IdentityFileError, generate_identity, load_identity,
                                  load_public_identity, public_identity_pem)
from tlslite_mls.mls.auth import CredentialContext, X509Policy, authenticate
from tlslite_mls.mls.constants import CredentialType
from tlslite_mls.mls.crypto import get_cipher_suite

SCHEME_SUITES = [0x0001, 0x0002, 0x0004, 0x0005, 0x0007, 0xF009, 0xF00A, 0xF00B]


@pytest.mark.parametrize("suite", SCHEME_SUITES)
def test_basic_identity_round_trip(suite):
    ident = generate_identity(suite, "alice")
    again = load_identity(ident.to_pem())
    assert again.cipher_suite == suite and again.credential == ident.credential
    assert again.signature_key.private_bytes == ident.signature_key.private_bytes
    pub = load_public_identity(public_identity_pem(ident.public()))
    assert pub == ident.public() and pub.identity == b"alice"
    assert load_public_identity(ident.to_pem()) == pub  # an identity file pins too
    assert "PRIVATE" not in repr(ident) and ident.signature_key.private_bytes.hex() \
        not in repr(ident)


@pytest.mark.parametrize("suite", SCHEME_SUITES)
def test_x509_identity_from_a_test_ca_validates(suite):
    """keygen's x509 identities carry a chain that the x509 policy accepts, for every
    signature scheme, under a CA of the same key type with an intermediate."""
    cs = get_cipher_suite(suite)
    root = TestCA(key_type=CA_KEY_FOR_SCHEME[cs.signature.name])
    inter = root.intermediate()
    ca_pem = b"".join(c.public_bytes(Encoding.PEM) for c in inter.chain)
    ident = load_identity(generate_identity(suite, "server.test", ca_pem, inter.key_pem())
                          .to_pem())
    assert ident.credential.credential_type == CredentialType.X509
    assert len(ident.credential.certificates) == 2  # end entity + intermediate, no root
    for role in ("server", "client"):
        authenticate(X509Policy([root.cert], server_name="server.test", purpose=role),
                     ident.credential, CredentialContext(cs, ident.public_key, role))
    assert ident.name == b"server.test"


def test_identity_private_key_is_pkcs8_that_openssl_reads(tmp_path):
    openssl = shutil.which("openssl")
    require(openssl is not None, "the openssl command-line tool")
    for suite in (0x0001, 0x0004, 0x0005):
        path = tmp_path / f"id{suite}.pem"
        path.write_bytes(generate_identity(suite, "x").to_pem())
        r = subprocess.run([openssl, "pkey", "-in", str(path), "-noout"], capture_output=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr


def test_bad_identity_files_are_refused_with_the_reason(tmp_path):
    good = generate_identity(0x0001, "alice").to_pem()
    other = generate_identity(0x0004, "bob").to_pem()
    def key(pem):
        return pem[pem.index(b"-----BEGIN PRIVATE KEY"):pem.index(b"-----BEGIN MLS")]

    def rest(pem):
        return pem[pem.index(b"-----BEGIN MLS"):]
    cases = {
        b"": "expected one MLS IDENTITY block, found 0",
        b"\xff\xfe": "not a PEM text file",
        rest(good): "expected one PRIVATE KEY block",
        good.replace(b"AAEAAQ", b"AAEAA!"): "not valid base64",
        key(other) + rest(good): "the private key is ed448",  # Ed448 key, Ed25519 suite
        good + good: "expected one MLS IDENTITY block, found 2",
    }
    for data, reason in cases.items():
        with pytest.raises(IdentityFileError, match=reason):
            load_identity(data)
    with pytest.raises(IdentityFileError, match="cannot read"):
        load_identity(tmp_path / "missing.pem")
    with pytest.raises(IdentityFileError, match="MLS PUBLIC IDENTITY"):
        load_public_identity(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_x509_identity_with_a_key_that_is_not_the_certificate_key_is_refused():
    ca = TestCA()
    a = generate_identity(0x0002, "a.test", ca.pem(), ca.key_pem())
    b = generate_identity(0x0002, "b.test")
    a_pem, b_pem = a.to_pem(), b.to_pem()
    mixed = b_pem[:b_pem.index(b"-----BEGIN MLS")] + a_pem[a_pem.index(b"-----BEGIN MLS"):]
    with pytest.raises(IdentityFileError, match="does not fit the key"):
        load_identity(mixed)
    with pytest.raises(IdentityFileError, match="does not belong"):
        generate_identity(0x0002, "c.test", ca.pem(), TestCA().key_pem())
