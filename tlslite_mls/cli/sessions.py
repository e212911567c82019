"""Extension-mode sessions kept between client runs: ``client --session-key NAME
--store SPEC`` keeps the TLS session (its tickets and resumption secret) in the store
beside the MLS group the library keeps there; ``--resume`` takes it back.

The record holds secrets, as the MLS group state beside it does: it lives only in the
store the user named, with the lifetime of its longest ticket.
"""

from __future__ import annotations

import json
import time
from typing import Any, Optional

__all__ = ["save_session", "load_session"]

_PREFIX = b"tlslite-mls cli session:"


def _key(name: str) -> bytes:
    return _PREFIX + name.encode()


def save_session(store: Any, name: str, session: Any) -> bool:
    """Keep ``session`` under ``name``; False when it has no ticket to resume with."""
    tickets = [t for t in (getattr(session, "tickets", None) or [])
               if getattr(t, "time", None) is not None]
    if not tickets:
        return False
    record = {
        "cipher_suite": session.cipherSuite,
        "session_id": bytes(session.sessionID or b"").hex(),
        "server_name": session.serverName,
        "resumption_master_secret": bytes(session.resumptionMasterSecret).hex(),
        "app_proto": bytes(session.appProto or b"").hex(),
        "tickets": [{"lifetime": t.ticket_lifetime, "age_add": t.ticket_age_add,
                     "nonce": bytes(t.ticket_nonce).hex(), "ticket": bytes(t.ticket).hex(),
                     "time": t.time} for t in tickets],
    }
    expires = max(t.time + t.ticket_lifetime for t in tickets)
    store.save_group(_key(name), json.dumps(record).encode(), expires_at=expires)
    return True


def load_session(store: Any, name: str) -> Optional[Any]:
    """The session kept under ``name`` (with its unexpired tickets), or None."""
    from tlslite.messages import NewSessionTicket
    from tlslite.session import Session
    blob = store.load_group(_key(name))
    if blob is None:
        return None
    record = json.loads(blob)
    session = Session()
    session.cipherSuite = record["cipher_suite"]
    session.sessionID = bytearray.fromhex(record["session_id"])
    session.srpUsername = None  # as a certificate handshake's session has it
    session.serverName = record["server_name"]
    session.resumptionMasterSecret = bytearray.fromhex(record["resumption_master_secret"])
    session.appProto = bytearray.fromhex(record["app_proto"])
    session.resumable = True
    now = time.time()
    session.tickets = []
    for t in record["tickets"]:
        if t["time"] + t["lifetime"] <= now:
            continue
        ticket = NewSessionTicket().create(t["lifetime"], t["age_add"],
                                           bytearray.fromhex(t["nonce"]),
                                           bytearray.fromhex(t["ticket"]), [])
        ticket.time = t["time"]
        session.tickets.append(ticket)
    return session if session.tickets else None
