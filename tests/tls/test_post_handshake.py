"""After the handshake, in one process: mls_handshake messages, epoch keys, limits, alerts."""

from __future__ import annotations

import socket
import struct

import pytest
from tlslite.constants import AlertDescription, ContentType, KeyUpdateMessageType
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import Message

from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.epoch_keys import prf_params
from tlslite_mls.tls.post_handshake import (MLSPostHandshakeError, MLSUpdateInFlight,
                                            MLSUsageLimitReached, UpdatePolicy)
from tlslite_mls.twoparty.messages import TwoPartyMLSMessage
from tlsutil import (assert_epoch_formula_gives_handshake_secrets, client_mls, pair,
                     server_mls, tls13_settings)

TICKET_KEYS = [bytearray(b"t" * 32)]


def _serve(pki, body, mls=None, policy=None, **settings):
    def run(sock):
        conn = MLSTLSConnection(sock)
        if policy is not None:
            conn.mls_update_policy = policy
        conn.handshakeServerMLS(mls if mls is not None else server_mls(),
                                certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings(**settings))
        return body(conn)
    return run


def _connect(body, mls=None, policy=None, server_name=None, **settings):
    def run(sock):
        conn = MLSTLSConnection(sock)
        if policy is not None:
            conn.mls_update_policy = policy
        conn.handshakeClientMLS(mls if mls is not None else client_mls(),
                                settings=tls13_settings(**settings), serverName=server_name)
        return body(conn)
    return run


def _ok(c, s):
    assert c.error is None and s.error is None, (c.error, s.error)
    return c.value, s.value


def _echo(n):
    def body(conn):
        for _ in range(n):
            conn.write(b"echo:" + bytes(conn.read()))
        return conn
    return body


def test_updates_both_ways_data_and_key_update(pki):
    def server(conn):
        for i in range(6):
            data = conn.read()
            if i in (1, 3):
                conn.mls_update()  # server-initiated, while data flows
            conn.write(b"echo:" + bytes(data))
        return conn

    def client(conn):
        got = []
        for i in range(6):
            conn.write(b"m%d" % i)
            got.append(bytes(conn.read()))
            if i == 4:
                conn.mls_update(wait=True)
                assert conn.mls_sending_epoch == conn.mls_receiving_epoch == conn.mls_epoch
                for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
                    pass
        return conn, got

    (conn, got), srv = _ok(*pair(_connect(client), _serve(pki, server)))
    assert got == [b"echo:m%d" % i for i in range(6)]
    # initial client update (2), two server updates, one client update
    assert conn.mls_epoch == srv.mls_epoch == 5
    assert conn.mls_exporter(b"x", b"", 32) == srv.mls_exporter(b"x", b"", 32)
    assert conn.keyingMaterialExporter(b"EXPORTER-x", 16) == \
        srv.keyingMaterialExporter(b"EXPORTER-x", 16)  # channel binding unchanged
    assert conn.mls_epoch_changes == 4


@pytest.mark.parametrize("cipher", ["aes128gcm", "aes256gcm", "chacha20-poly1305"])
def test_epoch_formula_reproduces_handshake_secrets(pki, cipher):
    policy = UpdatePolicy(initial_update=False)
    c, s = _ok(*pair(_connect(lambda conn: conn, policy=policy, cipherNames=[cipher]),
                     _serve(pki, lambda conn: conn, policy=policy, cipherNames=[cipher])))
    assert prf_params(c.session.cipherSuite)[1] == (48 if cipher == "aes256gcm" else 32)
    assert_epoch_formula_gives_handshake_secrets(c)
    assert_epoch_formula_gives_handshake_secrets(s)


