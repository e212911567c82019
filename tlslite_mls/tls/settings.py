"""MLS settings for the TLS extension mode, one object per side.

tlslite-ng's ``HandshakeSettings.validate()`` returns a fresh copy that keeps
only the fields it knows, so MLS options cannot ride on it: they live in these
objects, which the connection keeps for itself. ``validate()`` follows the same
pattern as tlslite-ng (returns a checked copy, raises ``ValueError`` naming the
bad field), so a configuration mistake shows up before anything is sent.
"""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any, Mapping, Optional, Sequence

from ..codepoints import (GROUP_ID_PREFIX, MAX_KEY_PACKAGE_LIFETIME, MLS_EXT_TLS_BINDING,
                          MLS_EXT_TLS_CLIENT_HELLO_HASH, TLS_BINDING_EXTENSION_MODE,
                          TLS_EXT_MLS_HANDSHAKE, TLS_HS_MLS_HANDSHAKE, TwoPartyMLSMessageType,
                          check_mls_code_points, check_type_table)
from ..peer_auth import check_peer_auth, describe_peer_auth
from ..peer_auth import load_anchors as _load_anchors  # noqa: F401 - the old name
from .bounded import DEFAULT_MAX_HANDSHAKE_MESSAGE, DEFAULT_MAX_POST_HANDSHAKE_MESSAGE

# Default MLS suites, in preference order: the X25519/Ed25519 suites cost least.
DEFAULT_MLS_SUITES = (0x0001, 0x0003, 0x0002)


# A handshake message limit below one record's worth would refuse ordinary messages.
MIN_MESSAGE_LIMIT = 1 << 14

# tlslite-ng's default HandshakeSettings.ticketLifetime.
DEFAULT_STATE_LIFETIME = 24 * 3600


class MLSMode(str, Enum):
    """How much a side insists on MLS."""

    OFF = "off"              # never offer/accept: a plain tlslite-ng connection
    PREFERRED = "preferred"  # offer/accept, carry on with classic TLS 1.3 otherwise
    REQUIRED = "required"    # abort with handshake_failure when MLS is not negotiated


