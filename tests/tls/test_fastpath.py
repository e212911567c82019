"""fastpath.py: the record fast path and tlslite-ng's path write and read the same bytes.

The record-level tests drive two layers over socket pairs with the same keys, one with
the fast path and one without, through a script with every kind of record: data of
several sizes, a handshake message fragmented over records, padded records, alerts,
a plaintext record before the keys, KeyUpdates and epoch switches in the middle of
the stream (with the next records already read ahead). The connection-level tests
run both modes with one side on each path.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
from tlslite.constants import AlertDescription, AlertLevel, CipherSuite, ContentType
from tlslite.errors import BaseTLSException
from tlslite.messages import Message

from tlslite_mls.mlstls.errors import MLSTLSError
from tlslite_mls.mlstls.records import _MLSTLSRecordLayer
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.fastpath import FastRecordLayer
from tlsutil import client_mls, pair, server_mls, tls13_settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mlstls"))

# AES-CCM_8 has an 8-byte tag: the fast path's record lengths must follow the suite
SUITES = [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384,
          CipherSuite.TLS_CHACHA20_POLY1305_SHA256, CipherSuite.TLS_AES_128_CCM_SHA256,
          CipherSuite.TLS_AES_128_CCM_8_SHA256]
LAYERS = [FastRecordLayer, _MLSTLSRecordLayer]


def _secret(suite: int, tag: bytes) -> bytearray:
    size = 48 if suite == CipherSuite.TLS_AES_256_GCM_SHA384 else 32
    return bytearray((tag * size)[:size])


def _layer(cls, sock, client: bool, fast: bool):
    layer = cls(sock)
    layer.client = client
    layer.version = (3, 4)
    layer.tls13record = True
    layer.fast_records = fast
    return layer


def _script(suite: int) -> list:
    """Steps: ("send", type, data, padding) or ("keys", epoch) or ("update",)."""
    hs = os.urandom(40000)  # a handshake message over three records
    return [
        ("send", ContentType.handshake, b"\x01\x00\x00\x05hello", 0),  # plaintext, no keys
        ("keys", 1),
        ("send", ContentType.application_data, b"a", 0),
        ("send", ContentType.application_data, os.urandom(16384), 0),
        ("send", ContentType.handshake, hs[:16384], 0),
        ("send", ContentType.handshake, hs[16384:32768], 0),
        ("send", ContentType.handshake, hs[32768:], 0),
        ("send", ContentType.application_data, b"padded", 200),
        ("send", ContentType.application_data, os.urandom(16000), 383),
        ("update",),  # a TLS KeyUpdate
        ("send", ContentType.application_data, os.urandom(3000), 0),
        ("keys", 2),  # an MLS epoch switch mid-stream
        ("send", ContentType.handshake, b"\xe0\x00\x00\x01\x07", 0),
        ("send", ContentType.application_data, os.urandom(1), 0),
        ("update",),
        ("send", ContentType.alert, bytes([AlertLevel.warning,
                                           AlertDescription.close_notify]), 0),
    ]


def _apply_keys(layer, suite: int, step: tuple, sending: bool) -> None:
    if step[0] == "keys":
        tag = bytes([step[1]])
        layer.calcTLS1_3PendingState(suite, _secret(suite, b"c" + tag),
                                     _secret(suite, b"s" + tag), None)
        layer.changeWriteState() if sending else layer.changeReadState()
        return
    secrets = _apply_keys.secrets.setdefault((id(layer), sending), [None])
    cl, sr = secrets[0] or (_secret(suite, b"c\x01"), _secret(suite, b"s\x01"))
    if sending:
        secrets[0] = layer.calcTLS1_3KeyUpdate_reciever(suite, cl, sr)
    else:
        secrets[0] = layer.calcTLS1_3KeyUpdate_sender(suite, cl, sr)


_apply_keys.secrets = {}  # type: ignore[attr-defined]


def _write(cls, suite: int, script: list, fast: bool) -> bytes:
    """The wire bytes of the script, written by a client layer."""
    _apply_keys.secrets.clear()
    a, b = socket.socketpair()
    writer = _layer(cls, a, client=True, fast=fast)
    writer._recordSocket.version = (3, 3)
    padding = [0]
    writer.padding_cb = lambda length, ctype, most: padding[0]
    out = bytearray()
    b.setblocking(False)
    for step in script:
        if step[0] == "send":
            padding[0] = step[3]
            for _ in writer.sendRecord(Message(step[1], bytearray(step[2]))):
                pass
            while True:
                try:
                    out += b.recv(1 << 20)
                except BlockingIOError:
                    break
        else:
            _apply_keys(writer, suite, step, sending=True)
    a.close()
    b.close()
    return bytes(out)


def _read(cls, suite: int, script: list, wire: bytes, fast: bool) -> list:
    """(type, data) of every record, the whole wire written before the first read."""
    _apply_keys.secrets.clear()
    a, b = socket.socketpair()
    a.sendall(wire)
    a.shutdown(socket.SHUT_WR)
    reader = _layer(cls, b, client=False, fast=fast)
    got = []
    try:
        for step in script:
            if step[0] == "send":
                result = None
                for result in reader.recvRecord():
                    if result not in (0, 1):
                        break
                header, parser = result
                got.append((header.type, bytes(parser.bytes[parser.index:])))
            else:
                _apply_keys(reader, suite, step, sending=False)
    finally:
        a.close()
        b.close()
    return got


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("suite", SUITES)
def test_both_paths_write_and_read_the_same_records(cls, suite):
    script = _script(suite)
    wire = _write(cls, suite, script, fast=True)
    assert wire == _write(cls, suite, script, fast=False)
    expected = [(s[1], bytes(s[2])) for s in script if s[0] == "send"]
    assert _read(cls, suite, script, wire, fast=True) == expected
    assert _read(cls, suite, script, wire, fast=False) == expected


def _records(wire: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each record of a wire."""
    out, pos = [], 0
    while pos < len(wire):
        n = 5 + int.from_bytes(wire[pos + 3:pos + 5], "big")
        out.append((pos, n))
        pos += n
    return out


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("suite", SUITES)
def test_a_modified_byte_anywhere_is_refused_on_the_fast_path(cls, suite):
    script = [("keys", 1), ("send", ContentType.application_data, b"x" * 40, 5),
              ("send", ContentType.application_data, b"second", 0)]
    wire = _write(cls, suite, script, fast=True)
    first_off, first_len = _records(wire)[0]
    for i in range(first_off, first_off + first_len):
        for flip in (0x01, 0x80):
            bad = bytearray(wire)
            bad[i] ^= flip
            with pytest.raises((BaseTLSException, MLSTLSError)):
                got = _read(cls, suite, script, bytes(bad), fast=True)
                # a record that is read must never be the modified one passing
                assert got[0] != (ContentType.application_data, b"x" * 40), (i, flip)
                raise AssertionError(f"byte {i} ^ {flip:#x} was accepted: {got}")


