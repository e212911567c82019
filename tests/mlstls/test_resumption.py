"""MLS-TLS resumption (docs/profile.md section 8): first flights, candidates, key confirmation.

A hostile client here is a raw socket that replays the bytes of a genuine
``resumption_request`` it saw on the wire; ``Tap`` is that wire: it forwards records
between a client and a server, logs each one, and can stop forwarding one direction
(a cut that only one side notices).
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Any, Optional

import pytest
from tlslite.constants import AlertDescription as AD

from mlstls_util import record, recv_exactly
from test_channel import client_settings, echo, roundtrip
from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSError, MLSTLSLocalAlert, MLSTLSRemoteAlert,
                                MLSTLSServer, MLSTLSServerSettings, record_suite)
from tlslite_mls.mlstls.keys import CLIENT_LABEL, traffic_exports
from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty import MLSHandshakeConfig, TwoPartySession
from tlslite_mls.twoparty.config import default_store
from tlslite_mls.twoparty.messages import TwoPartyMessage, from_mls_tls, to_mls_tls
from tlslite_mls.twoparty.persistence import SessionRecord

KEY = b"client-session"
HANDSHAKE, APPLICATION_DATA = 22, 23


def server_settings(store: Any, **kw: Any) -> MLSTLSServerSettings:
    return MLSTLSServerSettings(suites=[3], store=store, **kw)


class Tap:
    """client socket <-> server socket through two threads that log every record.

    ``upstream_records``: forward only that many client records, drop the rest.
    """

    def __init__(self, upstream_records: Optional[int] = None) -> None:
        self.client_sock, self._c = socket.socketpair()
        self._s, self.server_sock = socket.socketpair()
        self.up: list[bytes] = []    # client -> server records, as sent
        self.down: list[bytes] = []  # server -> client
        self._threads = [
            threading.Thread(target=self._pump, args=(self._c, self._s, self.up,
                                                      upstream_records), daemon=True),
            threading.Thread(target=self._pump, args=(self._s, self._c, self.down, None),
                             daemon=True)]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, log: list, limit: Optional[int]) -> None:
        try:
            while True:
                header = recv_exactly(src, 5)
                if len(header) < 5:
                    break
                raw = header + recv_exactly(src, int.from_bytes(header[3:5], "big"))
                log.append(raw)
                if limit is None or len(log) <= limit:
                    dst.sendall(raw)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def join(self) -> None:
        for t in self._threads:
            t.join(30)
        for s in (self._c, self._s):
            s.close()

    @staticmethod
    def types(log: list[bytes]) -> list[int]:
        return [r[0] for r in log]


class Served:
    """An MLSTLSServer on a thread: handshake, then echo until the client goes."""

    def __init__(self, sock: socket.socket, settings: MLSTLSServerSettings) -> None:
        self.conn = MLSTLSServer(sock, settings)
        self.error: Optional[BaseException] = None
        self.traffic_secret = b""  # the client traffic secret the connection started with
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.conn.handshake()
            self.traffic_secret = self.conn.exporter(CLIENT_LABEL, b"", 32)
            echo(self.conn)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            self.error = exc
        finally:
            self.conn.close()

    def join(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive()


def first_session(sstore: Any, cstore: Any) -> bytes:
    """A new session kept by both sides; closed properly. Returns its group_id."""
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY))
    roundtrip(c, b"first")
    c.close()
    srv.join()
    assert srv.error is None
    return c.session_id  # type: ignore[return-value]


def resume_unconfirmed(sstore: Any, cstore: Any) -> tuple[bytes, int]:
    """A resumption whose client records after the request never reach the server.

    The client applies the response; the server never sees a record under the new
    keys. Returns the raw request record (what a hostile client replays) and the
    epoch the client is at.
    """
    tap = Tap(upstream_records=1)
    srv = Served(tap.server_sock, server_settings(sstore))
    c = MLSTLSClient(tap.client_sock, client_settings(store=cstore, session_key=KEY,
                                                      resume=True, timeout=3))
    try:
        c.handshake()
        c.write(b"lost")  # dropped on the way
    except MLSTLSError:
        pass  # (a protocol with epoch markers would wait for one here)
    epoch = c.epoch
    if not c.closed:
        c.sock.shutdown(socket.SHUT_RDWR)
        c.sock.close()
    srv.join()
    tap.join()
    assert tap.types(tap.up)[0] == HANDSHAKE and tap.types(tap.down)[0] == HANDSHAKE
    return tap.up[0], epoch  # type: ignore[return-value]


def replay(raw_request: bytes, sstore: Any) -> "Served":
    """A hostile client: the request bytes, read the response, hang up."""
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    a.sendall(raw_request)
    header = recv_exactly(a, 5)
    assert header[0] == HANDSHAKE, header  # the server answered with a response
    recv_exactly(a, int.from_bytes(header[3:5], "big"))
    a.close()
    srv.join()
    return srv


def resume(sstore: Any, cstore: Any) -> tuple[MLSTLSClient, Served]:
    """A resumption that completes: data both ways, then close_notify."""
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY, resume=True))
    c.handshake()
    assert c.resumed
    roundtrip(c, b"after resumption")
    c.close()
    srv.join()
    return c, srv


def stored(sstore: Any, group_id: bytes) -> SessionRecord:
    return SessionRecord.deserialize(sstore.load_group(group_id))


def candidate_ids(sstore: Any, group_id: bytes) -> list[bytes]:
    return [c.ident for c in stored(sstore, group_id).candidates]


# -- replays ----------------------------------------------------------------------------------
def test_replayed_request_leaves_later_resumption_working():
    """The client applied the server's response, the server never saw its next record,
    then a hostile client replays the request: the client's next resumption works."""
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw, applied = resume_unconfirmed(sstore, cstore)
    replay(raw, sstore)
    assert len(candidate_ids(sstore, gid)) == 2  # the client's and the replay's
    c, srv = resume(sstore, cstore)
    assert srv.error is None, srv.error
    assert c.epoch == srv.conn.epoch == applied + 2
    # Confirmed by the client's first record: promoted, the replay's candidate dropped.
    assert stored(sstore, gid).candidates == []


