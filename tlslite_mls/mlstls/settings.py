"""Settings of MLS-TLS mode, one object per side.

The same pattern as the TLS extension mode's settings: plain attributes, and a
``validate()`` that returns a checked copy and raises ``ValueError`` naming the bad
field, so a configuration mistake (an MLS suite this mode cannot use above all)
shows up before anything is sent.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional, Sequence

from ..codepoints import (GROUP_ID_PREFIX, MAX_KEY_PACKAGE_LIFETIME, MLS_EXT_TLS_BINDING,
                          MLS_EXT_TLS_CLIENT_HELLO_HASH, TLS_BINDING_MLS_TLS, MLSTLSMessageType,
                          check_mls_code_points, check_type_table)
from ..peer_auth import check_peer_auth, describe_peer_auth
from ..twoparty.config import DEFAULT_MAX_CANDIDATES
from ..twoparty.messages import DEFAULT_MLS_TLS_TYPES
from .framing import DEFAULT_MAX_HANDSHAKE_MESSAGE, DEFAULT_MAX_MESSAGE
from .suites import UnsupportedSuiteError, record_suite

__all__ = ["MLSTLSSettings", "MLSTLSClientSettings", "MLSTLSServerSettings",
           "DEFAULT_MLS_TLS_SUITES"]

# How long a server keeps a session for resumption: a day, as the extension mode does
# (where it matches the TLS ticket lifetime).
DEFAULT_STATE_LIFETIME = 24 * 3600

#: MLS suites MLS-TLS offers by default, most preferred first: X25519/Ed25519 suites
#: cost least, and AES-GCM is the pure-Python record layer's slowest AEAD, so
#: ChaCha20-Poly1305 goes first.
DEFAULT_MLS_TLS_SUITES = (0x0003, 0x0001, 0x0002, 0x0007)


class MLSTLSSettings:
    """Options common to both sides.

    :ivar suites: MLS cipher suites, most preferred first; each must map to a TLS 1.3
        record protection (:func:`record_suite`), or ``validate()`` refuses it.
    :ivar credential: the local MLS ``Credential`` (or a mapping suite -> Credential);
        ``None`` for a throw-away basic identity.
    :ivar signature_key: private signature key matching ``credential``.
    :ivar auth_policy: authentication policy for the peer's credential (it stands alone).
    :ivar pinned_keys: the peer's signature public keys (``PublicIdentity`` or bytes);
        with ``expected_identity`` the name must match too.
    :ivar trust_anchors: x509 trust anchors for the peer's credential; the name checked
        is ``expected_identity`` (else, for a client, ``server_name``).
    :ivar expected_identity: the peer's name; alone a name check only (anyone can
        claim a name in a basic credential). These four are the extension mode's, in
        both roles (:mod:`tlslite_mls.peer_auth`). With none, the server accepts any
        client and the client is refused by ``validate()``.
    :ivar store: ``StateStore`` for sessions (resumption) and the KeyPackage replay
        cache; ``None`` for the process-wide memory store.
    :ivar binding_protocol: ``tls_binding.protocol`` (``mls-tls/1``).
    :ivar message_types: TwoPartyMessage.msg_type code points (none is assigned yet).
    :ivar binding_extension_type: MLS ExtensionType of ``tls_binding``.
    :ivar client_hello_hash_extension_type: MLS ExtensionType of ``tls_client_hello_hash``.
    :ivar group_id_prefix: the bytes every group_id starts with (the client checks them).
        Both peers must be configured with the same code points (docs/profile.md
        section 1).
    :ivar key_update_after: records under one sending key after which an epoch change
        is started; ``None`` for the RFC 8446 section 5.5 based default of the suite.
    :ivar key_usage_limit: records under one sending key after which the connection is
        closed if the epoch change has not completed; ``None`` for RFC 8446 section 5.5.
    :ivar max_message: largest TwoPartyMessage once the peer is authenticated (after
        the handshake), bytes.
    :ivar max_handshake_message: largest TwoPartyMessage before that (the hellos, a
        resumption request). Both are checked against declared lengths before the
        bytes are buffered (docs/profile.md section 9); over them is ``decode_error``.
    :ivar timeout: socket timeout in seconds while the handshake runs (``None``: none).
    """

    def __init__(self, suites: Sequence[int] = DEFAULT_MLS_TLS_SUITES,
                 credential: Any = None, signature_key: Any = None,
                 auth_policy: Any = None, store: Any = None,
                 binding_protocol: bytes = TLS_BINDING_MLS_TLS,
                 message_types: Mapping[MLSTLSMessageType, int] = DEFAULT_MLS_TLS_TYPES,
                 key_update_after: Optional[int] = None,
                 key_usage_limit: Optional[int] = None,
                 max_message: int = DEFAULT_MAX_MESSAGE,
                 max_handshake_message: int = DEFAULT_MAX_HANDSHAKE_MESSAGE,
                 timeout: Optional[float] = 30.0,
                 binding_extension_type: int = MLS_EXT_TLS_BINDING,
                 client_hello_hash_extension_type: int = MLS_EXT_TLS_CLIENT_HELLO_HASH,
                 group_id_prefix: bytes = GROUP_ID_PREFIX,
                 expected_identity: "bytes | str | None" = None,
                 trust_anchors: Sequence[Any] = (),
                 pinned_keys: Sequence[Any] = ()) -> None:
        self.suites = list(suites)
        self.expected_identity = expected_identity
        self.trust_anchors = list(trust_anchors)
        self.pinned_keys = list(pinned_keys)
        self.credential = credential
        self.signature_key = signature_key
        self.auth_policy = auth_policy
        self.store = store
        self.binding_protocol = binding_protocol
        self.message_types = dict(message_types)
        self.key_update_after = key_update_after
        self.key_usage_limit = key_usage_limit
        self.max_message = max_message
        self.max_handshake_message = max_handshake_message
        self.timeout = timeout
        self.binding_extension_type = binding_extension_type
        self.client_hello_hash_extension_type = client_hello_hash_extension_type
        self.group_id_prefix = group_id_prefix

    is_client = False

    def validate(self) -> "MLSTLSSettings":
        """A checked copy; ``ValueError`` names the first bad field."""
        other = copy.copy(self)
        other.suites = list(self.suites)
        if not other.suites:
            raise ValueError("suites: at least one MLS cipher suite is needed")
        if len(set(other.suites)) != len(other.suites):
            raise ValueError("suites: duplicated MLS cipher suite")
        for s in other.suites:
            if not isinstance(s, int) or not 0 < s <= 0xFFFF:
                raise ValueError(f"suites: {s!r} is not an MLS cipher suite id")
            try:
                record_suite(s)
            except UnsupportedSuiteError as exc:
                raise UnsupportedSuiteError(f"suites: {exc}") from None
        if (self.credential is None) != (self.signature_key is None):
            raise ValueError("credential and signature_key go together (or neither)")
        if isinstance(self.signature_key, (bytes, bytearray)):
            # Parsed once for all connections (copies share the memo), not per handshake.
            from ..mls.crypto.signature import memoized_signing_key
            other.signature_key = memoized_signing_key(
                self.__dict__.setdefault("_signing_keys", {}), self.signature_key)
        if not isinstance(self.binding_protocol, (bytes, bytearray)) or not self.binding_protocol:
            raise ValueError("binding_protocol must be non-empty bytes")
        other.binding_protocol = bytes(self.binding_protocol)
        other.message_types = check_type_table("message_types", self.message_types,
                                               MLSTLSMessageType)
        other.group_id_prefix = check_mls_code_points(
            self.binding_extension_type, self.client_hello_hash_extension_type,
            self.group_id_prefix)
        if self.key_update_after is not None and \
                (not isinstance(self.key_update_after, int) or self.key_update_after < 1):
            raise ValueError("key_update_after must be a positive number of records")
        if self.key_usage_limit is not None:
            if not isinstance(self.key_usage_limit, int) or self.key_usage_limit < 2:
                raise ValueError("key_usage_limit must be a number of records above 1")
            if self.key_update_after is not None and \
                    self.key_usage_limit <= self.key_update_after:
                raise ValueError("key_usage_limit must be above key_update_after")
        for name in ("max_message", "max_handshake_message"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1 << 14:
                raise ValueError(f"{name} must be at least 16384 bytes")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError("timeout must be positive seconds or None")
        check_peer_auth(self, other, "server" if self.is_client else "client")
        return other

    def peer_authentication(self) -> str:
        """What these (validated) settings verify about the peer, in words."""
        return describe_peer_auth(self, "server" if self.is_client else "client")

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for the engine's ``MLSHandshakeConfig``."""
        return dict(suites=list(self.suites), credential=self.credential,
                    signature_key=self.signature_key, auth_policy=self.auth_policy,
                    store=self.store, binding_protocol=bytes(self.binding_protocol),
                    binding_extension_type=self.binding_extension_type,
                    client_hello_hash_extension_type=self.client_hello_hash_extension_type,
                    group_id_prefix=bytes(self.group_id_prefix),
                    expected_identity=self.expected_identity,
                    trust_anchors=list(self.trust_anchors),
                    pinned_keys=list(self.pinned_keys),
                    confirmed_resumption=True)

    def __repr__(self) -> str:
        # No key material in reprs.
        return (f"{type(self).__name__}(suites={[hex(s) for s in self.suites]}, "
                f"credential={'set' if self.credential is not None else 'throw-away'})")


