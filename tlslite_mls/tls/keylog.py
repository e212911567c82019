"""NSS key log lines (``SSLKEYLOGFILE``) for tlslite-ng connections.

tlslite-ng 0.8.2 writes no key log, yet Wireshark needs one to show what MLS
changed in a handshake. The TLS 1.3 traffic secrets all pass through
``RecordLayer.calcTLS1_3PendingState``: the first call of a handshake carries
the handshake secrets, the second the application secrets.
"""

from __future__ import annotations

import os
import threading
from typing import Optional

_LOCK = threading.Lock()

HANDSHAKE_LABELS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET")
APPLICATION_LABELS = ("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")


def keylog_path(explicit: Optional[str] = None) -> Optional[str]:
    """``explicit`` if given, else ``$SSLKEYLOGFILE`` (empty means none)."""
    if explicit:
        return explicit
    return os.environ.get("SSLKEYLOGFILE") or None


def write_lines(path: str, client_random: bytes, pairs: list[tuple[str, bytes]]) -> None:
    """Append ``LABEL <client_random> <secret>`` lines; one lock for all threads."""
    text = "".join(f"{label} {bytes(client_random).hex()} {bytes(secret).hex()}\n"
                   for label, secret in pairs)
    with _LOCK:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, text.encode("ascii"))
        finally:
            os.close(fd)
