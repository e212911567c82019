"""TLS certificates for classic-TLS fallback: load a PEM pair, or make a throw-away one.

Used by the context API and the command line; the one-line explanations of a bad
pair (missing file, not PEM, ``--cert``/``--key`` swapped) live here so both give
the same reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from tlslite import X509CertChain, parsePEMKey

__all__ = ["TLSIdentity", "load_tls_identity", "load_tls_identity_files",
           "throwaway_tls_identity"]


@dataclass
class TLSIdentity:
    """A TLS certificate chain and key in tlslite-ng's types."""

    chain: X509CertChain
    key: Any


def load_tls_identity(cert_pem: str, key_pem: str) -> TLSIdentity:
    """The chain and key from PEM text; ``ValueError`` saying which part is wrong."""
    if "PRIVATE KEY" in cert_pem and "CERTIFICATE" in key_pem:
        raise ValueError("the certificate and key look swapped (the certificate file holds "
                         "a private key, the key file a certificate)")
    chain = X509CertChain()
    try:
        chain.parsePemList(cert_pem)
    except Exception as exc:  # noqa: BLE001 - tlslite-ng raises SyntaxError and others
        raise ValueError(f"no PEM certificate in the certificate file ({exc or 'empty'})"
                         ) from None
    if not chain.x509List:
        raise ValueError("no PEM certificate in the certificate file")
    try:
        key = parsePEMKey(key_pem, private=True)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"no PEM private key in the key file ({exc or 'unreadable'})"
                         ) from None
    return TLSIdentity(chain, key)


def load_tls_identity_files(cert_path: str, key_path: str) -> TLSIdentity:
    """:func:`load_tls_identity` of two files; ``ValueError`` naming the file."""
    texts = []
    for path in (cert_path, key_path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.append(f.read())
        except OSError as exc:
            raise ValueError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        return load_tls_identity(*texts)
    except ValueError as exc:
        raise ValueError(f"{cert_path} / {key_path}: {exc}") from None


def throwaway_tls_identity(name: str = "localhost") -> TLSIdentity:
    """A self-signed ECDSA P-256 certificate, for classic-TLS fallback only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return load_tls_identity(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode())