def test_fast_path_is_on_by_default_and_counts_sequence_numbers():
    suite = SUITES[0]
    script = [("keys", 1)] + [("send", ContentType.application_data, b"%d" % i, 0)
                              for i in range(5)]
    wire = _write(FastRecordLayer, suite, script, fast=True)
    a, b = socket.socketpair()
    a.sendall(wire)
    reader = FastRecordLayer(b)
    reader.client, reader.version, reader.tls13record = False, (3, 4), True
    assert reader.fast_records
    _apply_keys(reader, suite, ("keys", 1), sending=False)
    for i in range(5):
        for result in reader.recvRecord():
            pass
        assert bytes(result[1].bytes) == b"%d" % i
    assert reader._readState.seqnum == 5
    assert reader._recordSocket.sock.end - reader._recordSocket.sock.start == 0
    a.close()
    b.close()


def test_replaced_traffic_state_not_kept_by_the_fast_path():
    """Once a direction switches keys, its old state (key and AEAD context) is gone
    even before the next record: the fast path kept the last state it used (a
    replaced one, if keys changed after it) to remember its IV."""
    import gc
    import weakref
    suite = SUITES[0]
    wire = _write(FastRecordLayer, suite, [("keys", 1),
                                           ("send", ContentType.application_data, b"x", 0)],
                  fast=True)
    a, b = socket.socketpair()
    try:
        a.sendall(wire)
        layer = _layer(FastRecordLayer, b, client=False, fast=True)
        _apply_keys(layer, suite, ("keys", 1), sending=False)
        _apply_keys(layer, suite, ("keys", 1), sending=True)
        for result in layer.recvRecord():
            pass
        assert bytes(result[1].bytes) == b"x"
        old_read = weakref.ref(layer._readState)
        for _ in layer.sendRecord(Message(ContentType.application_data, bytearray(b"y"))):
            pass
        old_write = weakref.ref(layer._writeState)
        _apply_keys(layer, suite, ("keys", 2), sending=False)
        _apply_keys(layer, suite, ("keys", 2), sending=True)
        gc.collect()
        assert old_read() is None, "the replaced read state (its key) is still referenced"
        assert old_write() is None, "the replaced write state (its key) is still referenced"
    finally:
        a.close()
        b.close()


