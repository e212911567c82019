"""Stores that cannot be opened or reached: one line at start, and during a handshake
a preferred server declines MLS while a required one sends internal_error."""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import subprocess

import pytest
from helpers import require
from hostile import PY, Server, env, good_client
from tlslite.constants import AlertDescription as AD
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlsutil import client_mls, free_port, pair, server_mls, tls13_settings

from tlslite_mls.tls import MLSTLSConnection


def _bad_stores(tmp_path) -> list:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no SQLite database" * 100)
    return [f"sqlite:///{tmp_path}/missing/dir/s.db", f"sqlite:///{tmp_path}",
            f"sqlite:///{garbage}", f"redis://:secret@127.0.0.1:{free_port()}/0"]


@pytest.mark.parametrize("mls_tls", [False, True], ids=["extension", "mls-tls"])
def test_store_that_cannot_be_opened_is_one_line_naming_it(tmp_path, mls_tls):
    require(importlib.util.find_spec("redis") is not None, "the redis Python package")
    for spec in _bad_stores(tmp_path):
        mode = ["--mls-tls"] if mls_tls else []
        r = subprocess.run([PY, "-m", "tlslite_mls", "server", *mode, "--store", spec,
                            "127.0.0.1:0"], capture_output=True, text=True, timeout=60,
                           env=env())
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        name = spec.replace(":secret@", "") if "secret" in spec else spec
        assert name in lines[0] and "secret" not in lines[0], (spec, lines[0])


def test_extension_mode_server_uses_store(tmp_path):
    db = tmp_path / "server.db"
    server = Server("--count", "1", "--store", f"sqlite:///{db}")
    try:
        good_client(server.port, mls_tls=False)
        assert server.proc.wait(30) == 0
    finally:
        server.stop()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM key_package_claims").fetchone()[0] == 1


def _redis_down():
    require(importlib.util.find_spec("redis") is not None, "the redis Python package")
    from tlslite_mls.store import RedisStore
    return RedisStore(f"redis://127.0.0.1:{free_port()}/0")


def _handshake(pki, mode: str):
    store = _redis_down()

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(mode=mode, store=store), certChain=pki.chain(),
                                privateKey=pki.key(), settings=tls13_settings())
        conn.write(b"ok")
        return conn

    def client(sock):
        # trust the test CA: a fallback to classic TLS checks the certificate
        conn = MLSTLSConnection(sock, mls_settings=client_mls(pki))
        conn.handshakeClientCert(settings=tls13_settings(), serverName="localhost")
        assert bytes(conn.read()) == b"ok"
        return conn

    return pair(client, server)


def test_redis_down_preferred_server_declines_mls(pki, caplog):
    with caplog.at_level(logging.WARNING, logger="tlslite_mls"):
        c, s = _handshake(pki, "preferred")
    assert c.error is None and s.error is None, (c.error, s.error)
    assert not c.value.mls_negotiated and not s.value.mls_negotiated
    assert "state store" in s.value.mls_declined_reason
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("MLS declined" in r.getMessage() and "ConnectionError" in r.getMessage()
               for r in warnings), [r.getMessage() for r in warnings]


def test_redis_down_required_server_sends_internal_error(pki):
    c, s = _handshake(pki, "required")
    assert isinstance(c.error, TLSRemoteAlert) and c.error.description == AD.internal_error
    assert isinstance(s.error, TLSLocalAlert) and s.error.description == AD.internal_error
    assert "state store" in str(s.error) and "ConnectionError" in str(s.error)