def test_updates_without_initial_and_record_restart(pki):
    def client(conn):
        assert conn.mls_epoch == 1 and not conn.mls_update_in_flight
        conn.write(b"a")
        conn.read()
        conn.mls_update()
        assert conn.mls_update_in_flight
        with pytest.raises(MLSUpdateInFlight):
            conn.mls_update()
        with pytest.raises(MLSUpdateInFlight):
            for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_not_requested):
                pass
        conn.write(b"b")  # still the old key
        assert bytes(conn.read()) == b"echo:b"
        assert conn.mls_epoch == 2 and conn._recordLayer._writeState.seqnum == 0  # restarted
        return conn

    conn, srv = _ok(*pair(_connect(client, policy=UpdatePolicy(initial_update=False)),
                          _serve(pki, _echo(2))))
    assert srv.mls_epoch == 2


def test_automatic_update_by_bytes(pki):
    def client(conn):
        for i in range(8):
            conn.write(bytes(300))
            conn.read()
        return conn

    policy = UpdatePolicy(initial_update=False, max_bytes=1000)
    conn, srv = _ok(*pair(_connect(client, policy=policy), _serve(pki, _echo(8))))
    assert conn.mls_epoch >= 2 and srv.mls_epoch == conn.mls_epoch


def test_aead_limit_forces_update_then_refuses(pki):
    def client(conn):
        for i in range(8):  # limit 8: the update starts when 6 records are out
            conn.write(b"x")
            conn.read()
        first = conn.mls_epoch
        return conn, first

    policy = UpdatePolicy(initial_update=False, record_limit=8)
    (conn, epoch), srv = _ok(*pair(_connect(client, policy=policy), _serve(pki, _echo(8))))
    assert epoch >= 2

    def stuck(conn):  # the peer never reads: the update cannot complete
        with pytest.raises(MLSUsageLimitReached):
            for _ in range(20):
                conn.write(b"y")
        return conn

    def quiet(conn):
        import time
        time.sleep(1)
        return conn

    _ok(*pair(_connect(stuck, policy=policy), _serve(pki, quiet)))


def test_fragmented_commit_reassembled(pki):
    """Small records force every mls_handshake message over several records."""
    def client(conn):
        conn.recordSize = 64
        conn.write(b"a")
        conn.read()
        conn.mls_update(wait=True)
        return conn

    def server(conn):
        conn.recordSize = 64
        conn.write(b"echo:" + bytes(conn.read()))
        conn.read()  # waits through the client's second update
        return conn

    def client2(conn):
        c = client(conn)
        conn.write(b"z")
        return c

    conn, srv = _ok(*pair(_connect(client2), _serve(pki, server)))
    assert conn.mls_epoch == srv.mls_epoch == 3


def _raw_mls(conn, body: bytes, hs_type: int = 224):
    data = bytearray([hs_type]) + bytearray(struct.pack(">I", len(body))[1:]) + body
    for _ in conn._sendMsg(Message(ContentType.handshake, data), update_hashes=False):
        pass


def _expect_alert(pki, send, description, mls=True):
    def client(conn):
        send(conn)
        with pytest.raises(TLSRemoteAlert) as info:
            conn.read()
        return info.value.description

    def server(conn):
        with pytest.raises(TLSLocalAlert) as info:
            conn.read()
        return info.value

    cmls = client_mls() if mls else client_mls(pki, mode="off")
    quiet = UpdatePolicy(initial_update=False)
    desc, alert = _ok(*pair(_connect(client, mls=cmls, policy=quiet, server_name="localhost"),
                            _serve(pki, server)))
    assert desc == description and alert.description == description
    return alert


def test_mls_handshake_without_mls_is_unexpected(pki):
    _expect_alert(pki, lambda c: _raw_mls(c, TwoPartyMLSMessage.marker(2).serialize()),
                  AlertDescription.unexpected_message, mls=False)


def test_out_of_state_marker_is_unexpected(pki):
    alert = _expect_alert(pki, lambda c: _raw_mls(c, TwoPartyMLSMessage.marker(2).serialize()),
                          AlertDescription.unexpected_message)
    assert "epoch_key_update" in str(alert)


def test_garbage_and_oversized_mls_handshake_is_decode_error(pki):
    # 20000 bytes: more than one record, reassembled before it is judged
    _expect_alert(pki, lambda c: _raw_mls(c, b"\x00\x01" + bytes(20000)),
                  AlertDescription.decode_error)