# -- whole connections, one side on each path ------------------------------------------------
@pytest.mark.parametrize("fast_client,fast_server", [(True, False), (False, True), (False, False), (True, True)])
def test_extension_mode_mixed_paths(pki, fast_client, fast_server):
    from tlslite.constants import KeyUpdateMessageType

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn._recordLayer.fast_records = fast_server
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings())
        while True:
            data = bytes(conn.read())
            if not data:
                break
            if data == b"update":
                conn.mls_update()  # the server's epoch change, carried by the echo
            conn.write(data)
        return conn.mls_epoch

    def client(sock):
        conn = MLSTLSConnection(sock)
        conn._recordLayer.fast_records = fast_client
        conn.handshakeClientMLS(client_mls(), settings=tls13_settings())
        for i, data in enumerate((b"m", b"m" * 20000, b"update", b"m" * 16384, b"m" * 70000)):
            conn.write(data)
            got = b""
            while len(got) < len(data):
                got += bytes(conn.read())
            assert got == data
            if i == 3:
                for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
                    pass
                conn.mls_update(wait=True)
        conn.close()  # close_notify
        return conn.mls_epoch

    c, s = pair(client, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value == s.value >= 4


@pytest.mark.parametrize("fast_client,fast_server", [(True, False), (False, True), (False, False), (True, True)])
def test_mls_tls_mixed_paths(fast_client, fast_server):
    from test_channel import Pair, client_settings, roundtrip

    from tlslite_mls.mlstls import MLSTLSServerSettings

    def serve(conn):
        conn._records._layer.fast_records = fast_server
        while True:
            data = conn.read()
            if not data:
                return
            if data == b"update":
                conn.start_update()
            conn.write(data)

    p = Pair(client_settings(suites=[1]), MLSTLSServerSettings(suites=[1]), serve=serve)
    c = p.client
    c._records._layer.fast_records = fast_client
    c.handshake()
    for data in (b"x" * 40000, b"update", b"y", b"z" * 17000):
        roundtrip(c, data)
    c.start_update()
    roundtrip(c, b"after")
    assert c.epoch == p.server.epoch >= 4
    c.close()
    p.join()
    assert p.server_error is None


@pytest.mark.parametrize("cls", LAYERS, ids=lambda c: c.__name__)
def test_fast_path_never_reads_past_the_record(cls):
    """A next record stays in the socket, where select() sees it (the clients' loops
    wait with select() and would stall on bytes held in a buffer)."""
    import select
    suite = SUITES[0]
    script = [("keys", 1)] + [("send", ContentType.application_data, b"%d" % i * 3000, 0)
                              for i in range(3)]
    wire = _write(cls, suite, script, fast=True)
    a, b = socket.socketpair()
    a.sendall(wire)
    reader = _layer(cls, b, client=False, fast=True)
    _apply_keys(reader, suite, ("keys", 1), sending=False)
    for i in range(3):
        assert select.select([b], [], [], 5)[0] == [b], f"record {i} hidden from select()"
        for result in reader.recvRecord():
            pass
        assert bytes(result[1].bytes) == b"%d" % i * 3000
        ahead = reader._recordSocket.sock
        assert ahead.end == ahead.start  # nothing of the next record read
    assert select.select([b], [], [], 0)[0] == []
    a.close()
    b.close()


# -- our own handshake messages on the fast read -----------------------------------------------
def _extension_pair():
    from tlslite_mls.bench import epoch, handshake
    mat = handshake._Material((1,))
    client, server, _ = epoch.extension_pair(mat, 1)
    mat.cleanup()
    return client, server


def _count_generic_reads(conn, calls=None):
    calls = [] if calls is None else calls
    generic = conn._getNextRecord

    def counting():
        calls.append(conn)
        return generic()
    conn._getNextRecord = counting
    return calls


def test_mls_message_whole_in_its_record_is_taken_on_the_fast_read():
    """The peer's commit, alone in its record, is applied by the fast read(), which then
    goes on to the data record; the markers are taken by mls_wait() on the fast path
    too (data arriving meanwhile kept for read()). The generic read is not entered."""
    client, server = _extension_pair()
    try:
        generic = _count_generic_reads(client, _count_generic_reads(server))
        epoch = server.mls_sending_epoch
        client.mls_update()
        client.write(b"data")
        assert server.read() == b"data"
        assert server.mls_sending_epoch == epoch + 1  # the commit was applied
        server.write(b"after the marker")
        client.mls_wait()
        server.mls_wait()
        assert client.mls_receiving_epoch == server.mls_receiving_epoch == epoch + 1
        assert client.read() == b"after the marker"
        assert generic == []
    finally:
        client.close()
        server.close()


def test_mls_message_over_the_size_limit_still_takes_the_generic_read():
    """A message over ``max_post_handshake_message`` is left to the generic read, which
    refuses it as before (nothing of it reaches the engine)."""
    client, server = _extension_pair()
    try:
        generic = _count_generic_reads(server)
        # the commit is several hundred bytes
        object.__setattr__(server._mls_cfg, "max_post_handshake_message", 100)
        assert server._mls_message_limit() == 100
        epoch = server.mls_sending_epoch
        client.mls_update()
        client.write(b"data")
        with pytest.raises(BaseTLSException):
            server.read()
        assert generic and server.mls_sending_epoch == epoch
    finally:
        client.close()
        server.close()
