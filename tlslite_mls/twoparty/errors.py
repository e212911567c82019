"""Errors of the two-party engine, each naming the TLS alert it ends a connection with.

Every engine error derives from the MLS core error of the same kind (``StateError``,
``ProtocolError``, ...), so code that maps core errors to alerts by type keeps working,
and it carries an ``alert`` attribute with the alert's name (docs/profile.md section 4) for
code that does not want to know the hierarchy. Failures raised by the MLS core while the
engine processes a peer's message are re-raised as the matching engine error
(:func:`as_engine_error`), with the original as ``__cause__``.

:class:`Declined` is not an error of the peer: the responder will not use this
KeyPackage, and the TLS layer completes classic TLS 1.3 instead (docs/profile.md section 3).
"""

from __future__ import annotations

from ..mls import errors as _core
from ..mls.auth import CertificateError as _CoreCertificateError

__all__ = [
    "Declined",
    "TwoPartyError",
    "UnexpectedMessage",
    "UpdateInFlight",
    "WrongEpoch",
    "InvalidCommit",
    "BindingError",
    "ClientHelloHashMismatch",
    "MessageDecodeError",
    "MessageVerificationError",
    "PeerCredentialRefused",
    "PeerCertificateRefused",
    "IllegalParameter",
    "UnsupportedFeature",
    "as_engine_error",
    "alert_name",
]


class Declined(Exception):
    """The responder cannot or will not use this KeyPackage; ``reason`` says why.

    Raised for an unsupported cipher suite, a credential the server's policy refuses,
    a lifetime outside the allowed range, or a KeyPackage already used (replay cache).
    The server leaves the extension out and falls back to classic TLS 1.3.
    """

    def __init__(self, reason: str, alert: str = "handshake_failure") -> None:
        super().__init__(reason)
        self.reason = reason
        # The alert for a peer that required MLS: a refused credential is
        # access_denied (bad_certificate for an x509 chain), anything else
        # handshake_failure (docs/profile.md section 4).
        self.alert = alert


class TwoPartyError(_core.MLSError):
    """Base of the engine's errors; ``alert`` names the TLS alert."""

    alert = "internal_error"


class UnexpectedMessage(TwoPartyError, _core.StateError):
    """A message the engine's state does not allow (e.g. a marker nobody asked for)."""

    alert = "unexpected_message"


class UpdateInFlight(UnexpectedMessage):
    """A local request (new update, resumption) while an epoch change is in flight.

    A local misuse rather than a peer's fault; it changes nothing and sends nothing.
    """


class IllegalParameter(TwoPartyError, _core.ProtocolError):
    """Well-formed input the profile forbids."""

    alert = "illegal_parameter"


class WrongEpoch(IllegalParameter):
    """A marker or commit for another epoch than the one the engine expects."""


class InvalidCommit(IllegalParameter):
    """A commit that breaks the receive policy of docs/profile.md section 2."""


class BindingError(IllegalParameter):
    """A KeyPackage or group without the right ``tls_binding``, or a bad group_id."""


class ClientHelloHashMismatch(IllegalParameter):
    """The Welcome's ``tls_client_hello_hash`` is not the hash of the ClientHello we sent.

    illegal_parameter rather than decrypt_error: the GroupInfo signature itself is
    valid, it just covers another ClientHello (a parameter of the wrong value).
    """


class UnsupportedFeature(IllegalParameter, _core.UnsupportedError):
    """Something this implementation does not offer (e.g. an unknown state version)."""


class MessageDecodeError(TwoPartyError, _core.DecodeError):
    """Malformed bytes."""

    alert = "decode_error"


class MessageVerificationError(TwoPartyError, _core.VerificationError):
    """A signature, tag, HPKE or AEAD check failed."""

    alert = "decrypt_error"


class PeerCredentialRefused(TwoPartyError, _core.CredentialError):
    """The authentication policy refused the peer's credential."""

    alert = "access_denied"


class PeerCertificateRefused(PeerCredentialRefused, _CoreCertificateError):
    """The peer's x509 chain does not validate."""

    alert = "bad_certificate"


def as_engine_error(exc: BaseException) -> BaseException:
    """The engine error for a core error (already-engine errors pass through).

    Anything that is not an MLS error (a bug, a store failure) is returned unchanged.
    """
    if isinstance(exc, TwoPartyError) or not isinstance(exc, _core.MLSError):
        return exc
    if isinstance(exc, _core.DecodeError):
        new: TwoPartyError = MessageDecodeError(exc.reason, list(exc.path))
    elif isinstance(exc, _core.VerificationError):
        new = MessageVerificationError(str(exc))
    elif isinstance(exc, _CoreCertificateError):
        new = PeerCertificateRefused(str(exc))
    elif isinstance(exc, _core.CredentialError):
        new = PeerCredentialRefused(str(exc))
    elif isinstance(exc, _core.StateError):
        new = UnexpectedMessage(str(exc))
    elif isinstance(exc, _core.UnsupportedError):
        new = UnsupportedFeature(str(exc))
    else:
        new = IllegalParameter(str(exc))
    new.__cause__ = exc
    return new


def alert_name(exc: BaseException) -> str:
    """The TLS alert an exception ends the connection with (``internal_error`` if unknown)."""
    alert = getattr(as_engine_error(exc), "alert", None)
    return alert if isinstance(alert, str) else "internal_error"