def test_marker_not_at_record_boundary(pki):
    marker = TwoPartyMLSMessage.marker(2).serialize()

    def send(conn):
        one = bytearray([224]) + bytearray(struct.pack(">I", len(marker))[1:]) + marker
        # marker + the start of another message in one record
        for _ in conn._sendMsg(Message(ContentType.handshake, one + one[:3]),
                               update_hashes=False):
            pass
    _expect_alert(pki, send, AlertDescription.unexpected_message)


def test_mls_handshake_before_negotiation(pki):
    """An mls_handshake record instead of a ClientHello: unexpected_message."""
    a, b = socket.socketpair()
    a.settimeout(10)
    b.settimeout(10)
    from tlsutil import run_in_thread

    def server():
        conn = MLSTLSConnection(b)
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings())
    t, res = run_in_thread(server)
    body = bytes([224, 0, 0, 2, 0, 2])
    a.sendall(bytes([22, 3, 1]) + struct.pack(">H", len(body)) + body)
    reply = a.recv(100)
    t.join(10)
    a.close()
    b.close()
    assert isinstance(res.error, TLSLocalAlert)
    assert res.error.description == AlertDescription.unexpected_message
    assert reply[:1] == bytes([21]) and reply[-1] == AlertDescription.unexpected_message


def test_update_api_without_mls(pki):
    def client(conn):
        with pytest.raises(MLSPostHandshakeError):
            conn.mls_update()
        return conn
    _ok(*pair(_connect(client, mls=client_mls(pki, mode="off"), server_name="localhost"),
              _serve(pki, lambda c: c)))


def test_key_log_has_epoch_lines(pki, tmp_path):
    path = tmp_path / "keys"

    def client(conn):
        conn.write(b"a")
        conn.read()
        return conn

    def run(sock):
        conn = MLSTLSConnection(sock, keylog=str(path))
        conn.handshakeClientMLS(client_mls(), settings=tls13_settings())
        return client(conn)
    _ok(*pair(run, _serve(pki, _echo(1))))
    labels = [line.split()[0] for line in path.read_text().splitlines()]
    assert "CLIENT_TRAFFIC_SECRET_MLS_EPOCH_2" in labels
    assert "SERVER_TRAFFIC_SECRET_MLS_EPOCH_2" in labels


# -- resumption (section 6) in one process ---------------------------------------------------

def _first(pki, cstore, sstore, client_body=None):
    def client(conn):
        conn.write(b"a")
        conn.read()  # the tickets arrive before the echo
        if client_body:
            client_body(conn)
        return conn
    conn, srv = _ok(*pair(_connect(client, mls=client_mls(store=cstore)),
                          _serve(pki, _echo(1), mls=server_mls(store=sstore),
                                 ticketKeys=TICKET_KEYS)))
    return conn, srv


def _resume(pki, session, cstore, sstore):
    def client(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                      settings=tls13_settings())
        start = conn.mls_epoch
        assert conn.mls_sending_epoch == conn.mls_receiving_epoch == start
        conn.write(b"r")
        assert bytes(conn.read()) == b"echo:r"
        return conn, start
    return _ok(*pair(client, _serve(pki, _echo(1), mls=server_mls(store=sstore),
                                    ticketKeys=TICKET_KEYS)))


@pytest.mark.parametrize("tickets", [{}, {"ticketKeys": TICKET_KEYS, "ticket_count": 0},
                                     {"ticketKeys": TICKET_KEYS}],
                         ids=["no-ticket-keys", "no-tickets", "tickets"])
def test_server_keeps_groups_only_when_it_issues_tickets(pki, tickets):
    """docs/profile.md section 9: nothing kept for resumption unless resumption is enabled;
    the replay cache is kept either way (it is not for resumption)."""
    sstore = MemoryStore()

    def client(conn):
        conn.write(b"a")
        conn.read()
        return conn

    _, srv = _ok(*pair(_connect(client, mls=client_mls(store=MemoryStore())),
                       _serve(pki, _echo(1), mls=server_mls(store=sstore), **tickets)))
    assert srv.mls_negotiated and len(sstore._claims) == 1
    if tickets.get("ticket_count", 1) and tickets:
        assert sstore.load_group(srv.mls_session.persisted_key) is not None
    else:
        assert sstore._groups == {} and sstore._pending == {}