class MLSSettings:
    """Options common to both sides.

    :ivar mode: an :class:`MLSMode` (or its string value).
    :ivar suites: MLS cipher suite ids, most preferred first.
    :ivar credential: the local MLS ``Credential``, or a mapping MLS suite ->
        ``Credential`` (suites differ in signature scheme); ``None`` for a
        throw-away basic credential made by the engine.
    :ivar signature_key: private signature key matching ``credential``, as bytes or
        a ``SigningKey`` (a mapping suite -> key when ``credential`` is one).
        ``validate()`` wraps bytes in a ``SigningKey``, so the key is parsed once
        for all the connections that share the validated settings.
    :ivar auth_policy: the authentication policy ("Authentication Service")
        that judges the peer's credential; ``None`` for the core's default.
    :ivar send_certificates: also send TLS Certificate/CertificateVerify when
        MLS is negotiated. Both sides must agree: nothing on the wire says
        whether they follow.
    :ivar store: state store for groups and the KeyPackage replay cache.
    :ivar extension_type: code point of ``tls_using_mls_handshake``.
    :ivar handshake_type: code point of ``mls_handshake``.
    :ivar binding_protocol: ``tls_binding.protocol`` of this mode.
    :ivar message_types: ``TwoPartyMLSMessage.tpmlsmt`` code points, a mapping
        ``TwoPartyMLSMessageType`` -> 16-bit value.
    :ivar binding_extension_type: MLS ExtensionType of ``tls_binding``.
    :ivar client_hello_hash_extension_type: MLS ExtensionType of ``tls_client_hello_hash``.
    :ivar group_id_prefix: the bytes every group_id starts with (the client checks them).
    :ivar state_lifetime: seconds a group kept for resumption stays in the store.
        The default is tlslite-ng's default ticket lifetime (one day): a group is
        useless once no ticket can resume it, so keep the two equal.
    :ivar max_handshake_message: largest handshake message accepted while the
        handshake runs (a ClientHello above all), bytes; a larger declared length
        is refused with ``decode_error`` before it is buffered (docs/profile.md section 9).
    :ivar max_post_handshake_message: the same after the handshake (``mls_handshake``).
    """

    def __init__(self, mode: "MLSMode | str" = MLSMode.PREFERRED,
                 suites: Sequence[int] = DEFAULT_MLS_SUITES,
                 credential: Any = None, signature_key: Any = None,
                 auth_policy: Any = None, send_certificates: bool = False,
                 store: Any = None, extension_type: int = TLS_EXT_MLS_HANDSHAKE,
                 handshake_type: int = TLS_HS_MLS_HANDSHAKE,
                 binding_protocol: bytes = TLS_BINDING_EXTENSION_MODE,
                 state_lifetime: float = DEFAULT_STATE_LIFETIME,
                 message_types: Optional[Mapping[TwoPartyMLSMessageType, int]] = None,
                 binding_extension_type: int = MLS_EXT_TLS_BINDING,
                 client_hello_hash_extension_type: int = MLS_EXT_TLS_CLIENT_HELLO_HASH,
                 group_id_prefix: bytes = GROUP_ID_PREFIX,
                 max_handshake_message: int = DEFAULT_MAX_HANDSHAKE_MESSAGE,
                 max_post_handshake_message: int = DEFAULT_MAX_POST_HANDSHAKE_MESSAGE) -> None:
        # Code points: none is assigned by IANA yet, so every one is a setting and both
        # peers must be configured alike (docs/profile.md section 1).
        self.message_types = dict(message_types if message_types is not None
                                  else {k: int(k) for k in TwoPartyMLSMessageType})
        self.binding_extension_type = binding_extension_type
        self.client_hello_hash_extension_type = client_hello_hash_extension_type
        self.group_id_prefix = group_id_prefix
        self.mode = mode
        self.max_handshake_message = max_handshake_message
        self.max_post_handshake_message = max_post_handshake_message
        self.state_lifetime = state_lifetime
        self.suites = list(suites)
        self.credential = credential
        self.signature_key = signature_key
        self.auth_policy = auth_policy
        self.send_certificates = send_certificates
        self.store = store
        self.extension_type = extension_type
        self.handshake_type = handshake_type
        self.binding_protocol = binding_protocol

    @property
    def enabled(self) -> bool:
        """Whether MLS is offered or accepted at all (mode not ``off``)."""
        return self.mode is not MLSMode.OFF

    @property
    def required(self) -> bool:
        """Whether the handshake fails rather than fall back to classic TLS."""
        return self.mode is MLSMode.REQUIRED

    def validate(self) -> "MLSSettings":
        """A checked copy; ``ValueError`` names the first bad field."""
        other = copy.copy(self)
        try:
            other.mode = MLSMode(self.mode)
        except ValueError:
            raise ValueError(f"mode must be one of off/preferred/required, not {self.mode!r}") \
                from None
        other.suites = list(self.suites)
        if other.enabled and not other.suites:
            raise ValueError("suites: at least one MLS cipher suite is needed")
        for s in other.suites:
            if not isinstance(s, int) or not 0 < s <= 0xFFFF:
                raise ValueError(f"suites: {s!r} is not an MLS cipher suite id")
        if len(set(other.suites)) != len(other.suites):
            raise ValueError("suites: duplicated MLS cipher suite")
        if other.enabled:
            self._check_suites(other.suites)
        if (self.credential is None) != (self.signature_key is None):
            raise ValueError("credential and signature_key go together (or neither)")
        if isinstance(self.credential, Mapping) or isinstance(self.signature_key, Mapping):
            if not (isinstance(self.credential, Mapping)
                    and isinstance(self.signature_key, Mapping)):
                raise ValueError("credential and signature_key: both mappings "
                                 "suite -> value, or neither")
            keys = dict(self.signature_key)
            if not all(_is_private_key(k) for k in keys.values()):
                raise ValueError("signature_key: every value must be a private key "
                                 "(bytes or SigningKey)")
            if other.enabled and not any(s in self.credential and s in keys
                                         for s in other.suites):
                raise ValueError("credential/signature_key: none of the suites has both")
            other.signature_key = {s: self._signing_key(k) for s, k in keys.items()}
        elif self.signature_key is not None:
            if not _is_private_key(self.signature_key):
                raise ValueError("signature_key must be the private key (bytes or SigningKey)")
            other.signature_key = self._signing_key(self.signature_key)
        if not isinstance(self.state_lifetime, (int, float)) or self.state_lifetime <= 0:
            raise ValueError(f"state_lifetime must be a positive number of seconds, "
                             f"not {self.state_lifetime!r}")
        for name in ("max_handshake_message", "max_post_handshake_message"):
            v = getattr(self, name)
            if not isinstance(v, int) or not MIN_MESSAGE_LIMIT <= v < 1 << 24:
                raise ValueError(f"{name} must be {MIN_MESSAGE_LIMIT}..{(1 << 24) - 1} "
                                 f"bytes, not {v!r}")
        for name in ("extension_type",):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 0xFFFF:
                raise ValueError(f"{name} must be a 16-bit code point, not {v!r}")
        if not isinstance(self.handshake_type, int) or not 0 <= self.handshake_type <= 0xFF:
            raise ValueError(f"handshake_type must be an 8-bit code point, "
                             f"not {self.handshake_type!r}")
        if not isinstance(self.binding_protocol, (bytes, bytearray)) or \
                not self.binding_protocol:
            raise ValueError("binding_protocol must be non-empty bytes")
        other.binding_protocol = bytes(self.binding_protocol)
        other.message_types = check_type_table("message_types", self.message_types,
                                               TwoPartyMLSMessageType)
        other.group_id_prefix = check_mls_code_points(
            self.binding_extension_type, self.client_hello_hash_extension_type,
            self.group_id_prefix)
        other.send_certificates = bool(self.send_certificates)
        return other

    def _signing_key(self, key: Any) -> Any:
        """``key`` as a SigningKey, the same object on every ``validate()`` (copies
        share the memo), so each key is parsed once however many connections use it."""
        from ..mls.crypto.signature import memoized_signing_key
        return memoized_signing_key(self.__dict__.setdefault("_signing_keys", {}), key)

    @staticmethod
    def _check_suites(suites: list[int]) -> None:
        from ..mls.crypto import supported_cipher_suites
        known = set(supported_cipher_suites())
        unknown = [s for s in suites if s not in known]
        if unknown:
            raise ValueError("suites: unsupported MLS cipher suite(s) "
                             + ", ".join(f"0x{s:04x}" for s in unknown))

    def __repr__(self) -> str:
        # No key material in reprs.
        return (f"{type(self).__name__}(mode={MLSMode(self.mode).value}, suites="
                f"{[hex(s) for s in self.suites]}, send_certificates={self.send_certificates}, "
                f"credential={'set' if self.credential is not None else 'throw-away'})")


