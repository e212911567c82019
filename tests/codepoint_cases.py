"""What the code point tests of both modes share (tests/tls and tests/mlstls).

Both modes take the MLS-side code points as settings; the tests configure a pair with
other values (``MLS_ALT``), then make the client keep one default and check that the
connection fails cleanly.
"""

from __future__ import annotations

from typing import Any

import pytest
from tlslite.constants import AlertDescription as AD

MLS_ALT = dict(binding_extension_type=0xF1B1, client_hello_hash_extension_type=0xF1B2,
               group_id_prefix=b"alt-profile")


def mismatch_cases(types_reason: str) -> list:
    """(field, client value, side that alerts, alert, reason); value None: the default."""
    return [
        pytest.param("binding_extension_type", 0xF0A1, "server", AD.illegal_parameter,
                     "tls_binding", id="binding"),
        pytest.param("client_hello_hash_extension_type", 0xF0A2, "client",
                     AD.illegal_parameter, "tls_client_hello_hash", id="client_hello_hash"),
        pytest.param("group_id_prefix", b"tls13", "client", AD.illegal_parameter, "group_id",
                     id="group_id_prefix"),
        pytest.param("message_types", None, "server", AD.decode_error, types_reason,
                     id="message_types"),
    ]


def client_kwargs(alt: dict, field: str, value: Any) -> dict:
    """``alt`` with ``field`` set to ``value`` (None: left to the default)."""
    kw = dict(alt)
    if value is None:
        del kw[field]
    else:
        kw[field] = value
    return kw


def assert_fails_cleanly(errors: tuple, alerting: str, local_cls: type, remote_cls: type,
                         alert: int, reason: str) -> None:
    """``errors`` = (client error, server error): the alerting side sent ``alert`` and
    names ``reason``; the other received it (or, once its peer closed, lost the stream)."""
    cerr, serr = errors
    local, remote = (serr, cerr) if alerting == "server" else (cerr, serr)
    assert isinstance(local, local_cls), errors
    assert local.description == alert, local
    assert reason in str(local), str(local)
    assert isinstance(remote, (remote_cls, OSError)), remote
    if isinstance(remote, remote_cls):
        assert remote.description == alert


BAD_MLS_CODE_POINTS = [
    (dict(binding_extension_type=0xF0A2), "must differ"),
    (dict(binding_extension_type=0x0003), "RFC 9420"),
    (dict(client_hello_hash_extension_type=0x0002), "RFC 9420"),
    (dict(binding_extension_type=-1), "16-bit"),
    (dict(client_hello_hash_extension_type=0x10000), "16-bit"),
    (dict(client_hello_hash_extension_type=True), "16-bit"),
    (dict(group_id_prefix=b""), "group_id_prefix"),
    (dict(group_id_prefix="tls13"), "group_id_prefix"),
    (dict(group_id_prefix=bytes(65)), "group_id_prefix"),
]
