"""MLSHandshakeConfig: everything one side of the two-party profile is configured with.

One object per connection (the TLS layer builds it from its settings). Defaults follow
docs/profile.md section 2: suite 0x0001, a throw-away basic identity when none is given, the
server accepts any client identity, and the client accepts the server only when it was
told how to authenticate it (an expected identity, or trust anchors for x509).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ..codepoints import (GROUP_ID_PREFIX, GROUP_ID_RANDOM_LENGTH, MAX_KEY_PACKAGE_LIFETIME,
                          MLS_EXT_TLS_BINDING, MLS_EXT_TLS_CLIENT_HELLO_HASH,
                          TLS_BINDING_EXTENSION_MODE, check_mls_code_points)
from ..mls.auth import (AcceptAnyCredential, AuthenticationPolicy, CredentialContext,
                        PublicIdentity, make_policy)
from ..mls.credentials import Credential
from ..mls.crypto import SigningKey, get_cipher_suite, supported_cipher_suites
from ..mls.errors import CredentialError
from ..mls.groupconfig import GroupConfig

__all__ = ["DEFAULT_MAX_CANDIDATES", "MLSHandshakeConfig", "NoServerAuthentication",
           "default_store", "SHARED_SECRET_LABEL"]

#: Unconfirmed resumption results a server keeps per session (docs/profile.md section 8).
DEFAULT_MAX_CANDIDATES = 4

#: The MLS-Exporter label whose output replaces the (EC)DHE secret in the TLS 1.3 key
#: schedule, at the handshake and at every later epoch (docs/profile.md sections 3, 5).
SHARED_SECRET_LABEL = b"TLS shared secret"

_DEFAULT_STORE: Any = None
_DEFAULT_STORE_LOCK = threading.Lock()


def default_store() -> Any:
    """The process-wide MemoryStore used when a config names none.

    One per process rather than one per config: the TLS layer builds a config for every
    connection, and a replay cache that forgets between connections protects nothing.
    """
    global _DEFAULT_STORE
    with _DEFAULT_STORE_LOCK:
        if _DEFAULT_STORE is None:
            from ..store import MemoryStore
            _DEFAULT_STORE = MemoryStore()
        return _DEFAULT_STORE


class NoServerAuthentication:
    """The client's policy when nothing says how to authenticate the server: refuse.

    docs/profile.md section 2: a basic server credential is accepted only when the
    application names the expected identity, and an x509 one needs trust anchors.
    """

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        raise CredentialError("no way to authenticate the server: configure an expected "
                              "identity, trust anchors or an authentication policy")


class _AcceptOwnLeaf:
    """Lets our own leaf through (the core checks every leaf of a joined tree)."""

    def __init__(self, inner: AuthenticationPolicy, own: Credential, own_key: bytes) -> None:
        self.inner = inner
        self.own = own
        self.own_key = own_key

    def authenticate(self, credential: Credential, context: CredentialContext) -> None:
        if credential == self.own and context.signature_key == self.own_key:
            return
        self.inner.authenticate(credential, context)


PerSuite = Union[None, bytes, SigningKey, Credential, Mapping[int, Any]]


@dataclass
class MLSHandshakeConfig:
    """Configuration of one side.

    :ivar suites: MLS cipher suites, most preferred first. The client makes its one
        KeyPackage in the first suite it has a credential for; the server accepts a
        KeyPackage in any of them.
    :ivar credential: a ``Credential``, or a mapping suite -> Credential; ``None`` for a
        throw-away basic identity.
    :ivar signature_key: the private signature key matching ``credential`` (bytes or a
        ``SigningKey``, or a mapping suite -> either); generated with the throw-away
        identity. A ``SigningKey`` shared by the configs of many connections is parsed
        once instead of once per handshake.
    :ivar auth_policy: the authentication policy for the peer's credential. ``None``:
        one is made from ``expected_identity``, ``trust_anchors`` (with ``server_name``
        for the client) and ``pinned_keys`` (:func:`~tlslite_mls.mls.auth.make_policy`),
        in both roles; with none of them the server accepts any client and the client
        refuses every server.
    :ivar pinned_keys: the peer's signature public keys (``PublicIdentity`` or bytes)
        to accept; with ``expected_identity`` the name must match too.
    :ivar store: a ``StateStore`` for the KeyPackage replay cache and persisted
        sessions; ``None`` for the process-wide MemoryStore.
    :ivar binding_protocol: ``tls_binding.protocol`` of this mode.
    :ivar key_package_lifetime: lifetime of the client's KeyPackage, seconds.
    :ivar max_key_package_lifetime: longest KeyPackage lifetime the server accepts.
    :ivar key_exports: (label, context, length) the TLS layer needs from every new epoch;
        ``None``: ``("TLS shared secret", "", MLS hash length)``.
    :ivar confirmed_resumption: resumption as MLS-TLS does it (docs/profile.md section 8): no
        epoch markers, both directions switch to epoch N+2 with the response, and the
        server keeps its result as a candidate until :meth:`TwoPartySession.confirm`.
        ``False``: the markers of section 6 (the TLS extension mode).
    :ivar max_resumption_candidates: candidates kept per session; the oldest goes.

    ``signature_private`` and ``policy`` are accepted as other names of
    ``signature_key`` and ``auth_policy``.
    """

    suites: Sequence[int] = field(default_factory=lambda: [0x0001])
    credential: PerSuite = None
    signature_key: PerSuite = field(default=None, repr=False)
    auth_policy: Optional[AuthenticationPolicy] = None
    store: Any = None
    binding_protocol: bytes = TLS_BINDING_EXTENSION_MODE
    key_package_lifetime: int = 3600
    max_key_package_lifetime: int = MAX_KEY_PACKAGE_LIFETIME
    expected_identity: Optional[bytes] = None
    trust_anchors: Sequence[Any] = ()
    server_name: Optional[str] = None
    pinned_keys: Sequence["PublicIdentity | bytes"] = ()
    key_exports: Optional[Sequence[tuple[bytes, bytes, int]]] = None
    state_lifetime: Optional[float] = 7 * 24 * 3600
    creator_leaf_lifetime: int = 30 * 24 * 3600
    padding: int = 0
    confirmed_resumption: bool = False
    max_resumption_candidates: int = DEFAULT_MAX_CANDIDATES
    clock: Callable[[], float] = field(default=time.time, repr=False)
    # Code points (none is assigned by IANA yet).
    binding_extension_type: int = MLS_EXT_TLS_BINDING
    client_hello_hash_extension_type: int = MLS_EXT_TLS_CLIENT_HELLO_HASH
    group_id_prefix: bytes = GROUP_ID_PREFIX
    group_id_random_length: int = GROUP_ID_RANDOM_LENGTH
    # Aliases.
    signature_private: InitVar[PerSuite] = None
    policy: InitVar[Optional[AuthenticationPolicy]] = None

    def __post_init__(self, signature_private: PerSuite,
                      policy: Optional[AuthenticationPolicy]) -> None:
        if signature_private is not None:
            if self.signature_key is not None:
                raise ValueError("give signature_key or signature_private, not both")
            self.signature_key = signature_private
        if policy is not None:
            if self.auth_policy is not None:
                raise ValueError("give auth_policy or policy, not both")
            self.auth_policy = policy
        self.suites = list(self.suites)
        if not self.suites:
            raise ValueError("suites: at least one MLS cipher suite is needed")
        known = set(supported_cipher_suites())
        for s in self.suites:
            if s not in known:
                raise ValueError(f"suites: MLS cipher suite {s!r} is not supported")
        if not 0 < self.max_key_package_lifetime <= MAX_KEY_PACKAGE_LIFETIME:
            raise ValueError(f"max_key_package_lifetime must be 1..{MAX_KEY_PACKAGE_LIFETIME} s")
        if not 0 < self.key_package_lifetime <= self.max_key_package_lifetime:
            raise ValueError(f"key_package_lifetime must be 1..{self.max_key_package_lifetime} s")
        if not isinstance(self.binding_protocol, (bytes, bytearray)) or not self.binding_protocol:
            raise ValueError("binding_protocol must be non-empty bytes")
        self.binding_protocol = bytes(self.binding_protocol)
        self.group_id_prefix = check_mls_code_points(
            self.binding_extension_type, self.client_hello_hash_extension_type,
            self.group_id_prefix)
        n = self.max_resumption_candidates
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"max_resumption_candidates must be a positive number, not {n!r}")
        self._throwaway: dict[int, tuple[Credential, bytes]] = {}

    # -- identities ----------------------------------------------------------------
    def identity_for(self, suite: int) -> Optional[tuple[Credential, "bytes | SigningKey"]]:
        """(credential, signature private key) for ``suite``, or None if there is none."""
        if self.credential is None and self.signature_key is None:
            found = self._throwaway.get(suite)
            if found is None:
                cs = get_cipher_suite(suite)
                priv, _ = cs.generate_signature_key_pair()
                found = (Credential.basic(b"anonymous-" + os.urandom(8).hex().encode()), priv)
                self._throwaway[suite] = found
            return found
        cred = _per_suite(self.credential, suite, Credential)
        key = _per_suite(self.signature_key, suite, (bytes, bytearray, SigningKey))
        if cred is None or key is None:
            return None
        return cred, key if isinstance(key, SigningKey) else bytes(key)

    # -- policies ---------------------------------------------------------------------
    def _peer_policy(self, role: str) -> Optional[AuthenticationPolicy]:
        return make_policy(role, auth_policy=self.auth_policy,
                           expected_identity=self.expected_identity,
                           trust_anchors=list(self.trust_anchors),
                           pinned_keys=list(self.pinned_keys),
                           x509_name=self.server_name if role == "server" else None)

    def client_policy(self) -> AuthenticationPolicy:
        """How the client judges the server (docs/profile.md section 2): refused unless told."""
        return self._peer_policy("server") or NoServerAuthentication()

    def server_policy(self) -> AuthenticationPolicy:
        """How the server judges the client: any identity unless told otherwise."""
        return self._peer_policy("client") or AcceptAnyCredential()

    def group_config(self, policy: AuthenticationPolicy) -> GroupConfig:
        """The core's :class:`~tlslite_mls.mls.group.GroupConfig` for this connection:
        the peer's authentication policy, our padding and clock."""
        # Handshake messages go out as PrivateMessage (docs/profile.md section 2).
        return GroupConfig(policy=policy, padding=self.padding, clock=self.clock)

    def the_store(self) -> Any:
        """The configured state store, else the process-wide memory store."""
        return self.store if self.store is not None else default_store()

    def exports_for(self, suite: int) -> list[tuple[bytes, bytes, int]]:
        """The ``(label, context, length)`` exports computed at every new epoch for
        ``suite``: the configured ones, else the TLS extension mode's shared secret."""
        if self.key_exports is not None:
            return [(bytes(l), bytes(c), int(n)) for l, c, n in self.key_exports]
        return [(SHARED_SECRET_LABEL, b"", get_cipher_suite(suite).hash_length)]


def _per_suite(value: PerSuite, suite: int, kind: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, kind):
        return value
    if isinstance(value, Mapping):
        return value.get(suite)
    raise TypeError(f"expected {kind} or a mapping suite -> value, not {type(value).__name__}")