def test_resumption_reaches_n_plus_2(pki):
    cstore, sstore = MemoryStore(), MemoryStore()
    conn, srv = _first(pki, cstore, sstore)
    n = conn.mls_epoch
    (conn2, start), srv2 = _resume(pki, conn.session, cstore, sstore)
    assert start == n + 2 and srv2.mls_epoch == n + 2
    assert conn2.resumed and conn2.mls_negotiated and srv2.mls_negotiated
    assert conn2.mls_exporter(b"r", b"", 16) == srv2.mls_exporter(b"r", b"", 16)
    # tickets of the resumed connection resume the same group again
    (conn3, start3), _ = _resume(pki, conn2.session, cstore, sstore)
    assert start3 >= n + 4


def test_resumption_with_pending_commit(pki):
    cstore, sstore = MemoryStore(), MemoryStore()
    sent = {}

    def start_and_break(conn):
        conn.mls_update_policy = UpdatePolicy(initial_update=False)
        conn._mls_ph.engine  # noqa: B018 - the group is there
        st = conn._mls_ph
        # The commit is made and stored, the connection breaks before it leaves.
        events = st.engine.start_update()
        sent["commit"] = events[0].message.commit

    conn, srv = _first(pki, cstore, sstore, start_and_break)
    n = conn.mls_epoch  # the pending commit was not merged
    (conn2, start), srv2 = _resume(pki, conn.session, cstore, sstore)
    assert start == srv2.mls_epoch == n + 2


def test_resumption_without_stored_group(pki):
    cstore, sstore = MemoryStore(), MemoryStore()
    conn, _ = _first(pki, cstore, sstore)
    from tlslite_mls.tls.post_handshake import MLSResumptionError
    with pytest.raises(MLSResumptionError):
        MLSTLSConnection(socket.socket()).handshakeClientMLSResume(
            conn.session, client_mls(store=MemoryStore()), settings=tls13_settings())


def test_tickets_carry_no_mls_state(pki):
    cstore, sstore = MemoryStore(), MemoryStore()
    conn, srv = _first(pki, cstore, sstore)
    state = srv.mls_session._group.export_state()
    for ticket in conn.session.tickets:
        assert state[:64] not in bytes(ticket.ticket)
        assert srv.mls_session.group_id not in bytes(ticket.ticket)


def test_required_server_resumes_and_refuses_a_ticket_without_a_group(pki):
    from tlslite.errors import TLSRemoteAlert
    cstore, sstore = MemoryStore(), MemoryStore()
    required = dict(mode="required")
    conn, _ = _first(pki, cstore, sstore)
    n = conn.mls_epoch

    def client(sock):
        c = MLSTLSConnection(sock)
        c.handshakeClientMLSResume(conn.session, client_mls(store=cstore),
                                   settings=tls13_settings())
        c.write(b"r")
        assert bytes(c.read()) == b"echo:r"
        return c

    c2, s2 = _ok(*pair(client, _serve(pki, _echo(1), mls=server_mls(store=sstore, **required),
                                      ticketKeys=TICKET_KEYS)))
    assert c2.mls_epoch == s2.mls_epoch == n + 2
    # The same ticket at a server that has no group for it: required mode refuses.
    c3, s3 = pair(client, _serve(pki, _echo(1), mls=server_mls(store=MemoryStore(), **required),
                                 ticketKeys=TICKET_KEYS))
    # The client sees the alert, or (if the server closed before it read it) a
    # broken connection; the server names the reason either way.
    assert c3.error is not None
    if isinstance(c3.error, TLSRemoteAlert):
        assert "handshake_failure" in str(c3.error)
    else:
        assert isinstance(c3.error, OSError)
    assert s3.error is not None and "resumes no MLS group" in str(s3.error)
