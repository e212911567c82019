"""Hostile input against an MLS-TLS server in its own process, over raw sockets.

Each probe checks the alert that comes back on the wire and the reason our server
names for it (its log line carries the exception: type, alert and reason).
"""

from __future__ import annotations

import socket

import pytest
from tlslite import HandshakeSettings, TLSConnection
from tlslite.constants import AlertDescription as AD
from tlslite.errors import TLSRemoteAlert

from mlstls_util import ServerProcess, read_plain_alert, record
from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mlstls import MLSTLSClient, MLSTLSClientSettings
from tlslite_mls.twoparty import SwitchReceivingKeys
from tlslite_mls.twoparty.messages import TwoPartyMessage, from_mls_tls

FAILED = r"^server: connection from 127\.0\.0\.1:\d+ failed \(MLS-TLS\): "


@pytest.fixture(scope="module")
def server():
    srv = ServerProcess("--count", "17", "--suite", "3", "--identity", "probe-server")
    yield srv
    srv.stop()


def _raw(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return s


def _probe(server, data: bytes, shut: bool = False) -> tuple[tuple[int, int], str]:
    with _raw(server) as s:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        alert = read_plain_alert(s)
    return alert, server.line_matching(FAILED)


def _client(server, **kw) -> MLSTLSClient:
    settings = MLSTLSClientSettings(suites=[3], auth_policy=AcceptAnyCredential(),
                                    initial_update=False, **kw)
    c = MLSTLSClient(_raw(server), settings)
    c.handshake()
    server.line_matching(r"^server: MLS-TLS \(new session\)")
    return c


def test_garbage_that_is_no_record(server):
    alert, line = _probe(server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert alert == (2, AD.unexpected_message)
    assert "sent unexpected_message: record of unknown content type 71" in line


def test_garbage_in_a_handshake_record(server):
    alert, line = _probe(server, record(22, b"\x00\x01\x00\x63" + bytes(range(40))))
    assert alert == (2, AD.decode_error)
    assert "sent decode_error: malformed TwoPartyMessage: " in line and "msg_type 99" in line


def test_malformed_key_package(server):
    body = TwoPartyMessage(T.CLIENT_HELLO, message=b"\x00\x01\x00\x05" + b"\x00\x01" * 20)
    # The codec refuses the malformed KeyPackage itself, so build the bytes by hand.
    raw = b"\x00\x01\x00\x01" + body.message  # type: ignore[operator]
    alert, line = _probe(server, record(22, raw))
    assert alert == (2, AD.decode_error)
    assert "client_hello" in line and "sent decode_error" in line


def test_a_classic_tls_client_hello_is_refused(server):
    """A real tlslite-ng ClientHello: decode_error with a hint, never a parse crash."""
    with _raw(server) as s:
        conn = TLSConnection(s)
        with pytest.raises(TLSRemoteAlert) as info:
            conn.handshakeClientCert(settings=HandshakeSettings())
    assert info.value.description == AD.decode_error
    line = server.line_matching(FAILED)
    assert "sent decode_error: TwoPartyMessage version 0x0100 is not " \
           "mls10 (looks like a TLS ClientHello)" in line


def test_wrong_two_party_message_version_is_decode_error(server):
    """docs/profile.md section 4: a TwoPartyMessage of another version is a malformed MLS
    encoding (decode_error), as a TwoPartyMLSMessage is in the extension mode."""
    hello = TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=1).serialize()
    alert, line = _probe(server, record(22, b"\x00\x02" + hello[2:]))
    assert alert == (2, AD.decode_error)
    assert "sent decode_error: TwoPartyMessage version 0x0002 is not mls10" in line


def test_marker_as_the_first_flight(server):
    raw = TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=2).serialize()
    alert, line = _probe(server, record(22, raw))
    assert alert == (2, AD.unexpected_message)
    assert "sent unexpected_message: epoch_key_update where client_hello or " \
           "resumption_request belongs" in line


def test_application_data_before_the_handshake(server):
    alert, line = _probe(server, record(23, b"hello"))
    assert alert == (2, AD.unexpected_message)
    assert "application_data record before the handshake is complete" in line


def test_truncated_record(server):
    alert, line = _probe(server, b"\x16\x03\x03\x00\x64" + b"\x00\x01" * 5, shut=True)
    assert alert == (2, AD.decode_error)
    assert "sent decode_error: truncated record: the stream ended inside a record" in line


