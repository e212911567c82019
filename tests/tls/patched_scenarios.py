"""Handshake scenarios run in a separate process, against whichever tlslite-ng
is first on PYTHONPATH (test_patch.py points it at the hook-patched tree).

Prints one JSON object: where tlslite came from, whether the plugin uses the
hooks, and per scenario either the observed facts or the error.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tlslite  # noqa: E402
from tlslite import TLSConnection  # noqa: E402

from tlslite_mls.tls import MLSTLSConnection  # noqa: E402
from tlslite_mls.tls.connection import HOOKS  # noqa: E402
from tlsutil import client_mls, make_pki, pair, server_mls, tls13_settings  # noqa: E402


def run(pki, client_cls, server_cls, cmls=None, smls=None, csettings=None, ssettings=None,
        session=None, keep=False):
    """One connection; ``session``: resume it (MLS resumption); ``keep``: the client's
    result holds its session."""
    def client(sock):
        conn = client_cls(sock)
        if isinstance(conn, MLSTLSConnection):
            conn.mls_settings = cmls or client_mls()
        if session is not None:
            conn.handshakeClientMLSResume(session, settings=csettings or tls13_settings(),
                                          serverName="localhost")
        else:
            conn.handshakeClientCert(settings=csettings or tls13_settings(),
                                     serverName="localhost")
        conn.write(b"ping")
        reply = bytes(conn.read())
        return {"version": list(conn.version), "reply": reply.decode(),
                "resumed": conn.resumed, **({"session": conn.session} if keep else {}),
                "mls": getattr(conn, "mls_negotiated", False),
                "server_cert": conn.session.serverCertChain is not None,
                "fell_back": getattr(conn, "mls_fell_back", None),
                "certificate": getattr(conn, "server_certificate_check", None),
                "exporter": conn.mls_exporter(b"t", b"", 8).hex()
                if getattr(conn, "mls_negotiated", False) else None}

    def server(sock):
        conn = server_cls(sock)
        if isinstance(conn, MLSTLSConnection):
            conn.mls_settings = smls or server_mls()
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=ssettings or tls13_settings())
        conn.write(b"pong:" + bytes(conn.read()))
        return {"mls": getattr(conn, "mls_negotiated", False),
                "exporter": conn.mls_exporter(b"t", b"", 8).hex()
                if getattr(conn, "mls_negotiated", False) else None}
    c, s = pair(client, server)
    if c.error or s.error:
        return {"error": f"client: {c.error!r} server: {s.error!r}"}
    return {"client": c.value, "server": s.value}


def oversized(pki) -> dict:
    """A ClientHello that declares 16 MiB: the alert after its first record."""
    import socket
    from hostile import oversized_hello, read_alert
    from tlsutil import run_in_thread
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)

    def serve():
        conn = MLSTLSConnection(b, mls_settings=server_mls())
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=tls13_settings())
    t, res = run_in_thread(serve)
    a.sendall(oversized_hello(False))
    alert = read_alert(a)
    t.join(10)
    a.close()
    b.close()
    return {"alert": alert, "server": str(res.error)}


def tickets(pki) -> dict:
    """MLS handshake with tickets, then MLS resumption, with tlslite-ng's pure-Python
    AEADs refused: whether it resumed, and how often tlslite-ng asked for the ticket
    AEAD through _hook_ticket_cipher (the hook patch)."""
    import pytest
    from helpers import AEADWatch
    from tlslite_mls.store import MemoryStore
    from tlslite_mls.tls.tickets import TICKET_HOOK
    cstore, sstore = MemoryStore(), MemoryStore()
    ssettings = tls13_settings(ticketKeys=[bytearray(32)])
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        watch = AEADWatch().install(mp)
        hook = MLSTLSConnection._hook_ticket_cipher
        mp.setattr(MLSTLSConnection, "_hook_ticket_cipher",
                   lambda self, key, settings: calls.append(1) or hook(self, key, settings))
        first = run(pki, MLSTLSConnection, MLSTLSConnection, cmls=client_mls(store=cstore),
                    smls=server_mls(store=sstore), ssettings=ssettings, keep=True)
        if "error" in first:
            return first
        second = run(pki, MLSTLSConnection, MLSTLSConnection, cmls=client_mls(store=cstore),
                     smls=server_mls(store=sstore), ssettings=ssettings,
                     session=first["client"]["session"])
    if "error" in second:
        return second
    return {"ticket_hook": TICKET_HOOK, "hook_calls": len(calls),
            "resumed": second["client"]["resumed"], "mls": second["client"]["mls"],
            "pure_python": watch.pure_python}


def main() -> None:
    pki = make_pki(Path(tempfile.mkdtemp()))
    hrr_server = tls13_settings(keyShares=["secp256r1"], eccCurves=["secp256r1"])
    hrr_client = tls13_settings(eccCurves=["x25519", "secp256r1"])
    out = {"tlslite": tlslite.__file__, "hooks": HOOKS, "scenarios": {
        "mls": run(pki, MLSTLSConnection, MLSTLSConnection),
        "mls-hrr": run(pki, MLSTLSConnection, MLSTLSConnection, csettings=hrr_client,
                       ssettings=hrr_server),
        "mls-hrr-required": run(pki, MLSTLSConnection, MLSTLSConnection,
                                cmls=client_mls(mode="required"),
                                smls=server_mls(mode="required"), csettings=hrr_client,
                                ssettings=hrr_server),
        "mls-with-certificates": run(pki, MLSTLSConnection, MLSTLSConnection,
                                     cmls=client_mls(send_certificates=True),
                                     smls=server_mls(send_certificates=True)),
        "client-fallback": run(pki, MLSTLSConnection, TLSConnection, cmls=client_mls(pki)),
        "server-fallback": run(pki, TLSConnection, MLSTLSConnection),
        "declined": run(pki, MLSTLSConnection, MLSTLSConnection,
                        cmls=client_mls(pki, suites=[3]), smls=server_mls(suites=[1])),
    }}
    out["oversized"] = oversized(pki)
    out["tickets"] = tickets(pki)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
