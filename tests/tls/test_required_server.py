"""A ``required`` server at the ClientHello (docs/profile.md section 4).

It refuses what cannot give MLS in answer to that ClientHello, never after a classic
handshake: TLS 1.2 or below is ``protocol_version``; no extension and no ticket of a
stored MLS group is ``handshake_failure``; a refused credential is ``access_denied``
(``bad_certificate`` for an x509 chain). A ClientHello that RFC 8446 itself calls
malformed keeps the RFC's alert (precedence rule), and so does a second ClientHello
that drops the extension after a HelloRetryRequest.
"""

from __future__ import annotations

import socket
import ssl

import pytest
from tlslite import HandshakeSettings, TLSConnection
from tlslite.constants import AlertDescription, ExtensionType
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.messages import ClientHello

from pki import Refuse, TestCA
from tlslite_mls.codepoints import TLS_EXT_MLS_HANDSHAKE
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.tls import MLSHandshakeExtension, MLSTLSConnection
from tlsutil import client_mls, pair, run_in_thread, server_mls, tls13_settings

AD = AlertDescription


class _Recording(MLSTLSConnection):
    """A server that remembers the type of every message it sends."""

    def _sendMsg(self, msg, *a, **kw):  # noqa: N802
        self.__dict__.setdefault("sent", []).append(type(msg).__name__)
        return MLSTLSConnection._sendMsg(self, msg, *a, **kw)


def _required_server(pki, settings=None, **mls):
    """Serve one handshake; returns the connection (its ``sent`` lists what went out)."""
    def run(sock):
        conn = _Recording(sock)
        conn.sent = []
        run.conn = conn
        conn.handshakeServerMLS(server_mls(mode="required", **mls), certChain=pki.chain(),
                                privateKey=pki.key(),
                                settings=settings if settings is not None else tls13_settings())
        conn.write(b"x")
        return conn
    return run


def _client(cls=TLSConnection, mutate=None, sends=(1,), mls=None, **settings):
    """A client whose ClientHello number ``sends`` is changed by ``mutate`` before it
    is serialised (the KeyPackage is already in it)."""
    class Hostile(cls):
        count = 0

        def _sendMsg(self, msg, *a, **kw):  # noqa: N802
            gen = cls._sendMsg(self, msg, *a, **kw)
            if isinstance(msg, ClientHello):
                Hostile.count += 1
                if mutate is not None and Hostile.count in sends:
                    mutate(msg)
            return gen

    def run(sock):
        conn = Hostile(sock)
        if isinstance(conn, MLSTLSConnection):
            conn.mls_settings = mls if mls is not None else client_mls()
        s = HandshakeSettings()
        for k, v in settings.items():
            setattr(s, k, v)
        conn.handshakeClientCert(settings=s)
        conn.read()
        return conn
    return run


def _refused_at_client_hello(c, s, server, description, reason):
    """The server sent the alert and nothing else; both sides name it."""
    assert isinstance(s.error, TLSLocalAlert), s.error
    assert s.error.description == description, (AD.toStr(s.error.description), s.error)
    assert reason.lower() in str(s.error).lower(), str(s.error)
    assert server.conn.sent == ["Alert"], server.conn.sent
    assert isinstance(c.error, TLSRemoteAlert), c.error
    assert c.error.description == description


# -- 5: TLS 1.2 or below -----------------------------------------------------------------
def _with_mls_extension(msg):
    msg.extensions.append(MLSHandshakeExtension(TLS_EXT_MLS_HANDSHAKE).create(b"\x00\x01"))


def test_required_server_refuses_tls12_client_hello_with_protocol_version(pki):
    """Default HandshakeSettings allow TLS 1.2; a TLS 1.2 ClientHello that even carries
    the extension must not get a classic TLS 1.2 session from a required server."""
    server = _required_server(pki, settings=HandshakeSettings())
    c, s = pair(_client(mutate=_with_mls_extension, maxVersion=(3, 3)), server)
    _refused_at_client_hello(c, s, server, AD.protocol_version, "version")


def test_required_server_refuses_python_ssl_tls12_client_with_protocol_version(pki):
    """The same against a client we did not write: Python's ssl capped at TLS 1.2."""
    server = _required_server(pki, settings=HandshakeSettings())
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        sock, _ = srv.accept()
        with sock:
            sock.settimeout(30)
            return server(sock)
    t, result = run_in_thread(serve)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with pytest.raises(ssl.SSLError) as info:
            with ctx.wrap_socket(raw, server_hostname="localhost"):
                pass
    t.join(30)
    srv.close()
    assert "PROTOCOL_VERSION" in str(info.value).upper(), info.value
    assert isinstance(result.error, TLSLocalAlert), result.error
    assert result.error.description == AD.protocol_version
    assert server.conn.sent == ["Alert"]


def test_required_server_with_tls13_disabled_is_a_configuration_error(pki):
    server = _required_server(pki, settings=tls13_settings(minVersion=(3, 1),
                                                           maxVersion=(3, 3)))
    c, s = pair(_client(maxVersion=(3, 3)), server)
    assert isinstance(s.error, ValueError) and "TLS 1.3 is disabled" in str(s.error)
    assert server.conn.sent == []


