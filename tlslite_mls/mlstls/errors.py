"""Errors of the MLS-TLS channel and the one table from failures to alerts.

The alert exceptions derive from tlslite-ng's ``TLSLocalAlert``/``TLSRemoteAlert``,
so code written for the TLS extension mode (or plain tlslite-ng) catches them the
same way; they add ``reason`` (what went wrong, never key material) and
``alert_name``. The MLS core's or engine's error that caused a local alert stays
available as ``__cause__``.
"""

from __future__ import annotations

from typing import Optional

from tlslite.constants import AlertDescription, AlertLevel
from tlslite.errors import TLSError, TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import Alert

from ..twoparty.errors import alert_name as engine_alert_name

__all__ = [
    "MLSTLSError", "MLSTLSLocalAlert", "MLSTLSRemoteAlert", "MLSTLSClosedError",
    "ProtocolViolation", "alert_for", "alert_name",
]


def alert_name(description: int) -> str:
    return AlertDescription.toStr(description)


class MLSTLSError(TLSError):
    """Base of the errors this mode raises (besides configuration ``ValueError``)."""


class MLSTLSClosedError(MLSTLSError):
    """The channel is closed (locally, by the peer's close_notify, or after an alert)."""


class ProtocolViolation(MLSTLSError):
    """A violation found by the channel itself; ``alert`` is what the peer gets.

    Raised inside the channel and turned into :class:`MLSTLSLocalAlert` after the
    alert went out; callers see only the latter.
    """

    def __init__(self, alert: int, reason: str) -> None:
        super().__init__(reason)
        self.alert = alert
        self.reason = reason


class MLSTLSLocalAlert(TLSLocalAlert, MLSTLSError):
    """We ended the connection with a fatal alert; ``reason`` says why."""

    def __init__(self, description: int, reason: str) -> None:
        TLSLocalAlert.__init__(self, Alert().create(description, AlertLevel.fatal), reason)
        self.reason = reason

    @property
    def alert_name(self) -> str:
        """The alert's name (e.g. ``"decrypt_error"``), as logs and messages print it."""
        return alert_name(self.description)

    def __str__(self) -> str:
        return f"sent {self.alert_name}: {self.reason}"


class MLSTLSRemoteAlert(TLSRemoteAlert, MLSTLSError):
    """The peer ended the connection with an alert."""

    def __init__(self, description: int, level: int = AlertLevel.fatal) -> None:
        TLSRemoteAlert.__init__(self, Alert().create(description, level))

    @property
    def alert_name(self) -> str:
        """The alert's name (e.g. ``"decrypt_error"``), as logs and messages print it."""
        return alert_name(self.description)

    def __str__(self) -> str:
        return f"peer sent {self.alert_name}"


def alert_for(exc: BaseException) -> int:
    """The alert (docs/profile.md section 4) that ``exc`` ends the connection with.

    Our own record-layer violations carry theirs; everything else goes through
    the engine's mapping, the same one the extension mode uses.
    """
    if isinstance(exc, ProtocolViolation):
        return exc.alert
    return getattr(AlertDescription, engine_alert_name(exc), AlertDescription.internal_error)


def describe(exc: BaseException, context: Optional[str] = None) -> str:
    """A one-line reason without secrets: where, the exception type and its message."""
    text = str(exc) or type(exc).__name__
    where = f"{context}: " if context else ""
    return f"{where}{type(exc).__name__}: {text}"
