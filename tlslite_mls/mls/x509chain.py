"""Validation of x509 MLS credentials: chain, validity, CA constraints, name.

Why not ``cryptography``'s verifier: it implements the CA/Browser Forum's Web PKI
profile, which forbids Ed25519 and Ed448 keys and signatures, while the default MLS
suites sign with Ed25519 and an x509 credential's end-entity key *is* the leaf's MLS
signature key (RFC 9420 section 5.3.1). So this module validates the chain itself, for
every signature scheme the suites use, following RFC 5280 section 6 where it applies
to a chain whose order RFC 9420 fixes (each certificate is signed by the next):

- every link's signature (``verify_directly_issued_by``: issuer name and signature),
  with SHA-1/MD5 signatures and RSA keys under 2048 bits refused;
- validity at ``now`` for every certificate, the trust anchor included;
- issuers: basicConstraints cA, pathLenConstraint, keyUsage keyCertSign;
  name constraints are refused rather than ignored (not implemented);
- the end entity: not a CA, keyUsage digitalSignature, extendedKeyUsage for the
  purpose when present, the name in subjectAltName (RFC 6125: DNS with a left-most
  wildcard label, IP address, or an e-mail address); the subject CN is not used;
- an unknown critical extension anywhere refuses the chain.

Every refusal is a :class:`ChainError` whose ``reason`` says which check failed.
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any, Optional, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, SignatureAlgorithmOID

from .errors import CredentialError

__all__ = ["CertificateError", "ChainError", "verify_chain", "name_matches", "MAX_CHAIN_DEPTH"]

MAX_CHAIN_DEPTH = 8

_SIGNATURE_ALGORITHMS = frozenset({
    SignatureAlgorithmOID.ED25519, SignatureAlgorithmOID.ED448,
    SignatureAlgorithmOID.ECDSA_WITH_SHA256, SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    SignatureAlgorithmOID.ECDSA_WITH_SHA512,
    SignatureAlgorithmOID.RSA_WITH_SHA256, SignatureAlgorithmOID.RSA_WITH_SHA384,
    SignatureAlgorithmOID.RSA_WITH_SHA512, SignatureAlgorithmOID.RSASSA_PSS,
    # RFC 9881: a fully post-quantum PKI for the ML-DSA suites (0xF009-0xF00B).
    SignatureAlgorithmOID.ML_DSA_44, SignatureAlgorithmOID.ML_DSA_65,
    SignatureAlgorithmOID.ML_DSA_87,
})

# Extensions this module processes (or that carry no constraint on the path).
_KNOWN_CRITICAL = frozenset({
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
})

_PURPOSES = {"server": ExtendedKeyUsageOID.SERVER_AUTH,
             "client": ExtendedKeyUsageOID.CLIENT_AUTH}


class CertificateError(CredentialError):
    """An x509 credential whose chain fails validation (TLS: ``bad_certificate``)."""


class ChainError(CertificateError):
    """A chain refused by :func:`verify_chain`; ``reason`` names the failed check:
    ``unknown_issuer``, ``bad_signature``, ``expired``, ``not_yet_valid``, ``not_a_ca``,
    ``path_length``, ``key_usage``, ``purpose``, ``name_mismatch``, ``extension``,
    ``algorithm`` or ``too_long``."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def _describe(cert: x509.Certificate) -> str:
    return repr(cert.subject.rfc4514_string() or "<empty subject>")


