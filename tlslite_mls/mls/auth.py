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
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence

from cryptography import x509

from .constants import CredentialType
from .credentials import Credential
from .crypto import CipherSuite
from .errors import CredentialError
from .x509chain import CertificateError, ChainError, verify_chain


@dataclass(frozen=True)
class CredentialContext:
    """What a policy may want to know about where a credential was seen."""

    cipher_suite: CipherSuite
    signature_key: bytes
    role: str = "peer"                     # "client", "server" or "peer"
    previous: Optional[Credential] = None  # set when a member replaces its leaf


class AuthenticationPolicy(Protocol):
    """The RFC 9420 Authentication Service as one call: every credential the core sees
    (KeyPackage, Welcome tree, UpdatePath) goes through :meth:`authenticate`, so an
    application decides in one place whom it accepts. Any object with this method is
    a policy."""
    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Return if acceptable; raise :class:`CredentialError` otherwise."""

    # Optional: ``describe() -> str`` says what the policy verifies, for logs and
    # summary lines (:func:`describe_policy`).


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


def describe_policy(policy: AuthenticationPolicy) -> str:
    """What ``policy`` verifies, in words fit for a log or summary line."""
    describe = getattr(policy, "describe", None)
    return describe() if callable(describe) else f"application policy {type(policy).__name__}"


def key_fingerprint(signature_key: bytes) -> str:
    """A short, printable fingerprint of a signature public key (SHA-256, 128 bits)."""
    return "sha256:" + hashlib.sha256(signature_key).hexdigest()[:32]


def _text(identity: Optional[bytes]) -> str:
    return repr((identity or b"").decode(errors="replace"))


class AcceptAnyCredential:
    """Accepts every identity; still requires renewals to keep the same identity."""

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Accept ``credential``; only a renewal that changes the identity is refused."""
        if context.previous is not None and not same_identity(context.previous, credential):
            raise CredentialError("a member's new credential names a different identity")

    def describe(self) -> str:
        """What this policy verifies, for logs and summary lines."""
        return "any credential accepted (NOT verified)"


