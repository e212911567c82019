"""Every code point of MLS-TLS mode is a setting (docs/profile.md section 1).

Two peers configured alike with other values interoperate; a pair that disagrees on
any one of them fails with the alert of section 4 and an exception naming the reason.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from codepoint_cases import BAD_MLS_CODE_POINTS, MLS_ALT, assert_fails_cleanly, \
    client_kwargs, mismatch_cases
from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSLocalAlert,
                                MLSTLSRemoteAlert, MLSTLSServer, MLSTLSServerSettings)
from tlslite_mls.store import MemoryStore

ALT = dict(message_types={t: 0x0200 + int(t) for t in T}, **MLS_ALT)


def _run(client_kw: dict, server_kw: dict) -> tuple[Any, Any, Any]:
    """(client, client error, server error) of one connection with an echo and an update."""
    a, b = socket.socketpair()
    a.settimeout(30)
    b.settimeout(30)
    server = MLSTLSServer(b, MLSTLSServerSettings(suites=[3], store=MemoryStore(),
                                                  **server_kw))
    errors: dict = {}

    def serve() -> None:
        try:
            while True:
                data = server.read()
                if not data:
                    return
                server.write(data)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            errors["server"] = exc
        finally:
            server.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    client = MLSTLSClient(a, MLSTLSClientSettings(suites=[3], auth_policy=AcceptAnyCredential(),
                                                  store=MemoryStore(), **client_kw))
    try:
        client.write(b"ping")
        assert client.read() == b"ping"
        client.start_update()
        client.write(b"pong")
        assert client.read() == b"pong"
        client.close()
    except Exception as exc:  # noqa: BLE001
        errors["client"] = exc
    t.join(30)
    assert not t.is_alive(), "server thread hung"
    a.close()
    b.close()
    return client, errors.get("client"), errors.get("server")


def test_peers_with_other_code_points_interoperate():
    client, cerr, serr = _run(ALT, ALT)
    assert cerr is None and serr is None, (cerr, serr)
    assert client.session_id.startswith(b"alt-profile")
    assert client.epoch == 3 and client.epoch_changes == 2
    group = client.session._group
    assert 0xF1B1 in {e.extension_type for e in group.extensions}


@pytest.mark.parametrize("field, value, alerting, alert, reason",
                         mismatch_cases("unknown msg_type 1"))
def test_mismatched_code_points_fail_cleanly(field, value, alerting, alert, reason):
    _, cerr, serr = _run(client_kwargs(ALT, field, value), ALT)
    assert_fails_cleanly((cerr, serr), alerting, MLSTLSLocalAlert, MLSTLSRemoteAlert, alert,
                         reason)


@pytest.mark.parametrize("cls", [MLSTLSClientSettings, MLSTLSServerSettings])
@pytest.mark.parametrize("kw, message", BAD_MLS_CODE_POINTS + [
    (dict(message_types={T.CLIENT_HELLO: 1}), "every"),
    (dict(message_types={**ALT["message_types"], T.SERVER_HELLO: 0x0201}), "distinct"),
])
def test_bad_code_point_settings_are_refused(cls, kw, message):
    with pytest.raises(ValueError, match=message):
        cls(**kw).validate()
