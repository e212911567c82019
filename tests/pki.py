"""A throw-away test PKI: a CA and end-entity certificates for any MLS signature scheme."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlslite_mls.mls.crypto import CipherSuite


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _hash_for(key):
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


class TestCA:
    """An ECDSA P-256 root that issues end-entity certificates."""

    __test__ = False

    def __init__(self, name: str = "tlslite_mls test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))

    def issue(self, cs: CipherSuite, signature_private: bytes, dns_name: str,
              server: bool = True) -> bytes:
        """DER certificate for the MLS signature key ``signature_private`` of suite ``cs``."""
        pub = load_private(cs, signature_private).public_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        eku = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_name)).issuer_name(self.cert.subject)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.DER)


def load_private(cs: CipherSuite, raw: bytes):
    name = cs.signature.name
    if name == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    if name == "ed448":
        return ed448.Ed448PrivateKey.from_private_bytes(raw)
    curve = {"ecdsa_secp256r1_sha256": ec.SECP256R1(), "ecdsa_secp384r1_sha384": ec.SECP384R1(),
             "ecdsa_secp521r1_sha512": ec.SECP521R1()}[name]
    return ec.derive_private_key(int.from_bytes(raw, "big"), curve)


class Refuse:
    """An authentication policy that refuses the credentials ``predicate`` picks."""

    def __init__(self, predicate) -> None:
        self.predicate = predicate

    def authenticate(self, credential, context) -> None:
        from tlslite_mls.mls.errors import CredentialError
        if self.predicate(credential):
            raise CredentialError("refused by the test policy")
