"""x509 MLS credentials: chain validation for every signature scheme the suites use,
each refusal on its own, and the verdicts cross-checked with ``openssl verify``."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from helpers import require
from pki import CA_KEY_FOR_SCHEME, TestCA
from tlslite_mls.mls.auth import CredentialContext, X509Policy, authenticate
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.x509chain import ChainError, verify_chain

DAY = datetime.timedelta(days=1)
# One suite per signature scheme: Ed25519, P-256, Ed448, P-521, P-384.
SCHEME_SUITES = [0x0001, 0x0002, 0x0004, 0x0005, 0x0007]


@pytest.mark.parametrize("suite", SCHEME_SUITES)
def test_x509_credential_accepted_for_every_signature_scheme(suite):
    """A CA of the suite's own key type, an intermediate and an end entity whose key is
    the MLS signature key: accepted for the right name, refused for another."""
    cs = get_cipher_suite(suite)
    root = TestCA(key_type=CA_KEY_FOR_SCHEME[cs.signature.name])
    inter = root.intermediate(key_type=CA_KEY_FOR_SCHEME[cs.signature.name])
    priv, pub = cs.generate_signature_key_pair()
    cred = Credential.x509(inter.credential_chain(cs, priv, "server.test"))
    ctx = CredentialContext(cs, pub, "server")
    authenticate(X509Policy([root.cert], server_name="server.test"), cred, ctx)
    with pytest.raises(ChainError) as e:
        authenticate(X509Policy([root.cert], server_name="other.test"), cred, ctx)
    assert e.value.reason == "name_mismatch"


@pytest.mark.parametrize("suite", SCHEME_SUITES)
def test_x509_ed_leaf_under_ecdsa_root_and_the_reverse(suite):
    """Mixed chains: an ECDSA root over any end-entity key type, and an Ed25519 root."""
    cs = get_cipher_suite(suite)
    priv, pub = cs.generate_signature_key_pair()
    for key_type in ("p256", "ed25519"):
        root = TestCA(key_type=key_type)
        cred = Credential.x509([root.issue(cs, priv, "server.test")])
        authenticate(X509Policy([root.cert], server_name="server.test"), cred,
                     CredentialContext(cs, pub, "server"))


# ----------------------------------------------------------------------------
# each refusal
# ----------------------------------------------------------------------------
def _leaf_key():
    return ed25519.Ed25519PrivateKey.generate().public_key()


def _check(chain, anchors, name="server.test", purpose="server"):
    return verify_chain(chain, anchors, name=name, purpose=purpose)


def _refused(reason, chain, anchors, **kw):
    with pytest.raises(ChainError) as e:
        _check(chain, anchors, **kw)
    assert e.value.reason == reason, str(e.value)
    return e.value


@pytest.fixture(scope="module")
def root():
    return TestCA(key_type="ed25519")


def test_chain_refused_for_wrong_issuer(root):
    other = TestCA("another CA", key_type="ed25519")
    leaf = other.issue_cert(_leaf_key(), "server.test")
    err = _refused("unknown_issuer", [leaf], [root.cert])
    assert "not a trust anchor" in str(err)


def test_chain_refused_for_expired_end_entity(root):
    leaf = root.issue_cert(_leaf_key(), "server.test", not_before=-10 * DAY, not_after=-DAY)
    _refused("expired", [leaf], [root.cert])


def test_chain_refused_for_not_yet_valid_end_entity(root):
    leaf = root.issue_cert(_leaf_key(), "server.test", not_before=DAY, not_after=10 * DAY)
    _refused("not_yet_valid", [leaf], [root.cert])


def test_chain_refused_for_expired_intermediate(root):
    inter = root.intermediate(key_type="ed25519", not_before=-10 * DAY, not_after=-DAY)
    leaf = inter.issue_cert(_leaf_key(), "server.test")
    _refused("expired", [leaf, inter.cert], [root.cert])


def test_chain_refused_for_expired_trust_anchor():
    old = TestCA(key_type="ed25519", not_before=-10 * DAY, not_after=-DAY)
    leaf = old.issue_cert(_leaf_key(), "server.test")
    _refused("expired", [leaf], [old.cert])


def test_chain_refused_for_non_ca_intermediate(root):
    inter = root.intermediate(key_type="ed25519", ca=False)
    leaf = inter.issue_cert(_leaf_key(), "server.test")
    _refused("not_a_ca", [leaf, inter.cert], [root.cert])


def test_chain_refused_for_intermediate_without_key_cert_sign(root):
    inter = root.intermediate(key_type="ed25519", key_cert_sign=False)
    leaf = inter.issue_cert(_leaf_key(), "server.test")
    _refused("key_usage", [leaf, inter.cert], [root.cert])


def test_chain_refused_beyond_path_length():
    top = TestCA(key_type="ed25519", path_length=0)
    inter = top.intermediate(key_type="ed25519")
    leaf = inter.issue_cert(_leaf_key(), "server.test")
    _refused("path_length", [leaf, inter.cert], [top.cert])
    # Within the limit: the end entity directly under the root.
    _check([top.issue_cert(_leaf_key(), "server.test")], [top.cert])


def test_chain_refused_for_wrong_name(root):
    leaf = root.issue_cert(_leaf_key(), "server.test")
    _refused("name_mismatch", [leaf], [root.cert], name="evil.test")
    # The subject CN is never used as a name: no SAN, no match.
    bare = root.issue_cert(_leaf_key(), "server.test", names=[])
    _refused("name_mismatch", [bare], [root.cert])


def test_chain_refused_for_bad_signature(root):
    """A certificate that names the anchor as issuer but is signed by another key."""
    impostor = TestCA(root.name, key_type="ed25519")  # same name, different key
    leaf = impostor.issue_cert(_leaf_key(), "server.test")
    _refused("bad_signature", [leaf], [root.cert])
    inter = root.intermediate(key_type="ed25519")
    fake_inter = TestCA(inter.name, key_type="ed25519")
    leaf = fake_inter.issue_cert(_leaf_key(), "server.test")
    _refused("bad_signature", [leaf, inter.cert], [root.cert])


def test_chain_refused_for_wrong_purpose(root):
    client_cert = root.issue_cert(_leaf_key(), "server.test", server=False)
    _refused("purpose", [client_cert], [root.cert], purpose="server")
    _check([client_cert], [root.cert], purpose="client")
    _check([root.issue_cert(_leaf_key(), "server.test", server=None)], [root.cert])


def test_chain_refused_for_ca_end_entity(root):
    leaf = root.issue_cert(_leaf_key(), "server.test", ca=True)
    _refused("not_a_ca", [leaf], [root.cert])


def test_chain_refused_for_out_of_order_chain(root):
    inter = root.intermediate(key_type="ed25519")
    leaf = inter.issue_cert(_leaf_key(), "server.test")
    other = root.intermediate("unrelated intermediate", key_type="ed25519")
    _refused("unknown_issuer", [leaf, other.cert], [root.cert])


def test_chain_refused_for_unknown_critical_extension(root):
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(root.cert.subject)
            .issuer_name(root.cert.subject).public_key(_leaf_key())
            .serial_number(1).not_valid_before(now - DAY).not_valid_after(now + DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("server.test")]), False)
            .add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"),
                                                      b"\x05\x00"), critical=True)
            .sign(root.key, None))
    _refused("extension", [leaf], [root.cert])


def test_chain_name_rules(root):
    key = _leaf_key()
    wild = root.issue_cert(key, None, names=[x509.DNSName("*.example.test")])
    _check([wild], [root.cert], name="a.example.test")
    _check([wild], [root.cert], name="A.EXAMPLE.TEST.")
    for bad in ("example.test", "a.b.example.test"):
        _refused("name_mismatch", [wild], [root.cert], name=bad)
    ip = root.issue_cert(key, None, names=[x509.IPAddress(ipaddress.ip_address("192.0.2.7"))])
    _check([ip], [root.cert], name="192.0.2.7")
    _refused("name_mismatch", [ip], [root.cert], name="192.0.2.8")
    mail = root.issue_cert(key, None, names=[x509.RFC822Name("alice@example.test")],
                           server=False)
    _check([mail], [root.cert], name="alice@example.test", purpose="client")


def test_chain_end_entity_trusted_directly():
    """A self-signed end entity named as the trust anchor itself is accepted."""
    key = ed25519.Ed25519PrivateKey.generate()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "self")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - DAY).not_valid_after(now + DAY)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("server.test")]), False)
            .sign(key, None))
    assert _check([cert], [cert]) == [cert]
    _refused("unknown_issuer", [cert], [TestCA().cert])


# ----------------------------------------------------------------------------
# the same verdicts as OpenSSL
# ----------------------------------------------------------------------------
def _cases():
    """(label, chain, anchor) for accepted and refused Ed25519/ECDSA chains."""
    root = TestCA("cross root", key_type="ed25519")
    ec_root = TestCA("cross ec root", key_type="p384")
    inter = root.intermediate("cross intermediate", key_type="ed25519")
    key = _leaf_key()
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return [
        ("ok-direct", [root.issue_cert(key, "server.test")], root),
        ("ok-intermediate", [inter.issue_cert(key, "server.test"), inter.cert], root),
        ("ok-ecdsa", [ec_root.issue_cert(ec_key, "server.test")], ec_root),
        ("ok-ec-root-ed-leaf", [ec_root.issue_cert(key, "server.test")], ec_root),
        ("wrong-issuer", [TestCA("x", key_type="ed25519").issue_cert(key, "server.test")], root),
        ("expired", [root.issue_cert(key, "server.test", not_before=-9 * DAY,
                                     not_after=-DAY)], root),
        ("not-yet-valid", [root.issue_cert(key, "server.test", not_before=DAY,
                                           not_after=9 * DAY)], root),
        ("non-ca-intermediate", (lambda i: [i.issue_cert(key, "server.test"), i.cert])(
            root.intermediate("nonca", key_type="ed25519", ca=False)), root),
        ("path-length", (lambda t: (lambda i: [i.issue_cert(key, "server.test"), i.cert])(
            t.intermediate("pl", key_type="ed25519")))(root.intermediate(
                "pl0", key_type="ed25519", path_length=0)), root),
        ("wrong-name", [root.issue_cert(key, "evil.test")], root),
        ("bad-signature", [TestCA("cross root", key_type="ed25519").issue_cert(
            key, "server.test")], root),
        ("wrong-purpose", [root.issue_cert(key, "server.test", server=False)], root),
    ]


def test_chain_verdicts_match_openssl_verify(tmp_path):
    """Every case gets the same accept/refuse verdict from ``openssl verify`` (with
    -x509_strict, the sslserver purpose and the host name) as from verify_chain."""
    openssl = shutil.which("openssl")
    require(openssl is not None, "the openssl command-line tool")

    def pem(certs):
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)

    for label, chain, anchor in _cases():
        d = tmp_path / label
        d.mkdir()
        (d / "leaf.pem").write_bytes(pem(chain[:1]))
        (d / "untrusted.pem").write_bytes(pem(chain[1:]) or pem([]))
        (d / "ca.pem").write_bytes(pem([anchor.cert]))
        cmd = [openssl, "verify", "-x509_strict", "-purpose", "sslserver",
               "-verify_hostname", "server.test", "-CAfile", str(d / "ca.pem")]
        if chain[1:]:
            cmd += ["-untrusted", str(d / "untrusted.pem")]
        proc = subprocess.run(cmd + [str(d / "leaf.pem")], capture_output=True, timeout=60)
        theirs = proc.returncode == 0
        try:
            verify_chain(chain, [anchor.cert], name="server.test", purpose="server")
            ours = True
        except ChainError:
            ours = False
        assert ours == theirs, (label, proc.stdout, proc.stderr)
        assert ours == label.startswith("ok"), label
