"""docs/profile.md section 4 on the handshake path: hostile clients and servers.

Hostile peers are tlslite-ng connections whose outgoing ClientHello,
ServerHello, HelloRetryRequest, EncryptedExtensions or NewSessionTicket is
changed just before it is serialised. Each case checks the alert the other side
receives and the exception our side raises.
"""

from __future__ import annotations

import pytest
from tlslite import TLSConnection
from tlslite.constants import AlertDescription, ExtensionType, TLS_1_3_HRR
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import ClientHello, EncryptedExtensions, NewSessionTicket, ServerHello

import tlslite_mls.tls.engine as engine
from tlslite_mls.codepoints import TLS_EXT_MLS_HANDSHAKE
from tlslite_mls.probe import hostile
from tlslite_mls.probe.hostile import mutating_connection, with_early_data
from tlslite_mls.tls import MLSHandshakeExtension, MLSTLSConnection
from tlsutil import client_mls, pair, server_mls, tls13_settings

EXT = TLS_EXT_MLS_HANDSHAKE


def _mls_ext(msg):
    return [e for e in msg.extensions if e.extType == EXT]


def _server(pki, cls=MLSTLSConnection, mls=None, settings=None, write_first=True):
    def run(sock):
        conn = cls(sock)
        if isinstance(conn, MLSTLSConnection):
            conn.mls_settings = mls or server_mls()
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=settings or tls13_settings())
        if write_first:
            conn.write(b"x")
        conn.read()
        return conn
    return run


def _client(cls=MLSTLSConnection, mls=None, settings=None):
    def run(sock):
        conn = cls(sock)
        if isinstance(conn, MLSTLSConnection):
            conn.mls_settings = mls if mls is not None else client_mls()
        conn.handshakeClientCert(settings=settings or tls13_settings())
        conn.read()
        conn.write(b"y")
        return conn
    return run


def _expect(result_alerting, result_receiving, description, reason):
    """The alerting side raised TLSLocalAlert naming ``reason``; the other got the alert."""
    local, remote = result_alerting.error, result_receiving.error
    assert isinstance(local, TLSLocalAlert), local
    assert local.description == description, (AlertDescription.toStr(local.description), local)
    assert reason.lower() in str(local).lower(), str(local)
    assert isinstance(remote, TLSRemoteAlert), remote
    assert remote.description == description


# --------------------------------------------------------------------------
# hostile clients
# --------------------------------------------------------------------------
def test_client_hello_with_early_data(pki):
    c, s = pair(_client(mutating_connection(with_early_data)), _server(pki))
    _expect(s, c, AlertDescription.illegal_parameter, "early_data")


def test_client_hello_duplicated_extension(pki):
    c, s = pair(_client(mutating_connection(hostile.duplicated_extension(EXT))), _server(pki))
    _expect(s, c, AlertDescription.illegal_parameter, "appears 2 times")


def test_client_hello_garbage_key_package(pki):
    c, s = pair(_client(mutating_connection(hostile.garbage_key_package(EXT))), _server(pki))
    _expect(s, c, AlertDescription.decode_error, "DecodeError")
    assert s.error.__cause__ is not None


def test_second_client_hello_changes_extension(pki):
    hrr_server = tls13_settings(keyShares=["secp256r1"], eccCurves=["secp256r1"])
    c, s = pair(_client(mutating_connection(hostile.flipped_key_package(EXT), sends=(2,)),
                        settings=tls13_settings(eccCurves=["x25519", "secp256r1"])),
                _server(pki, settings=hrr_server))
    _expect(s, c, AlertDescription.illegal_parameter, "Client Hello")


# --------------------------------------------------------------------------
# hostile servers
# --------------------------------------------------------------------------
def _hostile_server(base, on_send=None, on_queue=None):
    class Hostile(base):
        def _sendMsg(self, msg, *a, **kw):
            gen = base._sendMsg(self, msg, *a, **kw)
            if on_send is not None:
                on_send(msg)
            return gen

        def _queue_message(self, msg):
            if on_queue is not None:
                on_queue(msg)
            return base._queue_message(self, msg)
    return Hostile


def _add_ext_to(kind, body=b"\x01\x02"):
    def add(msg):
        if isinstance(msg, kind) and not _mls_ext(msg):
            msg.extensions.append(MLSHandshakeExtension().create(body))
    return add


def test_unsolicited_extension_in_server_hello(pki):
    srv = _hostile_server(TLSConnection, on_send=_add_ext_to(ServerHello))
    c, s = pair(_client(mls=client_mls(mode="off")), _server(pki, cls=srv))
    _expect(c, s, AlertDescription.unsupported_extension, "without being offered")


def test_extension_in_hello_retry_request(pki):
    def add(msg):
        if isinstance(msg, ServerHello) and msg.random == TLS_1_3_HRR:
            msg.extensions.append(MLSHandshakeExtension().create(b""))
    srv = _hostile_server(MLSTLSConnection, on_send=add)
    c, s = pair(_client(settings=tls13_settings(eccCurves=["x25519", "secp256r1"])),
                _server(pki, cls=srv,
                        settings=tls13_settings(keyShares=["secp256r1"],
                                                eccCurves=["secp256r1"])))
    _expect(c, s, AlertDescription.illegal_parameter, "HelloRetryRequest")


