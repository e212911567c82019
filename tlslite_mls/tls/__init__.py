"""TLS extension mode (draft-housley-tls-using-mls-handshake) on tlslite-ng.

``MLSTLSConnection`` negotiates MLS in ClientHello/ServerHello and falls back to
classic TLS 1.3 with any peer that does not; the settings classes configure it.
"""

from .connection import SHARED_SECRET_LABEL, MLSTLSConnection
from .errors import MLSNegotiationError, alert_for
from .extension import MLSBodyTooLarge, MLSHandshakeExtension, register_extension
from .errors import (MLSPostHandshakeError, MLSResumptionError, MLSUpdateInFlight,
                     MLSUsageLimitReached)
from .post_handshake import UpdatePolicy
from .settings import MLSClientSettings, MLSMode, MLSServerSettings, MLSSettings

__all__ = [
    "MLSTLSConnection", "MLSClientSettings", "MLSServerSettings", "MLSSettings", "MLSMode",
    "MLSHandshakeExtension", "MLSBodyTooLarge", "MLSNegotiationError", "register_extension",
    "alert_for", "SHARED_SECRET_LABEL", "UpdatePolicy", "MLSPostHandshakeError",
    "MLSUpdateInFlight", "MLSUsageLimitReached", "MLSResumptionError",
]
