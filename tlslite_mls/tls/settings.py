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
from typing import Any, Optional, Sequence

from ..codepoints import (MAX_KEY_PACKAGE_LIFETIME, TLS_BINDING_EXTENSION_MODE,
                          TLS_EXT_MLS_HANDSHAKE, TLS_HS_MLS_HANDSHAKE)

# Default MLS suites, in preference order: the X25519/Ed25519 suites cost least.
DEFAULT_MLS_SUITES = (0x0001, 0x0003, 0x0002)


class MLSMode(str, Enum):
    """How much a side insists on MLS."""

    OFF = "off"              # never offer/accept: a plain tlslite-ng connection
    PREFERRED = "preferred"  # offer/accept, carry on with classic TLS 1.3 otherwise
    REQUIRED = "required"    # abort with handshake_failure when MLS is not negotiated


class MLSSettings:
    """Options common to both sides.

    :ivar mode: an :class:`MLSMode` (or its string value).
    :ivar suites: MLS cipher suite ids, most preferred first.
    :ivar credential: the local MLS ``Credential``; ``None`` for a throw-away
        basic credential made by the MLS core.
    :ivar signature_key: private signature key bytes matching ``credential``.
    :ivar auth_policy: the authentication policy ("Authentication Service")
        that judges the peer's credential; ``None`` for the core's default.
    :ivar send_certificates: also send TLS Certificate/CertificateVerify when
        MLS is negotiated. Both sides must agree: nothing on the wire says
        whether they follow.
    :ivar store: state store for groups and the KeyPackage replay cache.
    :ivar extension_type: code point of ``tls_using_mls_handshake``.
    :ivar handshake_type: code point of ``mls_handshake``.
    :ivar binding_protocol: ``tls_binding.protocol`` of this mode.
    """

    def __init__(self, mode: "MLSMode | str" = MLSMode.PREFERRED,
                 suites: Sequence[int] = DEFAULT_MLS_SUITES,
                 credential: Any = None, signature_key: Optional[bytes] = None,
                 auth_policy: Any = None, send_certificates: bool = False,
                 store: Any = None, extension_type: int = TLS_EXT_MLS_HANDSHAKE,
                 handshake_type: int = TLS_HS_MLS_HANDSHAKE,
                 binding_protocol: bytes = TLS_BINDING_EXTENSION_MODE) -> None:
        self.mode = mode
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
        return self.mode is not MLSMode.OFF

    @property
    def required(self) -> bool:
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
        if self.signature_key is not None and not isinstance(self.signature_key,
                                                             (bytes, bytearray)):
            raise ValueError("signature_key must be the private key as bytes")
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
        other.send_certificates = bool(self.send_certificates)
        return other

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


class MLSClientSettings(MLSSettings):
    """Client (MLS initiator) options; ``key_package_lifetime`` in seconds."""

    def __init__(self, *args: Any, key_package_lifetime: int = 3600, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_package_lifetime = key_package_lifetime

    def validate(self) -> "MLSClientSettings":
        other = super().validate()
        lt = self.key_package_lifetime
        if not isinstance(lt, int) or not 0 < lt <= MAX_KEY_PACKAGE_LIFETIME:
            raise ValueError(f"key_package_lifetime must be 1..{MAX_KEY_PACKAGE_LIFETIME} "
                             f"seconds, not {lt!r}")
        return other  # type: ignore[return-value]


class MLSServerSettings(MLSSettings):
    """Server (MLS responder) options."""

    def __init__(self, *args: Any, key_package_lifetime: int = 3600, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Used only if the responder also needs a lifetime (kept for symmetry).
        self.key_package_lifetime = key_package_lifetime
