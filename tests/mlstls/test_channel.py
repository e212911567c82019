"""MLS-TLS channel behaviour in one process (socket pairs and threads)."""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable

import pytest
from tlslite.constants import AlertDescription as AD

from mlstls_util import read_plain_alert, record
from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mls.auth import AcceptAnyCredential, ExpectedIdentity
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSClosedError,
                                MLSTLSLocalAlert, MLSTLSRemoteAlert, MLSTLSServer,
                                MLSTLSServerSettings, UnsupportedSuiteError, UpdateInFlight,
                                record_suite)
from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty.messages import TwoPartyMessage


def client_settings(**kw: Any) -> MLSTLSClientSettings:
    kw.setdefault("suites", [3])
    kw.setdefault("auth_policy", AcceptAnyCredential())
    return MLSTLSClientSettings(**kw)


class Pair:
    """A client here and a server on a thread; ``serve`` runs after the server handshake."""

    def __init__(self, csettings: MLSTLSClientSettings,
                 ssettings: MLSTLSServerSettings = None,  # type: ignore[assignment]
                 serve: Callable[[MLSTLSServer], None] = None) -> None:  # type: ignore[assignment]
        a, b = socket.socketpair()
        self.client = MLSTLSClient(a, csettings)
        self.server = MLSTLSServer(b, ssettings or MLSTLSServerSettings(suites=[1, 3, 7]))
        self.server_error: Any = None
        self._serve = serve or echo
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.handshake()
            self._serve(self.server)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            self.server_error = exc
        finally:
            self.server.close()

    def join(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive()


def echo(conn: MLSTLSServer) -> None:
    while True:
        data = conn.read()
        if not data:
            return
        conn.write(data)


def roundtrip(c: MLSTLSClient, data: bytes) -> None:
    c.write(data)
    got = b""
    while len(got) < len(data):
        got += c.read()
    assert got == data


# -- configuration ------------------------------------------------------------------------
@pytest.mark.parametrize("suite,tls", [(1, "TLS_AES_128_GCM_SHA256"), (2, "TLS_AES_128_GCM_SHA256"),
                                       (3, "TLS_CHACHA20_POLY1305_SHA256"),
                                       (7, "TLS_AES_256_GCM_SHA384")])
def test_record_suite_mapping(suite, tls):
    rs = record_suite(suite)
    assert rs.name == tls
    assert rs.secret_length == get_cipher_suite(suite).hash_length


@pytest.mark.parametrize("suite", [4, 5, 6])
def test_other_suites_are_refused_at_configuration(suite):
    with pytest.raises(UnsupportedSuiteError, match="cannot be used in MLS-TLS mode"):
        MLSTLSClientSettings(suites=[suite]).validate()
    a, b = socket.socketpair()
    with pytest.raises(ValueError, match=f"0x000{suite}"):
        MLSTLSServer(b, MLSTLSServerSettings(suites=[1, suite]))
    a.close()
    b.close()


def test_settings_errors_name_the_field():
    with pytest.raises(ValueError, match="credential and signature_key"):
        client_settings(credential=Credential.basic(b"x")).validate()
    with pytest.raises(ValueError, match="resume needs the session_key"):
        client_settings(resume=True).validate()
    with pytest.raises(ValueError, match="key_usage_limit must be above"):
        client_settings(key_update_after=5, key_usage_limit=5).validate()
    with pytest.raises(ValueError, match="no way to authenticate the server"):
        MLSTLSClientSettings().validate()
    assert "throw-away" in repr(MLSTLSClientSettings())


def test_settings_parse_the_signature_key_once(monkeypatch):
    """Key bytes become one SigningKey shared by every validated copy, so two
    handshakes of a standing identity parse (derive the public half of) it once."""
    from tlslite_mls.mls.crypto import SigningKey
    from tlslite_mls.mls.crypto import signature
    priv, _ = get_cipher_suite(1).generate_signature_key_pair()
    ssettings = MLSTLSServerSettings(suites=[1], credential=Credential.basic(b"s"),
                                     signature_key=priv)
    first = ssettings.validate().signature_key
    assert isinstance(first, SigningKey) and first.private_bytes == priv
    assert ssettings.validate().validate().signature_key is first
    assert ssettings.signature_key == priv  # the caller's object is left as given
    loads = []
    real = signature._SodiumEd25519._load_private
    monkeypatch.setattr(signature._SodiumEd25519, "_load_private",
                        lambda self, k: loads.append(k) or real(self, k))
    for _ in range(2):
        p = Pair(client_settings(suites=[1]), ssettings)
        p.client.handshake()
        roundtrip(p.client, b"x")
        p.client.close()
        p.join()
        assert p.server_error is None
    assert loads.count(priv) == 1


# -- the channel ----------------------------------------------------------------------------
@pytest.mark.parametrize("suite", [1, 7])
def test_handshake_data_exporter_and_close(suite):
    p = Pair(client_settings(suites=[suite]))
    c = p.client
    c.handshake()
    assert c.cipher_suite == suite and c.epoch == 1 and c.update_in_flight
    roundtrip(c, b"x" * 40000)  # several records each way
    assert c.epoch == 2 and not c.update_in_flight  # the client's initial update is done
    assert c.exporter(b"label", b"ctx", 24) == p.server.exporter(b"label", b"ctx", 24)
    assert c.peer_identity == p.server.local_identity
    assert c.local_identity == p.server.peer_identity
    c.close()
    p.join()
    assert p.server_error is None and p.server.closed and c.closed
    with pytest.raises(MLSTLSClosedError):
        c.write(b"more")


def test_socket_style_names():
    p = Pair(client_settings())
    c = p.client
    assert c.send(b"abc") == 3
    c.sendall(b"def")
    got = b""
    while len(got) < 6:
        chunk = c.recv(2)
        assert 0 < len(chunk) <= 2
        got += chunk
    assert got == b"abcdef"
    c.close()
    p.join()


def test_large_credentials_fragment_the_hellos():
    """A KeyPackage and a Welcome above 2^14 bytes travel over several records."""
    cs = get_cipher_suite(3)
    key, _ = cs.generate_signature_key_pair()
    p = Pair(client_settings(credential=Credential.basic(b"c" * 20000), signature_key=key))
    c = p.client
    roundtrip(c, b"ok")
    assert p.server.peer_identity == b"c" * 20000
    c.close()
    p.join()
    assert p.server_error is None


def test_update_in_flight_is_a_local_error():
    p = Pair(client_settings())
    c = p.client
    c.handshake()
    with pytest.raises(UpdateInFlight):
        c.start_update()  # the initial update is still in flight
    roundtrip(c, b"1")
    c.start_update()
    roundtrip(c, b"2")
    roundtrip(c, b"3")
    assert c.epoch == 3 and c.epoch_changes == 2
    c.close()
    p.join()


def test_crossing_updates_the_client_wins():
    started = threading.Event()

    def serve(conn: MLSTLSServer) -> None:
        conn.start_update()
        started.set()
        echo(conn)

    p = Pair(client_settings(initial_update=False), serve=serve)
    c = p.client
    c.handshake()
    started.wait(10)
    c.start_update()  # crosses the server's
    for i in range(3):
        roundtrip(c, b"%d" % i)
    assert c.epoch == 2 and p.server.epoch == 2
    assert c.exporter(b"x", b"", 8) == p.server.exporter(b"x", b"", 8)
    c.close()
    p.join()
    assert p.server_error is None


def test_key_usage_starts_epoch_changes():
    p = Pair(client_settings(initial_update=False, key_update_after=3))
    c = p.client
    for i in range(12):
        roundtrip(c, b"%d" % i)
    assert c.updates_started >= 2 and c.epoch >= 3
    c.close()
    p.join()


def test_key_usage_limit_closes_when_the_change_cannot_finish():
    hold = threading.Event()
    p = Pair(client_settings(initial_update=False, key_update_after=2, key_usage_limit=5),
             serve=lambda conn: hold.wait(10))  # the server never reads
    c = p.client
    with pytest.raises(MLSTLSClosedError, match="key usage limit"):
        for _ in range(10):
            c.write(b"x")
    assert c.closed and c.updates_started == 1
    hold.set()
    p.join()


# -- refusals ---------------------------------------------------------------------------------
def test_client_refuses_the_server_identity():
    p = Pair(client_settings(auth_policy=ExpectedIdentity(b"someone-else")))
    with pytest.raises(MLSTLSLocalAlert) as info:
        p.client.handshake()
    assert info.value.description == AD.access_denied
    assert "someone-else" in str(info.value)
    p.join()
    assert isinstance(p.server_error, MLSTLSRemoteAlert)
    assert p.server_error.description == AD.access_denied


def test_no_common_suite():
    p = Pair(client_settings(suites=[3]), MLSTLSServerSettings(suites=[1]))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        p.client.handshake()
    assert info.value.description == AD.handshake_failure
    p.join()
    assert isinstance(p.server_error, MLSTLSLocalAlert)
    assert "KeyPackage declined" in str(p.server_error)


def test_resumption_the_server_does_not_know():
    store = MemoryStore()
    p = Pair(client_settings(store=store, session_key=b"k"))
    roundtrip(p.client, b"x")
    p.client.close()
    p.join()
    p = Pair(client_settings(store=store, session_key=b"k", resume=True),
             MLSTLSServerSettings(suites=[3], store=MemoryStore()))
    with pytest.raises(MLSTLSRemoteAlert) as info:
        p.client.handshake()
    assert info.value.description == AD.handshake_failure
    p.join()
    assert "does not have" in str(p.server_error)


def test_nothing_to_resume_is_a_local_error():
    a, b = socket.socketpair()
    c = MLSTLSClient(a, client_settings(store=MemoryStore(), session_key=b"none", resume=True))
    with pytest.raises(Exception, match="no stored session"):
        c.handshake()
    assert c.closed
    b.close()


# -- a hostile server against our client ------------------------------------------------------
def _hostile(reply: bytes) -> tuple[BaseException, tuple[int, int]]:
    a, b = socket.socketpair()
    c = MLSTLSClient(a, client_settings())
    got: dict = {}

    def run() -> None:
        b.recv(65536)  # the client_hello
        b.sendall(reply)
        got["alert"] = read_plain_alert(b)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    with pytest.raises(MLSTLSLocalAlert) as info:
        c.handshake()
    t.join(10)
    b.close()
    return info.value, got["alert"]


def test_client_wants_server_hello_first():
    exc, alert = _hostile(record(22, TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=1).serialize()))
    assert alert == (2, AD.unexpected_message)
    assert "epoch_key_update where server_hello belongs" in str(exc)


def test_client_refuses_a_tls_server_hello():
    exc, alert = _hostile(record(22, b"\x02\x00\x00\x46\x03\x03" + bytes(70)))
    assert alert == (2, AD.decode_error)
    assert exc.description == AD.decode_error


def test_client_refuses_a_bad_welcome():
    welcome = b"\x00\x01\x00\x03" + b"\x00\x03" + b"\x05" + bytes(5) + b"\x00"
    exc, alert = _hostile(record(22, b"\x00\x01\x00\x02" + welcome))
    assert alert[1] in (AD.decode_error, AD.decrypt_error, AD.illegal_parameter)
    assert exc.description == alert[1]