def test_extension_in_encrypted_extensions(pki):
    srv = _hostile_server(MLSTLSConnection, on_queue=_add_ext_to(EncryptedExtensions))
    c, s = pair(_client(), _server(pki, cls=srv))
    _expect(c, s, AlertDescription.illegal_parameter, "EncryptedExtensions")


def test_extension_in_new_session_ticket(pki):
    srv = _hostile_server(MLSTLSConnection, on_queue=_add_ext_to(NewSessionTicket))
    settings = tls13_settings(ticketKeys=[bytearray(32)])
    c, s = pair(_client(), _server(pki, cls=srv, settings=settings, write_first=False))
    _expect(c, s, AlertDescription.illegal_parameter, "NewSessionTicket")


def test_duplicated_extension_in_server_hello(pki):
    def dup(msg):
        if isinstance(msg, ServerHello) and len(_mls_ext(msg)) == 1:
            msg.extensions.append(MLSHandshakeExtension().create(_mls_ext(msg)[0].body))
    srv = _hostile_server(MLSTLSConnection, on_send=dup)
    c, s = pair(_client(), _server(pki, cls=srv))
    _expect(c, s, AlertDescription.illegal_parameter, "appears 2 times")


def test_server_hello_with_extension_and_key_share(pki):
    """docs/profile.md section 4: the Welcome takes the (EC)DHE slot; both at once is
    illegal_parameter at the client."""
    import os
    from tlslite.extensions import KeyShareEntry, ServerKeyShareExtension

    def add_share(msg):
        if isinstance(msg, ServerHello) and _mls_ext(msg) and \
                msg.getExtension(ExtensionType.key_share) is None:
            entry = KeyShareEntry().create(29, bytearray(os.urandom(32)), None)
            msg.extensions.insert(0, ServerKeyShareExtension().create(entry))
    srv = _hostile_server(MLSTLSConnection, on_send=add_share)
    c, s = pair(_client(), _server(pki, cls=srv))
    _expect(c, s, AlertDescription.illegal_parameter, "together with key_share")


def test_garbage_welcome(pki):
    def garbage(msg):
        if isinstance(msg, ServerHello) and _mls_ext(msg):
            _mls_ext(msg)[0].body = b"\x00"
    srv = _hostile_server(MLSTLSConnection, on_send=garbage)
    c, s = pair(_client(), _server(pki, cls=srv))
    _expect(c, s, AlertDescription.decode_error, "DecodeError")


def test_wrong_client_hello_hash(pki, monkeypatch):
    """A Welcome whose GroupInfo binds another ClientHello: illegal_parameter.

    docs/profile.md section 4 lists decrypt_error for a bad signature and
    illegal_parameter for a parameter of the wrong value. Here the server's
    GroupInfo signature is valid; it just covers a ClientHello hash that is not
    the one of the ClientHello the client sent, so the engine raises
    ClientHelloHashMismatch, an illegal_parameter error.
    """
    real = engine.load()

    class WrongHash(real.ResponderHandshake):
        def accept(self, key_package, client_hello_hash):
            wrong = bytes([client_hello_hash[0] ^ 1]) + client_hello_hash[1:]
            return super().accept(key_package, wrong)
    ns = type(real)(**vars(real))
    ns.ResponderHandshake = WrongHash
    monkeypatch.setattr(engine, "load", lambda: ns)
    c, s = pair(_client(), _server(pki))
    _expect(c, s, AlertDescription.illegal_parameter, "tls_client_hello_hash")
    assert "ClientHelloHashMismatch" in str(c.error)


@pytest.mark.parametrize("bad_key", [b"\x01" * 7, bytes(32)], ids=["7-byte", "all-zero-x25519"])
def test_key_package_with_invalid_leaf_key_is_illegal_parameter(pki, monkeypatch, bad_key):
    """docs/profile.md sections 2 and 4: a validly signed KeyPackage whose leaf encryption
    key is no X25519 key is refused with illegal_parameter when it arrives, not with
    internal_error when the server first encrypts to it."""
    import dataclasses

    import tlslite_mls.twoparty.handshake as twoparty_handshake
    real_create = twoparty_handshake.create_key_package

    def create_with_bad_key(cs, credential, signature_private, **kw):
        bundle = real_create(cs, credential, signature_private, **kw)
        kp = bundle.key_package
        kp.leaf_node = dataclasses.replace(kp.leaf_node, encryption_key=bad_key)
        kp.leaf_node.sign(cs, signature_private)
        kp.sign(cs, signature_private)
        return bundle
    monkeypatch.setattr(twoparty_handshake, "create_key_package", create_with_bad_key)
    c, s = pair(_client(), _server(pki))
    _expect(s, c, AlertDescription.illegal_parameter, "encryption_key")
    assert "InvalidKeyError" in str(s.error) or "IllegalParameter" in str(s.error)