def _ext(cert: x509.Certificate, cls: type) -> Optional[x509.ExtensionType]:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def _check_common(cert: x509.Certificate, now: datetime.datetime) -> None:
    """Validity, signature algorithm and critical extensions: every certificate."""
    if now < cert.not_valid_before_utc:
        raise ChainError(f"certificate {_describe(cert)} is not valid before "
                         f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC",
                         reason="not_yet_valid")
    if now > cert.not_valid_after_utc:
        raise ChainError(f"certificate {_describe(cert)} expired on "
                         f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC", reason="expired")
    for ext in cert.extensions:
        if ext.critical and ext.oid not in _KNOWN_CRITICAL:
            raise ChainError(f"certificate {_describe(cert)} has the unsupported "
                             f"critical extension {ext.oid.dotted_string}", reason="extension")


def _check_issuer(cert: x509.Certificate, below: int) -> None:
    """``cert`` signs another certificate, with ``below`` intermediates under it."""
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None or not bc.ca:  # type: ignore[attr-defined]
        raise ChainError(f"certificate {_describe(cert)} issues certificates "
                         "but is not a CA (basicConstraints cA)", reason="not_a_ca")
    path_length = bc.path_length  # type: ignore[attr-defined]
    if path_length is not None and below > path_length:
        raise ChainError(f"CA {_describe(cert)} allows {path_length} "
                         f"intermediate(s) below it, the chain has {below}", reason="path_length")
    ku = _ext(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:  # type: ignore[attr-defined]
        raise ChainError(f"CA {_describe(cert)} may not sign certificates "
                         "(keyUsage without keyCertSign)", reason="key_usage")
    if _ext(cert, x509.NameConstraints) is not None:
        raise ChainError(f"CA {_describe(cert)} has name constraints, which "
                         "this validator does not implement (refused, not ignored)",
                         reason="extension")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise ChainError(f"CA {_describe(cert)} has a {key.key_size}-bit RSA key",
                         reason="algorithm")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (names must match; the algorithm must be allowed)."""
    if cert.signature_algorithm_oid not in _SIGNATURE_ALGORITHMS:
        raise ChainError(f"certificate {_describe(cert)} is signed with "
                         f"{cert.signature_algorithm_oid.dotted_string}, "
                         "which is not accepted", reason="algorithm")
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ChainError(f"cannot check the signature of {_describe(cert)}: {e}",
                         reason="algorithm") from None
    return True


def _check_end_entity(cert: x509.Certificate, name: Optional[str],
                      purpose: Optional[str]) -> None:
    bc = _ext(cert, x509.BasicConstraints)
    if bc is not None and bc.ca:  # type: ignore[attr-defined]
        raise ChainError(f"end-entity certificate {_describe(cert)} is a CA "
                         "certificate", reason="not_a_ca")
    ku = _ext(cert, x509.KeyUsage)
    if ku is not None and not ku.digital_signature:  # type: ignore[attr-defined]
        raise ChainError(f"certificate {_describe(cert)} may not sign "
                         "(keyUsage without digitalSignature)", reason="key_usage")
    eku = _ext(cert, x509.ExtendedKeyUsage)
    if purpose is not None and eku is not None:
        usages = list(eku)  # type: ignore[call-overload]
        if _PURPOSES[purpose] not in usages and \
                ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages:
            raise ChainError(f"certificate {_describe(cert)} is not for "
                             f"{purpose} authentication (extendedKeyUsage)", reason="purpose")
    if name is not None and not name_matches(cert, name):
        raise ChainError(f"certificate {_describe(cert)} is not valid for "
                         f"{name!r} (subjectAltName)", reason="name_mismatch")


def _dns_match(pattern: str, name: str) -> bool:
    pattern, name = pattern.rstrip(".").lower(), name.rstrip(".").lower()
    if not pattern.startswith("*."):
        return pattern == name
    rest = pattern[2:]
    head, _, tail = name.partition(".")
    # "*.example.com": exactly one label, and at least two labels after the wildcard.
    return bool(head) and tail == rest and "." in rest and "*" not in rest


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """Whether ``name`` (DNS name, IP address or e-mail address) is in ``cert``'s SAN."""
    san: Any = _ext(cert, x509.SubjectAlternativeName)
    if san is None:
        return False
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    if "@" in name:
        return name.lower() in (v.lower() for v in san.get_values_for_type(x509.RFC822Name))
    return any(_dns_match(p, name) for p in san.get_values_for_type(x509.DNSName))


def verify_chain(chain: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], *,
                 now: Optional[datetime.datetime] = None, name: Optional[str] = None,
                 purpose: Optional[str] = None,
                 max_depth: int = MAX_CHAIN_DEPTH) -> list[x509.Certificate]:
    """Validate ``chain`` (end entity first, each certificate signed by the next) up to
    one of ``anchors``; return the path, ending in the anchor.

    ``name``: the DNS name, IP or e-mail address the end entity must carry (``None``:
    not checked). ``purpose``: ``"server"`` or ``"client"``, checked against an
    extendedKeyUsage extension when the certificate has one. Raises :class:`ChainError`.
    """
    if not chain:
        raise ChainError("empty certificate chain", reason="unknown_issuer")
    if not anchors:
        raise ChainError("no trust anchors to validate against", reason="unknown_issuer")
    if purpose is not None and purpose not in _PURPOSES:
        raise ValueError(f"purpose must be 'server', 'client' or None, not {purpose!r}")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=datetime.timezone.utc)
    leaf = chain[0]
    _check_common(leaf, now)
    _check_end_entity(leaf, name, purpose)
    if any(leaf == a for a in anchors):
        return [leaf]  # the end entity itself is trusted (a pinned self-signed certificate)
    path = [leaf]
    current, bad_signature = leaf, False
    for depth in range(max_depth):
        below = depth  # intermediates between the next issuer and the end entity
        for anchor in anchors:
            if anchor.subject != current.issuer:
                continue
            if _signed_by(current, anchor):
                _check_common(anchor, now)
                _check_issuer(anchor, below)
                path.append(anchor)
                return path
            bad_signature = True
        if depth + 1 >= len(chain):
            if bad_signature:
                raise ChainError(f"the signature on {_describe(current)} "
                                 "does not verify with its issuer's key", reason="bad_signature")
            raise ChainError(f"certificate {_describe(current)} is issued "
                             f"by {current.issuer.rfc4514_string()!r}, which "
                             "is not a trust anchor", reason="unknown_issuer")
        issuer = chain[depth + 1]
        if issuer.subject != current.issuer:
            raise ChainError(f"certificate {_describe(current)} is not "
                             f"issued by the next one in the chain, "
                             f"{_describe(issuer)}", reason="unknown_issuer")
        if not _signed_by(current, issuer):
            raise ChainError(f"the signature on {_describe(current)} does "
                             f"not verify with the key of {_describe(issuer)}",
                             reason="bad_signature")
        _check_common(issuer, now)
        _check_issuer(issuer, below)
        path.append(issuer)
        current = issuer
    raise ChainError(f"no trust anchor within {max_depth} certificates", reason="too_long")
