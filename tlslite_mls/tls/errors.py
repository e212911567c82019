"""From MLS core failures to TLS alerts (PROFILE.md section 4).

The core raises typed errors; this module is the one place that decides which
alert each one becomes, so the client and the server can never disagree.
"""

from __future__ import annotations

from tlslite.constants import AlertDescription

from ..mls import errors as mls_errors
from ..mls.auth import CertificateError


class MLSNegotiationError(Exception):
    """MLS was required but not negotiated (raised as the cause of the alert)."""


def alert_for(exc: BaseException) -> int:
    """The AlertDescription for an exception from the MLS core.

    Engine errors name their alert in an ``alert`` attribute; that wins.
    """
    named = getattr(exc, "alert", None)
    if isinstance(named, str) and isinstance(getattr(AlertDescription, named, None), int):
        return getattr(AlertDescription, named)
    if isinstance(exc, mls_errors.DecodeError):
        return AlertDescription.decode_error
    if isinstance(exc, mls_errors.VerificationError):
        return AlertDescription.decrypt_error
    if isinstance(exc, CertificateError):
        return AlertDescription.bad_certificate  # x509 chain failed validation
    if isinstance(exc, mls_errors.CredentialError):
        return AlertDescription.access_denied
    if isinstance(exc, mls_errors.StateError):
        return AlertDescription.unexpected_message
    if isinstance(exc, (mls_errors.ProtocolError, mls_errors.UnsupportedError)):
        return AlertDescription.illegal_parameter
    return AlertDescription.internal_error


def describe(exc: BaseException) -> str:
    """A one-line reason without secrets: the exception type and its message."""
    text = str(exc) or type(exc).__name__
    return f"MLS: {type(exc).__name__}: {text}"