def _is_private_key(key: Any) -> bool:
    from ..mls.crypto import SigningKey
    return isinstance(key, SigningKey) or (isinstance(key, (bytes, bytearray)) and bool(key))


class MLSClientSettings(MLSSettings):
    """Client (MLS initiator) options.

    The client must be told how to judge the server's MLS credential, since that
    credential replaces the TLS certificate (docs/profile.md sections 2 and 10):

    :ivar pinned_keys: the server's signature public key(s): ``PublicIdentity``
        objects (``tlslite_mls.identity.load_public_identity``) or raw keys; the
        server must prove possession of one. With ``expected_identity`` the name
        must match too;
    :ivar trust_anchors: CA certificates for an x509 server credential; the chain is
        validated for the server name (``expected_identity``, else ``server_name``,
        else the SNI of the handshake);
    :ivar expected_identity: the server's name (bytes; str is UTF-8 encoded). Alone it
        is a name check only: anyone can claim a name in a basic credential;
    :ivar auth_policy: an authentication policy object of one's own
        (``AcceptAnyCredential()`` to accept any server, unauthenticated); it stands
        alone.

    Classic TLS is checked too (docs/profile.md section 10): when the connection falls
    back to classic TLS, or the mode is ``off``, the server's TLS certificate chain
    is validated as Python's ``ssl.create_default_context()`` does, against the same
    ``trust_anchors`` (the system trust store when none are named) and for the
    server name below.

    :ivar server_name: the name (DNS name or IP address) the server's certificate or
        x509 credential must carry; ``None``: the server name given to the handshake
        (SNI), else, for the TLS certificate, the IP address of the peer.
    :ivar insecure: skip the TLS certificate check on classic fallback (the server
        is then not authenticated at all). Refused for a ``required`` client, which
        never falls back.
    :ivar key_package_lifetime: lifetime of the KeyPackage, seconds.
    """

    def __init__(self, *args: Any, key_package_lifetime: int = 3600,
                 expected_identity: "bytes | str | None" = None,
                 trust_anchors: Sequence[Any] = (), server_name: Optional[str] = None,
                 pinned_keys: Sequence[Any] = (), insecure: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_package_lifetime = key_package_lifetime
        self.expected_identity = expected_identity
        self.trust_anchors = trust_anchors
        self.server_name = server_name
        self.pinned_keys = pinned_keys
        self.insecure = insecure

    def validate(self) -> "MLSClientSettings":
        other = super().validate()
        lt = self.key_package_lifetime
        if not isinstance(lt, int) or not 0 < lt <= MAX_KEY_PACKAGE_LIFETIME:
            raise ValueError(f"key_package_lifetime must be 1..{MAX_KEY_PACKAGE_LIFETIME} "
                             f"seconds, not {lt!r}")
        check_peer_auth(self, other, "server", other.enabled)
        if not isinstance(self.insecure, bool):
            raise ValueError(f"insecure must be True or False, not {self.insecure!r}")
        if self.insecure and other.required:
            raise ValueError("insecure skips the certificate check of classic fallback, "
                             "and a required client never falls back")
        return other  # type: ignore[return-value]

    def peer_authentication(self, server_name: Optional[str] = None) -> str:
        """What these (validated) settings verify about the server, in words."""
        return describe_peer_auth(self, "server", server_name)

    def __repr__(self) -> str:
        how = ("policy" if self.auth_policy is not None else
               f"{len(self.pinned_keys or ())} pinned key(s)" if self.pinned_keys else
               f"{len(self.trust_anchors or ())} trust anchor(s)" if self.trust_anchors else
               f"expected_identity={self.expected_identity!r}" if self.expected_identity else
               "none")
        tls = ("NOT verified (insecure)" if self.insecure else
               f"{len(self.trust_anchors)} trust anchor(s)" if self.trust_anchors else
               "system trust store")
        return super().__repr__()[:-1] + f", server authentication: {how}, " \
                                         f"TLS certificate on fallback: {tls})"



class MLSServerSettings(MLSSettings):
    """Server (MLS responder) options.

    By default any client identity is accepted (docs/profile.md section 2). The client's
    options judge clients the same way: ``pinned_keys`` (the client's signature
    public keys, with ``expected_identity`` also its name), ``trust_anchors`` (an
    x509 MLS credential chaining to them; ``expected_identity`` is then the name it
    must carry), ``expected_identity`` alone (a name check only), or ``auth_policy``
    alone. A refused client credential declines MLS: classic TLS 1.3, or an alert
    when MLS is required.

    :ivar max_key_package_lifetime: longest KeyPackage lifetime accepted, seconds.
    """

    def __init__(self, *args: Any, trust_anchors: Sequence[Any] = (),
                 max_key_package_lifetime: int = MAX_KEY_PACKAGE_LIFETIME,
                 expected_identity: "bytes | str | None" = None,
                 pinned_keys: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trust_anchors = trust_anchors
        self.max_key_package_lifetime = max_key_package_lifetime
        self.expected_identity = expected_identity
        self.pinned_keys = pinned_keys

    def peer_authentication(self) -> str:
        """What these (validated) settings verify about clients, in words."""
        return describe_peer_auth(self, "client")

    def validate(self) -> "MLSServerSettings":
        other = super().validate()
        check_peer_auth(self, other, "client")
        lt = self.max_key_package_lifetime
        if not isinstance(lt, int) or not 0 < lt <= MAX_KEY_PACKAGE_LIFETIME:
            raise ValueError(f"max_key_package_lifetime must be 1..{MAX_KEY_PACKAGE_LIFETIME} "
                             f"seconds, not {lt!r}")
        return other  # type: ignore[return-value]
