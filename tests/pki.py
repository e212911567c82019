"""A throw-away test PKI: a CA and end-entity certificates for any MLS signature scheme."""

from __future__ import annotations

import datetime
import ipaddress
from typing import Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlslite_mls.mls.crypto import CipherSuite


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


_CA_KEYS = {
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "p521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate,
    "ed448": ed448.Ed448PrivateKey.generate,
    "mldsa44": mldsa.MLDSA44PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
}

# The CA key type that matches each MLS signature scheme (a CA of the suite's own kind).
CA_KEY_FOR_SCHEME = {"ed25519": "ed25519", "ed448": "ed448", "ecdsa_secp256r1_sha256": "p256",
                     "ecdsa_secp384r1_sha384": "p384", "ecdsa_secp521r1_sha512": "p521",
                     "mldsa44": "mldsa44", "mldsa65": "mldsa65", "mldsa87": "mldsa87"}


def _sign_hash(key):
    if not isinstance(key, ec.EllipticCurvePrivateKey):  # EdDSA, ML-DSA: no separate hash
        return None
    return {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]


class TestCA:
    """A CA (root, or intermediate with ``parent``) that issues end-entity certificates.

    ``key_type``: p256 (default), p384, p521, ed25519 or ed448. ``path_length``,
    ``ca`` (basicConstraints cA), ``key_cert_sign``, and the validity window
    (``not_before``/``not_after`` as offsets from now) make broken CAs for refusal tests.
    """

    __test__ = False

    def __init__(self, name: str = "tlslite_mls test CA", key_type: str = "p256",
                 parent: "TestCA | None" = None, path_length: "int | None" = None,
                 ca: bool = True, key_cert_sign: bool = True,
                 not_before: datetime.timedelta = datetime.timedelta(days=-1),
                 not_after: datetime.timedelta = datetime.timedelta(days=30)) -> None:
        self.key = _CA_KEYS[key_type]()
        self.name = name
        now = datetime.datetime.now(datetime.timezone.utc)
        signer = parent.key if parent else self.key
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name)).issuer_name(parent.cert.subject if parent else _name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + not_before)
            .not_valid_after(now + not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                           critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, key_cert_sign, True,
                                         False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False))
        if parent:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                critical=False)
        self.cert = builder.sign(signer, _sign_hash(signer))
        self.chain = [self.cert] + (parent.chain if parent else [])  # up to the root

    def intermediate(self, name: str = "tlslite_mls test intermediate", **kw) -> "TestCA":
        return TestCA(name, parent=self, **kw)

    def issue_cert(self, public_key, dns_name: "str | None", server: "bool | None" = True,
                   not_before: datetime.timedelta = datetime.timedelta(hours=-1),
                   not_after: datetime.timedelta = datetime.timedelta(days=7),
                   ca: bool = False, names: "list | None" = None) -> x509.Certificate:
        """A certificate for ``public_key``; ``server=None`` leaves out extendedKeyUsage,
        ``names`` replaces the subjectAltName entries made from ``dns_name``."""
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_name or "no name")).issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + not_before)
            .not_valid_after(now + not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False))
        san = names if names is not None else ([x509.DNSName(dns_name)] if dns_name else [])
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        if server is not None:
            eku = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        return builder.sign(self.key, _sign_hash(self.key))

    def issue(self, cs: CipherSuite, signature_private: bytes, dns_name: str,
              server: bool = True, **kw) -> bytes:
        """DER certificate for the MLS signature key ``signature_private`` of suite ``cs``."""
        pub = load_private(cs, signature_private).public_key()
        return self.issue_cert(pub, dns_name, server, **kw).public_bytes(
            serialization.Encoding.DER)

    def credential_chain(self, cs: CipherSuite, signature_private: bytes, dns_name: str,
                         server: bool = True, **kw) -> list[bytes]:
        """DER chain for an x509 MLS credential: the end entity, then the CAs up to the
        root's child (the root is the trust anchor)."""
        leaf = self.issue(cs, signature_private, dns_name, server, **kw)
        return [leaf] + [c.public_bytes(serialization.Encoding.DER) for c in self.chain[:-1]]

    def pem(self) -> bytes:
        return self.chain[-1].public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


    def issue_tls(self, names: Sequence[str] = ("localhost", "127.0.0.1"),
                  key_type: str = "p256", **kw) -> tuple:
        """(certificate, key) of a TLS server for ``names`` (DNS names or IP addresses,
        in the subjectAltName); ``key_type`` as for the CA, ``kw`` as for
        :meth:`issue_cert`."""
        key = _CA_KEYS[key_type]()
        cert = self.issue_cert(key.public_key(), names[0],
                               names=[_general_name(n) for n in names], **kw)
        return cert, key


def self_signed_tls(names: Sequence[str] = ("localhost", "127.0.0.1")):
    """(certificate, key) of a self-signed TLS server certificate for ``names``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0])).issuer_name(_name(names[0]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]),
                       critical=False)
        .sign(key, hashes.SHA256()))
    return cert, key


def pem_pair(cert, key) -> tuple[str, str]:
    """(certificate PEM, PKCS#8 key PEM)."""
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def load_private(cs: CipherSuite, raw: bytes):
    from tlslite_mls.identity import private_key_object
    return private_key_object(cs, raw)


class Refuse:
    """An authentication policy that refuses the credentials ``predicate`` picks."""

    def __init__(self, predicate) -> None:
        self.predicate = predicate

    def authenticate(self, credential, context) -> None:
        from tlslite_mls.mls.errors import CredentialError
        if self.predicate(credential):
            raise CredentialError("refused by the test policy")
