"""What the package logs: handshake outcome, mode, suite, epoch changes, resumption and
alerts, on ``tlslite_mls.*`` loggers, with no secret in any line."""

from __future__ import annotations

import logging

import pytest

from test_context import LABEL, Served, identity
from tlslite_mls import AcceptAnyCredential, ClientContext, ServerContext
from tlslite_mls.store import open_store


def exchange(server_ctx, client_ctx, session=None):
    def handler(sock):
        conn = server_ctx.wrap_socket(sock)
        conn.sendall(conn.recv(100))
        conn.sendall(conn.recv(100))
        conn.close()

    served = Served(handler)
    conn = client_ctx.wrap_socket(served.connect(), session=session)
    for msg in (b"a", b"b"):
        conn.sendall(msg)
        assert conn.recv(100) == msg
    secrets = [conn.exporter(LABEL, b"", 32).hex(),
               conn.exporter(b"TLS shared secret", b"", 32).hex()]
    out = conn.session, secrets
    conn.close()
    served.join()
    return out


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_connection_events_are_logged_without_secrets(mode, caplog):
    cred, key = identity(b"logged-client")
    server_ctx = ServerContext(mode=mode, store=open_store("memory:"),
                               **({"tickets": True} if mode == "extension" else {}))
    client_ctx = ClientContext((cred, key), mode=mode, auth_policy=AcceptAnyCredential(),
                               store=open_store("memory:"))
    with caplog.at_level(logging.DEBUG, logger="tlslite_mls"):
        session, secrets = exchange(server_ctx, client_ctx)
        _, more = exchange(server_ctx, client_ctx, session)
    lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records
             if r.name.startswith("tlslite_mls")]
    text = "\n".join(m for _, _, m in lines)
    info = [m for name, level, m in lines if level == logging.INFO]
    # One INFO line per side and connection: the outcome, with mode and suite.
    assert sum(f"client handshake done: {mode}, MLS suite 0x" in m for m in info) == 2
    assert sum(f"server handshake done: {mode}, MLS suite 0x" in m for m in info) == 2
    assert sum(m.endswith(", resumed") for m in info) == 2  # the second connection, both sides
    assert "epoch 2 in both directions" in text
    assert ("MLS group resumed at epoch" if mode == "extension" else "(resumed)") in text
    assert "epoch change 1 -> 2" in text
    assert isinstance(key, bytes)
    for secret in secrets + more + [key.hex()]:
        assert secret not in text
    assert all(name.startswith("tlslite_mls.") for name, _, _ in lines)


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_a_refused_handshake_logs_the_alert(mode, caplog):
    server_ctx = ServerContext(mode=mode, **({"mls": "required"} if mode == "extension" else {}))
    client_ctx = ClientContext(mode=mode, expected_identity=b"someone-else")

    def handler(sock):
        try:
            server_ctx.wrap_socket(sock)
        except Exception as exc:  # noqa: BLE001 - the client's alert
            return exc

    with caplog.at_level(logging.DEBUG, logger="tlslite_mls"):
        served = Served(handler)
        with pytest.raises(Exception):
            client_ctx.wrap_socket(served.connect())
        served.join()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "client handshake failed" in text
    assert "sending access_denied" in text  # the alert the client sent, named
    # The MLS-TLS server's handshake is over once its Welcome is out: it learns of the
    # refusal from the alert, as a received alert.
    assert ("server handshake failed" in text) if mode == "extension" \
        else ("server: peer sent access_denied" in text or "server handshake done" in text)
