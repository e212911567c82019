"""Every code point of the TLS extension mode is a setting (PROFILE.md section 1).

Two peers configured alike with other values than the defaults interoperate (the
values are the ones on the wire); a pair that disagrees on any one of them fails
with the alert of section 4 and an exception naming the reason on both sides.
"""

from __future__ import annotations

import pytest
from tlslite.constants import AlertDescription, ContentType
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import Message

from tlslite_mls.codepoints import TwoPartyMLSMessageType as Kind
from tlslite_mls.mls.constants import MLS10
from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from tlsutil import client_mls, pair, server_mls, tls13_settings

AD = AlertDescription

ALT_TYPES = {Kind.CONNECTION_UPDATE: 0x0171, Kind.EPOCH_KEY_UPDATE: 0x0172,
             Kind.RESUMPTION_REQUEST: 0x0173, Kind.RESUMPTION_RESPONSE: 0x0174}
ALT = dict(extension_type=0xFF5E, handshake_type=230, message_types=ALT_TYPES,
           binding_extension_type=0xF1B1, client_hello_hash_extension_type=0xF1B2,
           group_id_prefix=b"alt-profile")


class _Recording(MLSTLSConnection):
    """Remembers the bytes of every mls_handshake message it sends."""

    def _sendMsg(self, msg, *a, **kw):  # noqa: N802
        hs_type = getattr(self._mls_cfg, "handshake_type", None)
        if isinstance(msg, Message) and msg.contentType == ContentType.handshake and \
                msg.write()[:1] == bytes([hs_type]):
            self.__dict__.setdefault("mls_sent", []).append(bytes(msg.write()))
        return MLSTLSConnection._sendMsg(self, msg, *a, **kw)


def _server(pki, mls):
    def run(sock):
        conn = _Recording(sock)
        conn.handshakeServerMLS(mls, certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings())
        conn.write(b"echo:" + bytes(conn.read()))
        conn.read()
        return conn
    return run


def _client(mls):
    def run(sock):
        conn = _Recording(sock)
        conn.handshakeClientMLS(mls, settings=tls13_settings())
        conn.write(b"ping")
        reply = bytes(conn.read())
        conn.mls_update(wait=True)  # a second epoch change, after the initial one
        conn.close()
        return conn, reply
    return run


def test_peers_with_other_code_points_interoperate(pki):
    c, s = pair(_client(client_mls(**ALT)), _server(pki, server_mls(**ALT)))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    srv = s.value
    assert reply == b"echo:ping" and conn.mls_negotiated and srv.mls_negotiated
    assert conn.mls_epoch == srv.mls_epoch == 3
    assert conn.mls_session.group_id.startswith(b"alt-profile")
    group = srv.mls_session._group
    assert {e.extension_type for e in group.extensions} >= {0xF1B1}
    # On the wire: mls_handshake type 230, TwoPartyMLSMessage with the configured tpmlsmt.
    sent = {int.from_bytes(m[6:8], "big") for m in conn.mls_sent + srv.mls_sent}
    assert all(m[0] == 230 and m[4:6] == MLS10.to_bytes(2, "big")
               for m in conn.mls_sent + srv.mls_sent)
    assert sent == {0x0171, 0x0172}


@pytest.mark.parametrize("field, value, alerting, alert, reason", [
    ("binding_extension_type", 0xF0A1, "server", AD.illegal_parameter, "tls_binding"),
    ("client_hello_hash_extension_type", 0xF0A2, "client", AD.illegal_parameter,
     "tls_client_hello_hash"),
    ("group_id_prefix", b"tls13", "client", AD.illegal_parameter, "group_id"),
    ("message_types", None, "server", AD.decode_error, "unknown tpmlsmt 1"),
], ids=["binding", "client_hello_hash", "group_id_prefix", "tpmlsmt"])
def test_mismatched_code_points_fail_cleanly(pki, field, value, alerting, alert, reason):
    """The client keeps one default the server changed: alert and reason, no hang."""
    client = dict(ALT)
    if value is None:
        del client[field]
    else:
        client[field] = value
    c, s = pair(_client(client_mls(**client)), _server(pki, server_mls(**ALT)))
    local, remote = (s.error, c.error) if alerting == "server" else (c.error, s.error)
    assert isinstance(local, TLSLocalAlert), (c.error, s.error)
    assert local.description == alert, local
    assert reason in str(local), str(local)
    # The peer sees the alert (or, once it has closed, a broken connection).
    assert isinstance(remote, (TLSRemoteAlert, OSError)), remote
    if isinstance(remote, TLSRemoteAlert):
        assert remote.description == alert


@pytest.mark.parametrize("cls", [MLSClientSettings, MLSServerSettings])
@pytest.mark.parametrize("kw, message", [
    (dict(binding_extension_type=0xF0A2), "must differ"),
    (dict(binding_extension_type=0x0003), "RFC 9420"),
    (dict(client_hello_hash_extension_type=0x10000), "16-bit"),
    (dict(client_hello_hash_extension_type=True), "16-bit"),
    (dict(group_id_prefix=b""), "group_id_prefix"),
    (dict(group_id_prefix="tls13"), "group_id_prefix"),
    (dict(group_id_prefix=b"x" * 65), "group_id_prefix"),
    (dict(message_types={Kind.CONNECTION_UPDATE: 1}), "every"),
    (dict(message_types={**ALT_TYPES, Kind.EPOCH_KEY_UPDATE: 0x0171}), "distinct"),
    (dict(message_types={**ALT_TYPES, Kind.EPOCH_KEY_UPDATE: -1}), "16-bit"),
    (dict(message_types={**ALT_TYPES, 9: 5}), "TwoPartyMLSMessageType"),
])
def test_bad_code_point_settings_are_refused(cls, kw, message):
    extra = {"expected_identity": b"x"} if cls is MLSClientSettings else {}
    with pytest.raises(ValueError, match=message):
        cls(**kw, **extra).validate()
