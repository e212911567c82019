"""Every code point of the TLS extension mode is a setting (docs/profile.md section 1).

Two peers configured alike with other values than the defaults interoperate (the
values are the ones on the wire); a pair that disagrees on any one of them fails
with the alert of section 4 and an exception naming the reason on both sides.
"""

from __future__ import annotations

import pytest
from tlslite.constants import ContentType
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import Message

from codepoint_cases import BAD_MLS_CODE_POINTS, MLS_ALT, assert_fails_cleanly, \
    client_kwargs, mismatch_cases
from tlslite_mls.codepoints import TwoPartyMLSMessageType as Kind
from tlslite_mls.mls.constants import MLS10
from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
from tlsutil import client_mls, pair, server_mls, tls13_settings

ALT_TYPES = {Kind.CONNECTION_UPDATE: 0x0171, Kind.EPOCH_KEY_UPDATE: 0x0172,
             Kind.RESUMPTION_REQUEST: 0x0173, Kind.RESUMPTION_RESPONSE: 0x0174}
ALT = dict(extension_type=0xFF5E, handshake_type=230, message_types=ALT_TYPES, **MLS_ALT)


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


@pytest.mark.parametrize("field, value, alerting, alert, reason",
                         mismatch_cases("unknown tpmlsmt 1"))
def test_mismatched_code_points_fail_cleanly(pki, field, value, alerting, alert, reason):
    """The client keeps one default the server changed: alert and reason, no hang."""
    c, s = pair(_client(client_mls(**client_kwargs(ALT, field, value))),
                _server(pki, server_mls(**ALT)))
    assert_fails_cleanly((c.error, s.error), alerting, TLSLocalAlert, TLSRemoteAlert, alert,
                         reason)


@pytest.mark.parametrize("cls", [MLSClientSettings, MLSServerSettings])
@pytest.mark.parametrize("kw, message", BAD_MLS_CODE_POINTS + [
    (dict(message_types={Kind.CONNECTION_UPDATE: 1}), "every"),
    (dict(message_types={**ALT_TYPES, Kind.EPOCH_KEY_UPDATE: 0x0171}), "distinct"),
    (dict(message_types={**ALT_TYPES, Kind.EPOCH_KEY_UPDATE: -1}), "16-bit"),
    (dict(message_types={**ALT_TYPES, 9: 5}), "TwoPartyMLSMessageType"),
])
def test_bad_code_point_settings_are_refused(cls, kw, message):
    extra = {"expected_identity": b"x"} if cls is MLSClientSettings else {}
    with pytest.raises(ValueError, match=message):
        cls(**kw, **extra).validate()
