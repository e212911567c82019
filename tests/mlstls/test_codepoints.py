"""Every code point of MLS-TLS mode is a setting (PROFILE.md section 1).

Two peers configured alike with other values interoperate; a pair that disagrees on
any one of them fails with the alert of section 4 and an exception naming the reason.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from tlslite.constants import AlertDescription as AD

from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSLocalAlert,
                                MLSTLSRemoteAlert, MLSTLSServer, MLSTLSServerSettings)
from tlslite_mls.store import MemoryStore

ALT = dict(message_types={t: 0x0200 + int(t) for t in T},
           binding_extension_type=0xF1B1, client_hello_hash_extension_type=0xF1B2,
           group_id_prefix=b"alt-profile")


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


@pytest.mark.parametrize("field, value, alerting, alert, reason", [
    ("binding_extension_type", 0xF0A1, "server", AD.illegal_parameter, "tls_binding"),
    ("client_hello_hash_extension_type", 0xF0A2, "client", AD.illegal_parameter,
     "tls_client_hello_hash"),
    ("group_id_prefix", b"tls13", "client", AD.illegal_parameter, "group_id"),
    ("message_types", None, "server", AD.decode_error, "unknown msg_type 1"),
], ids=["binding", "client_hello_hash", "group_id_prefix", "msg_type"])
def test_mismatched_code_points_fail_cleanly(field, value, alerting, alert, reason):
    client_kw = dict(ALT)
    if value is None:
        del client_kw[field]
    else:
        client_kw[field] = value
    _, cerr, serr = _run(client_kw, ALT)
    local, remote = (serr, cerr) if alerting == "server" else (cerr, serr)
    assert isinstance(local, MLSTLSLocalAlert), (cerr, serr)
    assert local.description == alert, local
    assert reason in str(local), str(local)
    assert isinstance(remote, (MLSTLSRemoteAlert, OSError)), remote
    if isinstance(remote, MLSTLSRemoteAlert):
        assert remote.description == alert


@pytest.mark.parametrize("cls", [MLSTLSClientSettings, MLSTLSServerSettings])
@pytest.mark.parametrize("kw, message", [
    (dict(binding_extension_type=0xF0A2), "must differ"),
    (dict(client_hello_hash_extension_type=0x0002), "RFC 9420"),
    (dict(binding_extension_type=-1), "16-bit"),
    (dict(group_id_prefix=b""), "group_id_prefix"),
    (dict(group_id_prefix=bytes(65)), "group_id_prefix"),
    (dict(message_types={T.CLIENT_HELLO: 1}), "every"),
    (dict(message_types={**ALT["message_types"], T.SERVER_HELLO: 0x0201}), "distinct"),
])
def test_bad_code_point_settings_are_refused(cls, kw, message):
    with pytest.raises(ValueError, match=message):
        cls(**kw).validate()
