"""Credential authentication: the "Authentication Service" of RFC 9420 section 5.3.

Every credential the core meets (in a KeyPackage, a Welcome's tree, an
UpdatePath leaf) passes through one :class:`AuthenticationPolicy`, so an
application decides in one place whom it accepts. Two checks are not
negotiable and happen before any policy runs (:func:`check_credential_binding`):
an x509 credential's end-entity key must be the leaf's signature key, and the
certificate chain must parse. Whether the chain is *trusted* is the policy's
business.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence

from cryptography import x509
from cryptography.x509 import verification as x509v

from .constants import CredentialType
from .credentials import Credential
from .crypto import CipherSuite
from .errors import CredentialError


class CertificateError(CredentialError):
    """An x509 credential whose chain fails validation (TLS: ``bad_certificate``)."""


@dataclass(frozen=True)
class CredentialContext:
    """What a policy may want to know about where a credential was seen."""

    cipher_suite: CipherSuite
    signature_key: bytes
    role: str = "peer"                     # "client", "server" or "peer"
    previous: Optional[Credential] = None  # set when a member replaces its leaf


class AuthenticationPolicy(Protocol):
    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Return if acceptable; raise :class:`CredentialError` otherwise."""


def load_x509_chain(credential: Credential) -> list[x509.Certificate]:
    if not credential.certificates:
        raise CertificateError("x509 credential without certificates")
    try:
        return [x509.load_der_x509_certificate(der) for der in credential.certificates]
    except ValueError as e:
        raise CertificateError(f"x509 credential does not parse: {e}") from None


def check_credential_binding(credential: Credential, cs: CipherSuite, signature_key: bytes) -> None:
    """The structural checks every credential passes, whatever the policy."""
    if credential.credential_type == CredentialType.BASIC:
        return
    if credential.credential_type == CredentialType.X509:
        leaf = load_x509_chain(credential)[0]
        try:
            cert_key = cs.signature.encode_public_key(leaf.public_key())
        except Exception as e:
            raise CertificateError(
                f"certificate key does not fit the suite's {cs.signature.name} scheme: {e}") from None
        if cert_key != signature_key:
            raise CertificateError("x509 end-entity key differs from the leaf's signature key")
        return
    raise CredentialError(f"unsupported credential type 0x{credential.credential_type:04x}")


def same_identity(a: Credential, b: Credential) -> bool:
    """Whether ``b`` names the same subject as ``a`` (successor check for leaf renewals)."""
    if a.credential_type != b.credential_type:
        return False
    if a.credential_type == CredentialType.BASIC:
        return a.identity == b.identity
    if a.certificates == b.certificates:
        return True
    ca, cb = load_x509_chain(a)[0], load_x509_chain(b)[0]
    return ca.subject == cb.subject and _san(ca) == _san(cb)


def _san(cert: x509.Certificate) -> list:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def credential_identity(credential: Credential) -> bytes:
    """A printable identity: the basic identity, or the end-entity's subject/SAN."""
    if credential.credential_type == CredentialType.BASIC:
        return credential.identity
    cert = load_x509_chain(credential)[0]
    names = [n.value for n in _san(cert) if isinstance(n, x509.DNSName)]
    return (names[0] if names else cert.subject.rfc4514_string()).encode()


class AcceptAnyCredential:
    """Accepts every identity; still requires renewals to keep the same identity."""

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        if context.previous is not None and not same_identity(context.previous, credential):
            raise CredentialError("a member's new credential names a different identity")


@dataclass
class ExpectedIdentity:
    """Accepts exactly one basic identity (or x509 subject/SAN, see :func:`credential_identity`)."""

    identity: bytes

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        got = credential_identity(credential)
        if got != self.identity:
            raise CredentialError(f"credential identity {got!r} is not the expected {self.identity!r}")


@dataclass
class X509Policy:
    """Validates x509 chains against trust anchors (and a server name for servers).

    ``allow_basic`` lets basic credentials through, for deployments that mix.
    """

    trust_anchors: Sequence[x509.Certificate]
    server_name: Optional[str] = None
    allow_basic: bool = False
    now: Optional[datetime.datetime] = None
    _store: x509v.Store = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.trust_anchors:
            raise ValueError("X509Policy needs at least one trust anchor")
        self._store = x509v.Store(list(self.trust_anchors))

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        if credential.credential_type == CredentialType.BASIC:
            if self.allow_basic:
                return
            raise CredentialError("basic credential where an x509 chain is required")
        chain = load_x509_chain(credential)
        builder = x509v.PolicyBuilder().store(self._store)
        if self.now is not None:
            builder = builder.time(self.now)
        try:
            if self.server_name is not None:
                verifier = builder.build_server_verifier(x509v.DNSName(self.server_name))
                verifier.verify(chain[0], chain[1:])
            else:
                builder.build_client_verifier().verify(chain[0], chain[1:])
        except (x509v.VerificationError, ValueError) as e:
            raise CertificateError(f"x509 chain does not validate: {e}") from None
        if context.previous is not None and not same_identity(context.previous, credential):
            raise CredentialError("a member's new credential names a different identity")


def authenticate(policy: AuthenticationPolicy, credential: Credential,
                 context: CredentialContext) -> None:
    """The one entry point: structural binding first, then the policy."""
    check_credential_binding(credential, context.cipher_suite, context.signature_key)
    policy.authenticate(credential, context)