# -- 6: pre_shared_key without a stored MLS group; RFC 8446 alerts first ----------------
def test_required_server_refuses_bogus_pre_shared_key_at_the_client_hello(pki):
    """A PSK identity that is no ticket of ours: refused before any ServerHello, so no
    certificate-authenticated classic handshake runs first."""
    bogus = [(bytearray(b"not-a-ticket-" * 4), bytearray(32), "sha256")]
    server = _required_server(pki, settings=tls13_settings(ticketKeys=[bytearray(32)]))
    c, s = pair(_client(minVersion=(3, 4), pskConfigs=bogus), server)
    _refused_at_client_hello(c, s, server, AD.handshake_failure,
                             "pre_shared_key resumes no MLS group")


def test_required_server_refuses_ticket_without_stored_group_at_the_client_hello(pki):
    """A real ticket resumes in required mode while its MLS group is stored; at a
    server that does not have the group it is refused before any ServerHello."""
    from tlslite_mls.store import MemoryStore
    keys = [bytearray(b"r" * 32)]
    cstore, sstore = MemoryStore(), MemoryStore()

    def first(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(client_mls(store=cstore), settings=tls13_settings())
        conn.read()  # the tickets come with the server's first write
        return conn
    c, s = pair(first, _required_server(pki, settings=tls13_settings(ticketKeys=keys),
                                        store=sstore))
    assert c.error is None and s.error is None, (c.error, s.error)
    session = c.value.session

    def resume(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                      settings=tls13_settings())
        conn.read()
        return conn
    server = _required_server(pki, settings=tls13_settings(ticketKeys=keys), store=sstore)
    c, s = pair(resume, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    assert c.value.resumed and c.value.mls_negotiated and s.value.mls_negotiated
    server = _required_server(pki, settings=tls13_settings(ticketKeys=keys),
                              store=MemoryStore())
    c, s = pair(resume, server)
    _refused_at_client_hello(c, s, server, AD.handshake_failure,
                             "pre_shared_key resumes no MLS group")


def test_required_server_refuses_client_hello_without_mls_at_once(pki):
    server = _required_server(pki)
    c, s = pair(_client(minVersion=(3, 4)), server)
    _refused_at_client_hello(c, s, server, AD.handshake_failure, "does not offer it")


def _drop(ext_type):
    def mutate(msg):
        msg.extensions = [e for e in msg.extensions if e.extType != ext_type]
    return mutate


def _share_for_unadvertised_group(msg):
    groups = msg.getExtension(ExtensionType.supported_groups)
    groups.groups = [g for g in groups.groups if g != 29]  # x25519 share stays


def _ssl3_legacy_version(msg):
    msg.client_version = (3, 0)  # RFC 8446 appendix D.5: protocol_version


@pytest.mark.parametrize("mutate, description, reason", [
    (_ssl3_legacy_version, AD.protocol_version, "version"),
    (_drop(ExtensionType.key_share), AD.missing_extension, "key_share"),
    (_drop(ExtensionType.supported_groups), AD.missing_extension, "supported_groups"),
    (_share_for_unadvertised_group, AD.illegal_parameter, "did not advertise"),
], ids=["legacy_version-ssl3", "no-key_share", "no-supported_groups",
        "share-for-unadvertised-group"])
@pytest.mark.parametrize("cls", [TLSConnection, MLSTLSConnection], ids=["classic", "mls"])
def test_required_server_keeps_rfc8446_alerts_for_malformed_client_hello(
        pki, mutate, description, reason, cls):
    """Precedence rule: the RFC's alert, whether or not the ClientHello offers MLS."""
    server = _required_server(pki)
    c, s = pair(_client(cls, mutate=mutate, minVersion=(3, 4), keyShares=["x25519"]), server)
    _refused_at_client_hello(c, s, server, description, reason)


# -- 7: alerts of a refusal --------------------------------------------------------------
def test_required_server_hrr_then_client_hello_without_extension_is_illegal_parameter(pki):
    """After a HelloRetryRequest the second ClientHello must repeat the extension
    byte for byte (docs/profile.md section 3); dropping it is illegal_parameter."""
    server = _required_server(pki, settings=tls13_settings(keyShares=["secp256r1"],
                                                           eccCurves=["secp256r1"]))
    c, s = pair(_client(MLSTLSConnection, mutate=_drop(TLS_EXT_MLS_HANDSHAKE), sends=(2,),
                        minVersion=(3, 4), keyShares=["x25519"],
                        eccCurves=["x25519", "secp256r1"]), server)
    assert isinstance(s.error, TLSLocalAlert), s.error
    assert s.error.description == AD.illegal_parameter, s.error
    assert server.conn.sent[0] == "ServerHello"  # the HelloRetryRequest
    assert isinstance(c.error, TLSRemoteAlert) and c.error.description == AD.illegal_parameter


def test_required_server_refuses_client_credential_with_access_denied(pki):
    server = _required_server(pki, auth_policy=Refuse(lambda cred: True))
    c, s = pair(_client(MLSTLSConnection, minVersion=(3, 4)), server)
    _refused_at_client_hello(c, s, server, AD.access_denied, "refused by the test policy")


def test_required_server_refuses_x509_client_chain_with_bad_certificate(pki):
    trusted, other = TestCA(), TestCA("another CA")
    cs = get_cipher_suite(2)
    key, _ = cs.generate_signature_key_pair()
    cred = Credential.x509([other.issue(cs, key, "client.test", server=False)])
    server = _required_server(pki, suites=[2], trust_anchors=[trusted.cert])
    mls = client_mls(suites=[2], credential=cred, signature_key=key)
    c, s = pair(_client(MLSTLSConnection, mls=mls, minVersion=(3, 4)), server)
    _refused_at_client_hello(c, s, server, AD.bad_certificate, "declined")