class MLSTLSClientSettings(MLSTLSSettings):
    """Client (MLS initiator) options.

    :ivar server_name: the name an x509 server credential must carry when
        ``expected_identity`` does not give it.
    :ivar key_package_lifetime: seconds.
    :ivar initial_update: send one connection_update right after the handshake
        (docs/profile.md section 5: until then all of epoch 1's entropy is the server's).
    :ivar session_key: name under which the session is kept in ``store`` so that a
        later connection can resume it (``None``: not kept).
    :ivar resume: resume the session stored under ``session_key`` instead of a new
        handshake.
    """

    is_client = True

    def __init__(self, *args: Any, server_name: Optional[str] = None,
                 key_package_lifetime: int = 3600, initial_update: bool = True,
                 session_key: Optional[bytes] = None, resume: bool = False,
                 **kwargs: Any) -> None:
        self.server_name = server_name
        super().__init__(*args, **kwargs)
        self.key_package_lifetime = key_package_lifetime
        self.initial_update = initial_update
        self.session_key = session_key
        self.resume = resume

    def validate(self) -> "MLSTLSClientSettings":
        other = super().validate()
        lt = self.key_package_lifetime
        if not isinstance(lt, int) or not 0 < lt <= MAX_KEY_PACKAGE_LIFETIME:
            raise ValueError(f"key_package_lifetime must be 1..{MAX_KEY_PACKAGE_LIFETIME} "
                             f"seconds, not {lt!r}")
        if other.trust_anchors and not (other.expected_identity or self.server_name):
            raise ValueError("trust_anchors need the name the server's x509 credential must "
                             "carry: set server_name (MLS-TLS has no SNI to take it from)")
        if self.resume and not self.session_key:
            raise ValueError("resume needs the session_key the session was kept under")
        if self.session_key is not None:
            other.session_key = bytes(self.session_key)  # type: ignore[attr-defined]
        return other  # type: ignore[return-value]

    def engine_options(self) -> dict[str, Any]:
        opts = super().engine_options()
        opts.update(server_name=self.server_name,
                    key_package_lifetime=self.key_package_lifetime)
        return opts


