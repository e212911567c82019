"""MLS-TLS mode (draft-kohbrok-mls-tls as docs/profile.md section 8 settles it).

A secure channel on its own port: MLS (the two-party profile) replaces the TLS 1.3
handshake and keys tlslite-ng's TLS 1.3 record layer; epoch changes and resumption
are in-band TwoPartyMessages. ``MLSTLSClient``/``MLSTLSServer`` wrap a connected
socket; the settings classes configure them.
"""

from .connection import MLSTLSChannel, MLSTLSClient, MLSTLSServer, UpdateInFlight, new_session_key
from .errors import MLSTLSClosedError, MLSTLSError, MLSTLSLocalAlert, MLSTLSRemoteAlert
from .keys import CLIENT_LABEL, SERVER_LABEL
from .records import PeerClosedAbruptly
from .settings import (DEFAULT_MLS_TLS_SUITES, MLSTLSClientSettings, MLSTLSServerSettings,
                       MLSTLSSettings)
from .suites import RecordSuite, UnsupportedSuiteError, mls_tls_suites, record_suite

__all__ = [
    "MLSTLSChannel", "MLSTLSClient", "MLSTLSServer", "MLSTLSSettings", "MLSTLSClientSettings",
    "MLSTLSServerSettings", "DEFAULT_MLS_TLS_SUITES", "MLSTLSError", "MLSTLSLocalAlert",
    "MLSTLSRemoteAlert", "MLSTLSClosedError", "PeerClosedAbruptly", "UpdateInFlight",
    "UnsupportedSuiteError", "RecordSuite", "record_suite", "mls_tls_suites",
    "CLIENT_LABEL", "SERVER_LABEL", "new_session_key",
]