def test_client_that_applied_any_candidate_resumes_again():
    """Candidates on candidates, among replays: the client's line is always found."""
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw_k, _ = resume_unconfirmed(sstore, cstore)  # candidate k, applied by the client
    replay(raw_k, sstore)
    replay(raw_k, sstore)
    raw_k2, applied = resume_unconfirmed(sstore, cstore)  # k2, built on k, applied
    assert raw_k2 != raw_k
    replay(raw_k, sstore)  # k's base is unconfirmed, so this one still makes a candidate
    assert len(candidate_ids(sstore, gid)) == 4
    c, srv = resume(sstore, cstore)
    assert srv.error is None, srv.error
    assert c.epoch == applied + 2 and stored(sstore, gid).candidates == []
    # The promoted state resumes like any other.
    c2, srv2 = resume(sstore, cstore)
    assert srv2.error is None and c2.epoch == c.epoch + 2


def test_over_the_cap_the_oldest_candidate_is_dropped():
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw, _ = resume_unconfirmed(sstore, cstore)
    (k,) = candidate_ids(sstore, gid)
    for n in range(2, 6):
        replay(raw, sstore)
        ids = candidate_ids(sstore, gid)
        assert len(ids) == min(n, 4)
    assert k not in ids  # the fifth candidate pushed out the first
    before = stored(sstore, gid).group_state
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY, resume=True))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        c.handshake()
    assert info.value.description == AD.decrypt_error  # no kept state decrypts its commit
    srv.join()
    assert isinstance(srv.error, MLSTLSLocalAlert)
    assert stored(sstore, gid).group_state == before


def test_candidate_cap_is_a_setting():
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw, _ = resume_unconfirmed(sstore, cstore)
    for _ in range(3):
        a, b = socket.socketpair()
        srv = Served(b, server_settings(sstore, max_resumption_candidates=2))
        a.sendall(raw)
        recv_exactly(a, 5)
        a.close()
        srv.join()
    assert len(candidate_ids(sstore, gid)) == 2
    with pytest.raises(ValueError, match="max_resumption_candidates"):
        server_settings(sstore, max_resumption_candidates=0).validate()


