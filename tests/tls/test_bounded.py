"""Handshake messages are refused by their declared length before they are buffered
(docs/profile.md section 9): 128 KiB while the handshake runs, 1 MiB after it."""

from __future__ import annotations

import socket

import pytest
from hostile import DECODE_ERROR, oversized_hello, read_alert, record
from tlslite.constants import AlertDescription as AD, ContentType
from tlslite.errors import TLSLocalAlert
from tlslite.messages import Message
from tlsutil import client_mls, pair, run_in_thread, server_mls, tls13_settings

from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.bounded import DEFAULT_MAX_HANDSHAKE_MESSAGE


def _serve(pki, sock, **mls):
    conn = MLSTLSConnection(sock)
    conn.handshakeServerMLS(server_mls(**mls), certChain=pki.chain(), privateKey=pki.key(),
                            settings=tls13_settings())
    return conn


def _refused(pki, first_record: bytes, **mls) -> tuple[BaseException, int]:
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    t, res = run_in_thread(lambda: _serve(pki, b, **mls))
    try:
        a.sendall(first_record)
        alert = read_alert(a)
        t.join(10)
    finally:
        a.close()
        b.close()
    return res.error, alert


def test_oversized_client_hello_refused_after_its_first_record(pki):
    error, alert = _refused(pki, oversized_hello(False))
    assert alert == DECODE_ERROR
    assert isinstance(error, TLSLocalAlert) and error.description == AD.decode_error
    assert "client_hello declares 16777215 bytes" in str(error)


def test_handshake_message_limit_is_a_setting(pki):
    head = b"\x01" + (40000).to_bytes(3, "big") + b"\x03\x03"
    first = record(22, head + bytes(1000), b"\x03\x01")
    error, alert = _refused(pki, first, max_handshake_message=32768)
    assert alert == DECODE_ERROR and "more than the 32768 bytes" in str(error)
    with pytest.raises(ValueError, match="max_handshake_message"):
        server_mls(max_handshake_message=100).validate()
    assert DEFAULT_MAX_HANDSHAKE_MESSAGE == 128 * 1024


def test_oversized_post_handshake_message_refused(pki):
    def server(sock):
        conn = _serve(pki, sock)
        conn.read()

    def client(sock):
        conn = MLSTLSConnection(sock, mls_settings=client_mls())
        conn.handshakeClientCert(settings=tls13_settings())
        assert conn.mls_negotiated
        # an mls_handshake message (type 224) that declares 2 MiB
        body = bytes([224]) + (2 << 20).to_bytes(3, "big") + bytes(1 << 13)
        for _ in conn._sendMsg(Message(ContentType.handshake, bytearray(body))):
            pass
        conn.read()

    c, s = pair(client, server)
    assert isinstance(s.error, TLSLocalAlert) and s.error.description == AD.decode_error
    assert "declares 2097152 bytes, more than the 1048576" in str(s.error)
