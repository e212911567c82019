"""The server certificate check of a client that ends up with classic TLS.

A client that offered MLS and falls back to classic TLS (or never offered it, mode
``off``) has only the server's certificate to authenticate the server. docs/profile.md
section 10 asks for what Python's ``ssl.create_default_context()`` does: the chain
must lead to a trust anchor (the system store unless the application names its
own), every certificate must be valid now, and the end-entity certificate must
carry the server's name or IP address in its subjectAltName (no common-name
fallback). ``cryptography``'s verifier does the validation; this module picks the
anchors, the reference identity, and the alert of docs/profile.md section 4 for a
failure: ``unknown_ca`` when no anchor issued the chain, ``certificate_expired``
for a certificate past its validity, ``bad_certificate`` for anything else.

Two things ``cryptography``'s Web PKI profile refuses and ``ssl`` accepts are
accepted: an end-entity certificate without authorityKeyIdentifier (as OpenSSL
outside its strict mode, so a self-signed server certificate named as its own
trust anchor works), and Ed25519/Ed448 keys or signatures in the chain, which go
to the project's RFC 5280 validator (:mod:`tlslite_mls.mls.x509chain`) instead.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import os
import re
import ssl
import threading
import warnings
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification as x509v
from tlslite.constants import AlertDescription

__all__ = ["ServerCertificateError", "TrustAnchors", "anchors_from", "system_trust_anchors",
           "reference_identity", "verify_server_certificate"]

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_LOAD_LOCK = threading.Lock()

ReferenceIdentity = Union[x509v.DNSName, x509v.IPAddress]


class ServerCertificateError(Exception):
    """The server's certificate failed validation.

    :ivar alert: the ``AlertDescription`` sent to the server (docs/profile.md section 4).
    :ivar reason: what was wrong, one line.
    """

    def __init__(self, alert: int, reason: str) -> None:
        super().__init__(reason)
        self.alert = alert
        self.reason = reason


@dataclass(frozen=True)
class TrustAnchors:
    """Trust anchors ready for the verifier, and how a summary names them."""

    certificates: tuple
    store: x509v.Store
    source: str

    def __len__(self) -> int:
        return len(self.certificates)


def anchors_from(certificates: Sequence[x509.Certificate], source: Optional[str] = None
                 ) -> TrustAnchors:
    """Anchors named by the application (``trust_anchors`` of the client settings)."""
    certs = tuple(certificates)
    if not certs:
        raise ValueError("at least one trust anchor is needed")
    n = len(certs)
    return TrustAnchors(certs, x509v.Store(list(certs)),
                        source or f"{n} trust anchor{'s' if n != 1 else ''}")


def system_trust_anchors() -> TrustAnchors:
    """The system's CA certificates, where ``ssl.get_default_verify_paths()`` says.

    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` are honoured as OpenSSL honours them. Loaded
    once per (file, directory) and shared by every connection of the process.
    Raises :class:`ServerCertificateError` when no CA certificate is found.
    """
    paths = ssl.get_default_verify_paths()
    return _load_system_anchors(paths.cafile, paths.capath)


@functools.lru_cache(maxsize=4)
def _load_system_anchors(cafile: Optional[str], capath: Optional[str]) -> TrustAnchors:
    files = [cafile] if cafile else []
    if not files and capath and os.path.isdir(capath):
        files = sorted(os.path.join(capath, f) for f in os.listdir(capath))
    with _LOAD_LOCK:
        certs = _load_pem_files(f for f in files if os.path.isfile(f))
    if not certs:
        raise ServerCertificateError(
            AlertDescription.unknown_ca,
            "no system trust store found (SSL_CERT_FILE/SSL_CERT_DIR, or "
            f"{ssl.get_default_verify_paths().openssl_cafile}): name trust anchors, "
            "or make the connection insecure")
    return TrustAnchors(tuple(certs), x509v.Store(certs),
                        f"the system trust store ({cafile or capath})")


def _load_pem_files(paths: Iterable[str]) -> list:
    """Every certificate that parses in the PEM files; the others are skipped (as OpenSSL
    does with a CA bundle), and so are cryptography's warnings about old encodings."""
    seen: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for path in paths:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for block in _PEM_BLOCK.findall(data):
                try:
                    cert = x509.load_pem_x509_certificate(block)
                except ValueError:
                    continue
                seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return list(seen.values())


def reference_identity(name: str) -> ReferenceIdentity:
    """The identity the certificate must carry: an IP address, or a DNS name (an
    internationalised name in its A-label form, as ``ssl`` sends it)."""
    try:
        return x509v.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    try:
        return x509v.DNSName(name.rstrip(".").encode("idna").decode("ascii"))
    except (ValueError, UnicodeError):
        raise _not_a_name(name) from None


def _not_a_name(name: str) -> ServerCertificateError:
    return ServerCertificateError(AlertDescription.bad_certificate,
                                  f"{name!r} is neither a DNS name nor an IP address")


def verify_server_certificate(chain_der: Sequence[bytes], anchors: TrustAnchors, name: str,
                              now: Optional[datetime.datetime] = None) -> None:
    """Validate the server's chain for ``name``; :class:`ServerCertificateError` if not.

    ``chain_der``: the end-entity certificate first, then what the server sent to
    help build the path (order does not matter).
    """
    if not chain_der:
        raise ServerCertificateError(AlertDescription.decode_error,
                                     "the server sent an empty Certificate message")
    try:
        chain = [x509.load_der_x509_certificate(bytes(d)) for d in chain_der]
    except ValueError as e:
        raise ServerCertificateError(AlertDescription.bad_certificate,
                                     f"server certificate does not parse: {e}") from None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ident = reference_identity(name)
    try:
        _verifier(anchors.store, ident, now)  # cryptography checks the name's syntax here
    except ValueError:
        raise _not_a_name(name) from None
    if _uses_eddsa(chain):
        _verify_eddsa(chain, anchors, name, now)
        return
    error = _verify(chain, anchors, ident, now)
    if error is not None:
        raise ServerCertificateError(*_diagnose(chain, anchors, name, now, error))


_EDDSA_SIGNATURES = (x509.SignatureAlgorithmOID.ED25519, x509.SignatureAlgorithmOID.ED448)


def _uses_eddsa(chain: list) -> bool:
    return any(isinstance(c.public_key(), (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
               or c.signature_algorithm_oid in _EDDSA_SIGNATURES for c in chain)


# x509chain's reasons as docs/profile.md section 4 alerts; the rest are bad_certificate.
_ALERT_OF_REASON = {"unknown_issuer": AlertDescription.unknown_ca,
                    "expired": AlertDescription.certificate_expired}


def _verify_eddsa(chain: list, anchors: TrustAnchors, name: str,
                  now: datetime.datetime) -> None:
    """The chain with EdDSA in it, which ``cryptography``'s verifier refuses outright."""
    from ..mls.x509chain import ChainError, verify_chain
    try:
        verify_chain(chain, anchors.certificates, now=now, name=name, purpose="server")
    except ChainError as e:
        alert = _ALERT_OF_REASON.get(e.reason, AlertDescription.bad_certificate)
        raise ServerCertificateError(alert, f"server certificate not accepted: {e} "
                                            f"(checked against {anchors.source})") from None


def _verifier(store: x509v.Store, ident: ReferenceIdentity,
              now: Optional[datetime.datetime]) -> x509v.ServerVerifier:
    builder = (x509v.PolicyBuilder().store(store)
               .extension_policies(ca_policy=x509v.ExtensionPolicy.webpki_defaults_ca(),
                                   ee_policy=_EE_POLICY))
    return (builder.time(now) if now is not None else builder).build_server_verifier(ident)


def _verify(chain: list, anchors: TrustAnchors, ident: ReferenceIdentity,
            now: datetime.datetime) -> Optional[str]:
    """None if the chain validates for ``ident``, else cryptography's reason."""
    try:
        _verifier(anchors.store, ident, now).verify(chain[0], chain[1:])
    except (x509v.VerificationError, ValueError) as e:
        return str(e)
    return None


def _diagnose(chain: list, anchors: TrustAnchors, name: str, now: datetime.datetime,
              error: str) -> tuple[int, str]:
    """(alert, reason) for a chain that failed, as OpenSSL would classify it: an
    unknown issuer first, then validity dates, then the name."""
    leaf = chain[0]
    path = _path_to_anchor(chain, anchors)
    subject = leaf.subject.rfc4514_string() or "(empty subject)"
    if path is None:
        if leaf.issuer == leaf.subject:
            why = f"self-signed certificate {subject!r} is not a trust anchor"
        else:
            why = (f"certificate {subject!r} is issued by {leaf.issuer.rfc4514_string()!r}, "
                   "which no trust anchor vouches for")
        return AlertDescription.unknown_ca, f"server certificate not trusted: {why} " \
                                            f"(checked against {anchors.source})"
    for cert in path:
        who = cert.subject.rfc4514_string()
        if now > cert.not_valid_after_utc:
            return (AlertDescription.certificate_expired,
                    f"server certificate {who!r} expired on "
                    f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC")
        if now < cert.not_valid_before_utc:
            return (AlertDescription.bad_certificate,
                    f"server certificate {who!r} is not valid before "
                    f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC")
    names = _san_names(leaf)
    if not any(_verify(chain, anchors, alt, now) is None for alt in _probes(names)):
        # The chain fails whatever the name: a reason other than the name.
        return AlertDescription.bad_certificate, f"server certificate does not validate: {error}"
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return (AlertDescription.bad_certificate,
            f"server certificate is not valid for {name!r} (it names {shown})")


def _path_to_anchor(chain: list, anchors: TrustAnchors) -> Optional[list]:
    """The certificates from the leaf up to an anchor, matched by name; None if the
    issuers lead to no anchor. Only for choosing the alert: the verifier decides."""
    path = [chain[0]]
    pool = chain[1:]
    for _ in range(len(chain) + 1):
        cur = path[-1]
        if cur in anchors.certificates:
            return path
        issuer = next((a for a in anchors.certificates if a.subject == cur.issuer), None)
        if issuer is not None:
            return path + [issuer]
        nxt = next((c for c in pool if c.subject == cur.issuer and c not in path), None)
        if nxt is None:
            return None
        path.append(nxt)
    return None


def _san_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in san if isinstance(n, (x509.DNSName, x509.IPAddress))]


def _probes(names: list[str]) -> list[ReferenceIdentity]:
    """Reference identities the certificate does carry (a wildcard filled in), to tell
    a name mismatch from a chain that fails for another reason."""
    out: list[ReferenceIdentity] = []
    for n in names[:5]:
        try:
            out.append(reference_identity(n.replace("*", "probe", 1)))
        except ServerCertificateError:
            continue
    return out


# cryptography's Web PKI end-entity profile, authorityKeyIdentifier optional (see above).
_EE_POLICY = x509v.ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.AuthorityKeyIdentifier, x509v.Criticality.NON_CRITICAL, None)