def test_stream_ends_inside_a_message(server):
    """A client_hello cut short, then the end of the stream: decode_error, not a silent
    close."""
    alert, line = _probe(server, record(22, b"\x00\x01\x00\x01\x00\x01\x00\x05"), shut=True)
    assert alert == (2, AD.decode_error)
    assert "sent decode_error: truncated message: the stream ended inside a TwoPartyMessage" \
        in line


def test_oversized_record(server):
    alert, line = _probe(server, b"\x16\x03\x03\xff\xff" + bytes(64))
    assert alert == (2, AD.record_overflow)
    assert "sent record_overflow: record too large" in line


def _read_alert_after_switch(c: MLSTLSClient) -> tuple[int, bytes]:
    """Read the server's marker, switch only our reading keys, return the next record."""
    ctype, data = c._records.recv()
    (marker,) = c._reassembler.feed(data)
    assert ctype == 22 and marker.msg_type == T.EPOCH_KEY_UPDATE
    events = c.session.receive(from_mls_tls(marker))
    c._run([ev for ev in events if isinstance(ev, SwitchReceivingKeys)])
    return c._records.recv()


def test_wrong_epoch_marker(server):
    c = _client(server)
    epoch = c.epoch
    c._run(c.session.start_update())  # our commit; the server answers with its marker
    c._send_message(TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=epoch + 5))
    ctype, data = _read_alert_after_switch(c)
    assert (ctype, data) == (21, bytes([2, AD.illegal_parameter]))  # encrypted under e+1
    line = server.line_matching(FAILED)
    assert f"sent illegal_parameter: WrongEpoch: epoch_key_update for epoch {epoch + 5}, " \
           f"expected {epoch + 1}" in line
    c.sock.close()


def test_marker_nobody_asked_for(server):
    c = _client(server)
    c._send_message(TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=c.epoch + 1))
    ctype, data = c._records.recv()
    assert (ctype, data) == (21, bytes([2, AD.unexpected_message]))
    line = server.line_matching(FAILED)
    assert "sent unexpected_message" in line and "epoch_key_update while idle" in line
    c.sock.close()


def test_client_hello_after_the_handshake(server):
    from tlslite_mls.mlstls.connection import _wrap_key_package
    from tlslite_mls.mlstls.settings import MLSTLSClientSettings as S
    from tlslite_mls.twoparty import InitiatorHandshake, MLSHandshakeConfig
    c = _client(server)
    kp = InitiatorHandshake(MLSHandshakeConfig(**S(suites=[3]).engine_options())).key_package()
    c._send_message(TwoPartyMessage(T.CLIENT_HELLO, message=_wrap_key_package(kp)))
    ctype, data = c._records.recv()
    assert (ctype, data) == (21, bytes([2, AD.unexpected_message]))
    assert "sent unexpected_message: client_hello after the handshake" in \
        server.line_matching(FAILED)
    c.sock.close()


def test_partial_message_then_application_data(server):
    c = _client(server)
    c._records.send_handshake(b"\x00\x01\x00\x03\x00\x01\x00\x02")  # a commit, cut short
    c.write(b"data")
    ctype, data = c._records.recv()
    assert (ctype, data) == (21, bytes([2, AD.unexpected_message]))
    assert "application_data record inside a fragmented handshake message" in \
        server.line_matching(FAILED)
    c.sock.close()


def test_plaintext_record_after_the_keys(server):
    c = _client(server)
    c.sock.sendall(record(22, TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=2).serialize()))
    ctype, data = c._records.recv()
    assert (ctype, data) == (21, bytes([2, AD.unexpected_message]))
    line = server.line_matching(FAILED)
    assert "Invalid ContentType for encrypted record" in line
    c.sock.close()


def test_tampered_record(server):
    c = _client(server)
    c.write(b"fine")
    assert c.read() == b"fine"
    c.sock.sendall(record(23, bytes(40)))  # right type and size, wrong tag
    ctype, data = c._records.recv()
    assert (ctype, data) == (21, bytes([2, AD.bad_record_mac]))
    assert "sent bad_record_mac" in server.line_matching(FAILED)
    c.sock.close()


def test_server_still_serves_after_the_probes(server):
    c = _client(server)
    c.write(b"still here")
    assert c.read() == b"still here"
    c.close()
