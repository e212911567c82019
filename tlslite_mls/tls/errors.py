"""From MLS core failures to TLS alerts (docs/profile.md section 4).

The core raises typed errors; this module is the one place that decides which
alert each one becomes, so the client and the server can never disagree.
"""

from __future__ import annotations

from tlslite.constants import AlertDescription

from ..twoparty.errors import alert_name


class MLSNegotiationError(Exception):
    """MLS was required but not negotiated (raised as the cause of the alert)."""


class MLSPostHandshakeError(Exception):
    """Misuse of the post-handshake API (nothing was sent)."""


class MLSUpdateInFlight(MLSPostHandshakeError):
    """An epoch change is under way: no second one, and no TLS KeyUpdate (section 5)."""


class MLSUsageLimitReached(MLSPostHandshakeError):
    """The sending key reached its AEAD usage limit before the epoch change completed."""


class MLSResumptionError(MLSPostHandshakeError):
    """The MLS group of a session cannot be resumed (no stored state, ticket refused)."""


def alert_for(exc: BaseException) -> int:
    """The AlertDescription for an exception from the MLS core or the engine.

    The mapping itself (docs/profile.md section 4) is the engine's
    :func:`~tlslite_mls.twoparty.errors.alert_name`, shared by both modes.
    """
    return getattr(AlertDescription, alert_name(exc), AlertDescription.internal_error)


def describe(exc: BaseException) -> str:
    """A one-line reason without secrets: the exception type and its message."""
    text = str(exc) or type(exc).__name__
    return f"MLS: {type(exc).__name__}: {text}"