def test_no_traffic_key_is_used_by_two_connections():
    """The same request bytes three times: three different sets of traffic keys."""
    sstore, cstore = MemoryStore(), MemoryStore()
    first_session(sstore, cstore)
    raw, _ = resume_unconfirmed(sstore, cstore)
    secrets = {replay(raw, sstore).traffic_secret for _ in range(3)}
    c, srv = resume(sstore, cstore)
    secrets.add(srv.traffic_secret)
    assert len(secrets) == 4 and b"" not in secrets


# -- nothing in plaintext after the first flights ---------------------------------------------
@pytest.mark.parametrize("late, alert", [
    (record(HANDSHAKE, TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=4).serialize()),
     AD.unexpected_message),
    (record(21, b"\x01\x00"), AD.unexpected_message),
    (record(20, b"\x01"), AD.unexpected_message),
    (record(APPLICATION_DATA, b"plaintext data"), AD.bad_record_mac),
], ids=["marker", "close-notify", "change-cipher-spec", "application-data"])
def test_server_refuses_plaintext_after_the_first_flights(late, alert):
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw, _ = resume_unconfirmed(sstore, cstore)
    confirmed = stored(sstore, gid).group_state
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    a.sendall(raw)
    header = recv_exactly(a, 5)
    recv_exactly(a, int.from_bytes(header[3:5], "big"))
    a.sendall(late)
    srv.join()
    assert isinstance(srv.error, MLSTLSLocalAlert), srv.error
    assert srv.error.description == alert
    header = recv_exactly(a, 5)
    assert header[0] == APPLICATION_DATA  # even the alert is protected by then
    a.close()
    # Nothing was confirmed by it.
    assert stored(sstore, gid).group_state == confirmed


def test_plaintext_fatal_alert_ends_but_never_confirms():
    """A peer that failed before it had keys may say so in plaintext; it confirms nothing."""
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    raw, _ = resume_unconfirmed(sstore, cstore)
    before = stored(sstore, gid)
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    a.sendall(raw)
    header = recv_exactly(a, 5)
    recv_exactly(a, int.from_bytes(header[3:5], "big"))
    a.sendall(record(21, bytes([2, AD.decrypt_error])))
    srv.join()
    a.close()
    assert isinstance(srv.error, MLSTLSRemoteAlert) and srv.error.description == AD.decrypt_error
    after = stored(sstore, gid)
    assert after.group_state == before.group_state
    assert len(after.candidates) == len(before.candidates) + 1


def test_client_refuses_plaintext_after_the_response():
    """A server that sends a plaintext epoch marker behind its response is refused."""
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    a, b = socket.socketpair()
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY, resume=True))
    result: dict = {}

    def run() -> None:
        try:
            c.handshake()
            c.read()
        except Exception as exc:  # noqa: BLE001
            result["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    header = recv_exactly(b, 5)
    request = TwoPartyMessage.deserialize(recv_exactly(b, int.from_bytes(header[3:5], "big")))
    settings = server_settings(sstore).validate()
    session = TwoPartySession.load(MLSHandshakeConfig(**settings.engine_options()), gid)
    session.set_key_exports(traffic_exports(record_suite(3)))
    n = session.epoch  # the client closed properly: its request is for this epoch
    response = session.receive(from_mls_tls(request))[0]
    b.sendall(record(HANDSHAKE, to_mls_tls(response.message).serialize()))
    b.sendall(record(HANDSHAKE, TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=n + 2).serialize()))
    t.join(30)
    session.close()
    b.close()
    assert isinstance(result.get("error"), MLSTLSLocalAlert), result
    assert result["error"].description == AD.unexpected_message


def test_only_the_first_flights_travel_in_plaintext():
    """On the wire: one plaintext record each way (the first flights), in a new session
    and in a resumed one with epoch changes both ways; everything else is protected."""
    sstore, cstore = MemoryStore(), MemoryStore()
    for resumed in (False, True):
        tap = Tap()
        srv = MLSTLSServer(tap.server_sock, server_settings(sstore))
        t = threading.Thread(target=lambda: (srv.handshake(), echo(srv), srv.close()),
                             daemon=True)
        t.start()
        c = MLSTLSClient(tap.client_sock, client_settings(store=cstore, session_key=KEY,
                                                          resume=resumed))
        for i in range(4):
            roundtrip(c, b"data %d" % i)
            if i == 1:
                c.start_update()
        c.close()
        t.join(30)
        tap.join()
        assert c.resumed is resumed and c.epoch_changes >= 1
        for log in (tap.up, tap.down):
            assert tap.types(log)[0] == HANDSHAKE
            assert set(tap.types(log)[1:]) == {APPLICATION_DATA}, tap.types(log)
        assert len(tap.up) > 4 and len(tap.down) > 4


