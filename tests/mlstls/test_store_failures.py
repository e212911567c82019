"""An MLS-TLS server whose store is down ends the handshake with internal_error and
says why (MLS-TLS has no classic TLS to fall back to)."""

from __future__ import annotations

import importlib.util
import socket
import threading

import pytest
from helpers import require
from tlslite.constants import AlertDescription as AD

from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSServer,
                                MLSTLSServerSettings)
from tlslite_mls.mlstls.errors import MLSTLSLocalAlert, MLSTLSRemoteAlert


def test_redis_down_mls_tls_server_sends_internal_error_with_reason():
    require(importlib.util.find_spec("redis") is not None, "the redis Python package")
    from tlslite_mls.store import RedisStore
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    a, b = socket.socketpair()
    server = MLSTLSServer(b, MLSTLSServerSettings(store=RedisStore(f"redis://127.0.0.1:{port}/0")))
    errors: list = []

    def serve() -> None:
        try:
            server.handshake()
        except Exception as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client = MLSTLSClient(a, MLSTLSClientSettings(auth_policy=AcceptAnyCredential(),
                                                  store=None, timeout=10))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        client.handshake()
    t.join(10)
    a.close()
    b.close()
    assert info.value.description == AD.internal_error
    assert isinstance(errors[0], MLSTLSLocalAlert) and errors[0].description == AD.internal_error
    assert "state store failed" in errors[0].reason and "ConnectionError" in errors[0].reason