class MLSTLSServerSettings(MLSTLSSettings):
    """Server (MLS responder) options.

    :ivar resumable: keep every session in ``store`` so clients can resume it.
        ``None`` (default): exactly when a ``store`` is configured, so a server keeps
        nothing for resumption unless asked to (docs/profile.md section 9); ``True`` needs a
        store; ``False`` keeps nothing even with one (the store then holds only the
        KeyPackage replay cache).
    :ivar max_resumption_candidates: results of resumption requests kept per session
        until the client confirms one (docs/profile.md section 8); the oldest is dropped.
    :ivar state_lifetime: seconds a session kept for resumption lives in the store after
        its last confirmed change (``None``: until the store's ``max_groups`` cap evicts
        it); the extension mode's default.
    """

    def __init__(self, *args: Any, resumable: Optional[bool] = None,
                 max_resumption_candidates: int = DEFAULT_MAX_CANDIDATES,
                 state_lifetime: Optional[float] = DEFAULT_STATE_LIFETIME,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resumable = resumable
        self.max_resumption_candidates = max_resumption_candidates
        self.state_lifetime = state_lifetime

    @property
    def keeps_sessions(self) -> bool:
        """Whether sessions are written to the store for resumption."""
        return self.store is not None if self.resumable is None else bool(self.resumable)

    def validate(self) -> "MLSTLSServerSettings":
        other = super().validate()
        if self.resumable is True and self.store is None:
            raise ValueError("resumable=True needs a store that keeps the sessions "
                             "(e.g. open_store('sqlite:///path')); without one the "
                             "server keeps nothing for resumption")
        n = self.max_resumption_candidates
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"max_resumption_candidates must be a positive number, not {n!r}")
        lt = self.state_lifetime
        if lt is not None and (isinstance(lt, bool) or not isinstance(lt, (int, float))
                               or not 0 < lt < float("inf")):
            raise ValueError(f"state_lifetime must be positive seconds or None, not {lt!r}")
        return other  # type: ignore[return-value]

    def engine_options(self) -> dict[str, Any]:
        opts = super().engine_options()
        opts.update(max_resumption_candidates=self.max_resumption_candidates,
                    state_lifetime=self.state_lifetime)
        return opts