# -- resumption enabled or not (docs/profile.md section 9) ------------------------------------
def test_server_without_a_store_keeps_nothing():
    a, b = socket.socketpair()
    srv = Served(b, MLSTLSServerSettings(suites=[3]))
    c = MLSTLSClient(a, client_settings())
    roundtrip(c, b"x")
    c.close()
    srv.join()
    assert srv.error is None
    assert default_store().load_group(srv.conn.session_id) is None


def test_server_with_resumption_off_keeps_only_the_replay_cache():
    sstore, cstore = MemoryStore(), MemoryStore()
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore, resumable=False))
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY))
    roundtrip(c, b"x")
    c.close()
    srv.join()
    assert sstore._groups == {} and sstore._pending == {} and len(sstore._claims) == 1
    # The client asks anyway: refused, and said why.
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore, resumable=False))
    c = MLSTLSClient(a, client_settings(store=cstore, session_key=KEY, resume=True))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        c.handshake()
    assert info.value.description == AD.handshake_failure
    srv.join()
    assert "keeps no sessions" in str(srv.error)


def test_server_store_cap_evicts_the_oldest_session():
    """Sessions count against the store's ``max_groups``: the oldest goes first."""
    sstore = MemoryStore(max_groups=2)
    clients = [MemoryStore() for _ in range(3)]
    for cstore in clients:
        first_session(sstore, cstore)
    a, b = socket.socketpair()
    srv = Served(b, server_settings(sstore))
    c = MLSTLSClient(a, client_settings(store=clients[0], session_key=KEY, resume=True))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        c.handshake()
    assert info.value.description == AD.handshake_failure
    srv.join()
    assert "does not have" in str(srv.error)
    for cstore in clients[1:]:
        _, srv = resume(sstore, cstore)
        assert srv.error is None


def test_kept_state_lives_as_configured():
    """Groups expire with ``state_lifetime`` (a day by default); a replay-cache entry
    with its KeyPackage (plus the accepted clock skew), whatever ``state_lifetime`` is."""
    for lifetime in (None, 600.0):
        sstore = MemoryStore()
        kw = {} if lifetime is None else {"state_lifetime": lifetime}
        a, b = socket.socketpair()
        srv = Served(b, server_settings(sstore, **kw))
        c = MLSTLSClient(a, client_settings(key_package_lifetime=1200))
        start = time.time()
        roundtrip(c, b"x")
        c.close()
        srv.join()
        record = sstore.load_group_record(srv.conn.session_id)
        assert start + (lifetime or 24 * 3600) <= record.expires_at \
            <= time.time() + (lifetime or 24 * 3600)
        (claim,) = sstore._claims.values()
        assert start + 1200 <= claim <= time.time() + 1200 + 300
    with pytest.raises(ValueError, match="state_lifetime must be positive"):
        server_settings(sstore, state_lifetime=0).validate()


def test_resumable_needs_a_store():
    with pytest.raises(ValueError, match="resumable=True needs a store"):
        MLSTLSServerSettings(resumable=True).validate()
    assert MLSTLSServerSettings(store=MemoryStore()).validate().keeps_sessions
    assert not MLSTLSServerSettings().validate().keeps_sessions


def test_candidate_ident_is_the_response_hash():
    """A candidate is named by the hash of the response that made it (what the store
    keeps is tied to what went over the wire)."""
    sstore, cstore = MemoryStore(), MemoryStore()
    gid = first_session(sstore, cstore)
    tap = Tap(upstream_records=1)
    srv = Served(tap.server_sock, server_settings(sstore))
    c = MLSTLSClient(tap.client_sock, client_settings(store=cstore, session_key=KEY,
                                                      resume=True, timeout=3))
    try:
        c.handshake()
    except MLSTLSError:
        pass
    if not c.closed:
        c.sock.close()
    srv.join()
    tap.join()
    response = TwoPartyMessage.deserialize(tap.down[0][5:])
    assert candidate_ids(sstore, gid) == [hashlib.sha256(response.message).digest()]