@dataclass
class ExpectedIdentity:
    """Accepts exactly one name: the basic identity, or the x509 subject/SAN (see
    :func:`credential_identity`).

    A name proves nothing by itself (anyone can put it in a basic credential), so this
    policy says "name only, not verified"; pin the key (:class:`PinnedKey`) or validate
    an x509 chain (:class:`X509Policy`) to authenticate.
    """

    identity: bytes

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Refuse (:class:`CredentialError`) a credential that does not carry the
        expected name."""
        got = credential_identity(credential)
        if got != self.identity:
            raise CredentialError(f"credential identity {got!r} is not the expected {self.identity!r}")

    def describe(self) -> str:
        """What this policy verifies (a name, not a key), for logs and summary lines."""
        return f"name {_text(self.identity)} (name only, not verified)"


@dataclass(frozen=True)
class PublicIdentity:
    """The public side of an identity, what a peer pins: the MLS signature public key
    (wire encoding), and the name and suite it goes with when known."""

    signature_key: bytes
    identity: Optional[bytes] = None
    cipher_suite: Optional[int] = None

    @property
    def fingerprint(self) -> str:
        """``sha256:`` and the hex SHA-256 of the signature key: what summary lines
        print, so that people can compare keys."""
        return key_fingerprint(self.signature_key)

    def __repr__(self) -> str:
        return f"PublicIdentity({_text(self.identity)}, {self.fingerprint})"


@dataclass
class PinnedKey:
    """Accepts a peer whose signature public key is one of ``pins`` (and whose name is
    the pin's, when the pin carries one, and ``identity``, when given).

    The key is what authenticates: the peer proves possession of it by signing its
    KeyPackage or leaf. Pins are :class:`PublicIdentity` objects or raw keys (bytes).
    """

    pins: Sequence["PublicIdentity | bytes"]
    identity: Optional[bytes] = None
    _pins: tuple = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pins = tuple(p if isinstance(p, PublicIdentity) else PublicIdentity(bytes(p))
                     for p in self.pins)
        if not pins or not all(p.signature_key for p in pins):
            raise ValueError("PinnedKey needs at least one non-empty signature key")
        self._pins = pins

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Refuse (:class:`CredentialError`) a peer whose signature key is not pinned,
        or whose name differs from the expected one."""
        pin = next((p for p in self._pins
                    if hmac.compare_digest(p.signature_key, context.signature_key)), None)
        if pin is None:
            raise CredentialError(f"the peer's signature key {key_fingerprint(context.signature_key)}"
                                  " is not a pinned key")
        got = credential_identity(credential)
        for want in (pin.identity, self.identity):
            if want is not None and got != want:
                raise CredentialError(f"credential identity {got!r} is not the pinned "
                                      f"name {want!r}")
        if context.previous is not None and not same_identity(context.previous, credential):
            raise CredentialError("a member's new credential names a different identity")

    def describe(self) -> str:
        """What this policy verifies (which keys, and the name), for logs and summary
        lines."""
        keys = ", ".join(p.fingerprint for p in self._pins)
        names = {p.identity for p in self._pins if p.identity is not None}
        if self.identity is not None:
            names = {self.identity}
        name = f", name {' or '.join(sorted(_text(n) for n in names))}" if names else ""
        return f"pinned signature key {keys}{name} verified"


_PURPOSE_OF_ROLE = {"server": "server", "client": "client"}


@dataclass
class X509Policy:
    """Validates x509 chains against trust anchors (:func:`verify_chain`), for every
    signature scheme the MLS suites use.

    ``server_name``: the name the end entity must carry (DNS name, IP or e-mail
    address; ``None``: any). ``purpose``: the extendedKeyUsage checked when the
    certificate has one; ``None``: ``"server"`` when a server name is set, else
    ``"client"``. ``allow_basic`` lets basic credentials through, for deployments
    that mix.
    """

    trust_anchors: Sequence[x509.Certificate]
    server_name: Optional[str] = None
    allow_basic: bool = False
    now: Optional[datetime.datetime] = None
    purpose: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.trust_anchors:
            raise ValueError("X509Policy needs at least one trust anchor")
        self.trust_anchors = list(self.trust_anchors)
        if self.purpose is None:
            self.purpose = "server" if self.server_name is not None else "client"

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        """Refuse (:class:`CredentialError`) a credential that is not an x509 chain
        valid to one of the trust anchors for the expected name."""
        if credential.credential_type == CredentialType.BASIC:
            if self.allow_basic:
                return
            raise CredentialError("basic credential where an x509 chain is required")
        chain = load_x509_chain(credential)
        try:
            verify_chain(chain, self.trust_anchors, now=self.now, name=self.server_name,
                         purpose=self.purpose)
        except ChainError as e:
            raise ChainError(f"x509 chain does not validate: {e}", e.reason) from None
        if context.previous is not None and not same_identity(context.previous, credential):
            raise CredentialError("a member's new credential names a different identity")

    def describe(self) -> str:
        """What this policy verifies (anchors and name), for logs and summary lines."""
        name = f"name {self.server_name!r}" if self.server_name else "any name"
        return (f"x509 chain verified to {len(self.trust_anchors)} trust anchor(s), {name}"
                + (", basic credentials accepted (NOT verified)" if self.allow_basic else ""))


def make_policy(role: str, *, auth_policy: Optional[AuthenticationPolicy] = None,
                expected_identity: Optional[bytes] = None,
                trust_anchors: Sequence[x509.Certificate] = (),
                pinned_keys: Sequence["PublicIdentity | bytes"] = (),
                x509_name: Optional[str] = None) -> Optional[AuthenticationPolicy]:
    """The policy for judging a peer in ``role`` (``"server"`` or ``"client"``) from the
    options both modes' settings share; ``None`` when none is given.

    ``auth_policy`` stands alone. Pinned keys and trust anchors exclude each other;
    ``expected_identity`` adds a name check to either (for x509 it is the name the
    chain must carry, before ``x509_name``). ``ValueError`` for a combination that
    cannot be honoured, so no option is ever silently ignored.
    """
    if role not in _PURPOSE_OF_ROLE:
        raise ValueError(f"role must be 'server' or 'client', not {role!r}")
    given = [n for n, v in (("expected_identity", expected_identity),
                            ("trust_anchors", trust_anchors), ("pinned_keys", pinned_keys)) if v]
    if auth_policy is not None:
        if given:
            raise ValueError(f"auth_policy stands alone: drop {' / '.join(given)} or build "
                             "them into the policy")
        return auth_policy
    if trust_anchors and pinned_keys:
        raise ValueError("give trust_anchors or pinned_keys, not both")
    if trust_anchors:
        name = expected_identity.decode() if expected_identity else x509_name
        return X509Policy(list(trust_anchors), server_name=name, purpose=_PURPOSE_OF_ROLE[role])
    if pinned_keys:
        return PinnedKey(list(pinned_keys), identity=expected_identity or None)
    if expected_identity:
        return ExpectedIdentity(bytes(expected_identity))
    return None


def authenticate(policy: AuthenticationPolicy, credential: Credential,
                 context: CredentialContext) -> None:
    """The one entry point: structural binding first, then the policy."""
    check_credential_binding(credential, context.cipher_suite, context.signature_key)
    policy.authenticate(credential, context)
