"""A server-side engine in its own process, driven over a pipe (for the crash test).

Module-level so that ``spawn`` children can import it.
"""

from __future__ import annotations

from tlslite_mls.store import SQLiteStore
from tlslite_mls.twoparty.config import MLSHandshakeConfig
from tlslite_mls.twoparty.events import Send
from tlslite_mls.twoparty.session import TwoPartySession

CHECK_LABEL = b"crash test check"


def _sends(events) -> list[bytes]:
    out = [e.message.serialize() for e in events if isinstance(e, Send)]
    for e in events:
        if not isinstance(e, Send):
            e.keys.wipe()
    return out


def server_worker(path: str, key: bytes, conn) -> None:
    """Load the server session from SQLite and serve requests until told to stop."""
    store = SQLiteStore(path)
    session = TwoPartySession.load(MLSHandshakeConfig(store=store), key, store)
    conn.send(("ready", session.epoch))
    while True:
        op, data = conn.recv()
        if op == "msg":
            conn.send(("out", _sends(session.receive(data))))
        elif op == "update":
            conn.send(("out", _sends(session.start_update())))
        elif op == "check":
            conn.send(("check", session.epoch, session.state.value,
                       session.exporter(CHECK_LABEL, b"", 32)))
        else:
            break
    store.close()
