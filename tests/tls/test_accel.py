"""accel.py: OpenSSL-backed x25519 and record AEADs give tlslite-ng's exact results."""

from __future__ import annotations

import copy
import os

import pytest
from tlslite.constants import AlertDescription, CipherSuite, GroupName, KeyUpdateMessageType
from tlslite.errors import (TLSBadRecordMAC, TLSIllegalParameterException, TLSInternalError,
                            TLSLocalAlert, TLSRemoteAlert)
from tlslite.keyexchange import ECDHKeyExchange
from tlslite.messages import ApplicationData
from tlslite.recordlayer import RecordLayer
from tlslite.utils import python_aes, python_rc4, python_tripledes
from tlslite.utils.cipherfactory import (createAESCCM, createAESCCM_8, createAESGCM,
                                         createCHACHA20)

from helpers import AEADWatch, record_aeads
from tlslite_mls.store import MemoryStore
from tlslite_mls.tls import accel, ciphers, ticket_seal
from tlslite_mls.tls.accel import OpenSSLAEAD, OpenSSLRecordLayer, OpenSSLX25519, get_kex
from tlslite_mls.tls.ciphers import OpenSSLCBC, OpenSSLRC4
from tlslite_mls.tls.connection import MLSTLSConnection, _NoCertificateSignature
from tlsutil import client_mls, pair, server_mls, tls13_settings


def test_x25519_matches_tlslite():
    ours, theirs = OpenSSLX25519(GroupName.x25519, (3, 4)), ECDHKeyExchange(GroupName.x25519,
                                                                            (3, 4))
    for _ in range(10):
        a, b = ours.get_random_private_key(), theirs.get_random_private_key()
        assert ours.calc_public_value(a) == theirs.calc_public_value(a)
        assert ours.calc_shared_key(a, theirs.calc_public_value(b)) == \
            theirs.calc_shared_key(b, ours.calc_public_value(a))
    for bad in (bytearray(32), bytearray(31)):  # all-zero result, wrong size
        with pytest.raises(TLSIllegalParameterException):
            ours.calc_shared_key(a, bad)
    assert isinstance(get_kex(ECDHKeyExchange, GroupName.secp256r1, (3, 4)), ECDHKeyExchange)
    assert not isinstance(get_kex(ECDHKeyExchange, GroupName.secp256r1, (3, 4)), OpenSSLX25519)


@pytest.mark.parametrize("name,factory,size", [("aes128gcm", createAESGCM, 16),
                                               ("aes256gcm", createAESGCM, 32),
                                               ("chacha20-poly1305", createCHACHA20, 32),
                                               ("aes128ccm", createAESCCM, 16),
                                               ("aes256ccm", createAESCCM, 32),
                                               ("aes128ccm_8", createAESCCM_8, 16),
                                               ("aes256ccm_8", createAESCCM_8, 32)])
def test_aead_matches_tlslite(name, factory, size):
    key = bytearray(os.urandom(size))
    ours, theirs = OpenSSLAEAD(name, key), factory(key, ["python"])
    assert (ours.name, ours.isAEAD, ours.tagLength, ours.nonceLength) == \
        (theirs.name, theirs.isAEAD, theirs.tagLength, theirs.nonceLength)
    for n in (0, 1, 300):
        nonce, data, aad = bytearray(os.urandom(12)), bytearray(os.urandom(n)), bytearray(b"ad")
        sealed = ours.seal(nonce, data, aad)
        assert sealed == theirs.seal(nonce, data, aad)
        assert ours.open(nonce, sealed, aad) == data
        sealed[-1] ^= 1
        assert ours.open(nonce, sealed, aad) is None and theirs.open(nonce, sealed, aad) is None
    assert ours.open(nonce, bytearray(15), aad) is None
    assert "key" not in repr(ours)


def test_record_layer_factories():
    for suite, name in ((CipherSuite.TLS_AES_128_GCM_SHA256, "aes128gcm"),
                        (CipherSuite.TLS_AES_256_GCM_SHA384, "aes256gcm"),
                        (CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "chacha20-poly1305")):
        ours, theirs = OpenSSLRecordLayer._getCipherSettings(suite), \
            RecordLayer._getCipherSettings(suite)
        assert ours[:2] == theirs[:2]
        ctx = ours[2](bytearray(ours[0]), None)
        assert isinstance(ctx, OpenSSLAEAD) and ctx.name == name


def test_no_certificate_signature_only_when_mls_replaces_certificates():
    conn = MLSTLSConnection(None)
    conn._mls_cfg = type("Cfg", (), {"send_certificates": False})()
    key = _NoCertificateSignature(object(), conn)
    with pytest.raises(TLSInternalError):  # the Welcome is not out yet
        key.sign(b"x")
    conn._mls_sh_sent = True
    assert key.hashAndSign(b"x") and key.verify(b"s", b"x")


@pytest.mark.parametrize("cipher", ["aes128gcm", "aes256gcm", "chacha20-poly1305",
                                    "aes128ccm", "aes128ccm_8"])
def test_connections_use_openssl_aeads_in_every_epoch(monkeypatch, pki, cipher):
    """Handshake keys, application keys, MLS epoch keys, KeyUpdate keys, and the session
    tickets sealed, opened on resumption and sealed again: all OpenSSL."""
    watch = AEADWatch().install(monkeypatch)
    tickets = _watch_ticket_aeads(monkeypatch)
    cstore, sstore = MemoryStore(), MemoryStore()
    # ticketCipher is cipher too; a 16-byte ticket key makes AES-128 tickets
    ticket_settings = dict(cipherNames=[cipher], ticketCipher=cipher,
                           ticketKeys=[bytearray(16 if cipher.startswith("aes128") else 32)])

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(store=sstore), certChain=pki.chain(),
                                privateKey=pki.key(), settings=tls13_settings(**ticket_settings))
        for _ in range(3):
            conn.write(bytes(conn.read()))
        return record_aeads(conn._recordLayer)

    def client(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLS(client_mls(store=cstore),
                                settings=tls13_settings(cipherNames=[cipher]))
        conn.write(b"a")
        assert conn.read() == b"a"
        conn.mls_update(wait=True)
        for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
            pass
        for data in (b"b", b"c"):
            conn.write(data)
            assert conn.read() == data
        assert conn.mls_negotiated and conn.mls_epoch >= 3
        return record_aeads(conn._recordLayer), conn.session

    def resume(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeClientMLSResume(session, client_mls(store=cstore),
                                      settings=tls13_settings(cipherNames=[cipher]))
        for data in (b"d", b"e", b"f"):
            conn.write(data)
            assert conn.read() == data
        assert conn.resumed and conn.mls_negotiated
        return record_aeads(conn._recordLayer)

    c, s = pair(client, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    aeads, session = c.value
    aeads += s.value
    sealed = len(tickets)
    assert sealed == 2 and len(session.tickets) == 2, tickets  # tlslite-ng's ticket_count
    c, s = pair(resume, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    for aead in aeads + c.value + s.value:
        assert type(aead) is OpenSSLAEAD and aead.name == cipher, aead
    # the offered ticket opened (at least once), two new tickets sealed
    assert len(tickets) >= sealed + 3 and set(tickets) == {cipher}, tickets
    # handshake, application, two epochs and the KeyUpdates, both sides; the tickets
    assert len(watch.created) >= 16 + 5 and set(watch.created) == {("OpenSSLAEAD", cipher)}
    assert not watch.pure_python


def _watch_ticket_aeads(monkeypatch) -> list:
    """The names of the ticket AEADs made (ticket_seal.ticket_aead) while installed."""
    made: list = []
    real = ticket_seal.ticket_aead

    def watched(ticket_cipher, key):
        aead = real(ticket_cipher, key)
        made.append(aead.name)
        return aead
    monkeypatch.setattr(ticket_seal, "ticket_aead", watched)
    return made


@pytest.mark.parametrize("suite", [CipherSuite.TLS_AES_128_GCM_SHA256,
                                   CipherSuite.TLS_AES_256_GCM_SHA384,
                                   CipherSuite.TLS_CHACHA20_POLY1305_SHA256])
@pytest.mark.parametrize("client", [True, False])
def test_pending_states_match_tlslite(suite, client):
    """Our one-shot HKDF pending states protect records exactly as tlslite-ng's do."""
    ours, theirs = OpenSSLRecordLayer(None), RecordLayer(None)
    size = 48 if suite in CipherSuite.sha384PrfSuites else 32
    cl, sr = bytearray(os.urandom(size)), bytearray(os.urandom(size))
    for layer in (ours, theirs):
        layer.client = client
        layer.calcTLS1_3PendingState(suite, cl, sr, ["python"])
    for name in ("_pendingWriteState", "_pendingReadState"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.fixedNonce == b.fixedNonce and len(a.fixedNonce) == 12
        assert a.macContext is None
        nonce, data = bytearray(a.fixedNonce), bytearray(b"header")
        sealed = a.encContext.seal(nonce, bytearray(b"record"), data)
        assert sealed == b.encContext.seal(nonce, bytearray(b"record"), data)


@pytest.mark.parametrize("client", [True, False])
def test_one_direction_matches_both_directions(client):
    """prepare_tls13_direction (an epoch change's switch) builds exactly the state that
    calcTLS1_3PendingState builds for that direction."""
    suite = CipherSuite.TLS_AES_256_GCM_SHA384
    cl, sr = bytearray(os.urandom(48)), bytearray(os.urandom(48))
    both, one = OpenSSLRecordLayer(None), OpenSSLRecordLayer(None)
    both.client = one.client = client
    both.calcTLS1_3PendingState(suite, cl, sr, None)
    one.prepare_tls13_direction(suite, cl if client else sr, write=True)
    one.prepare_tls13_direction(suite, sr if client else cl, write=False)
    nonce, data = bytearray(12), bytearray(b"header")
    for name in ("_pendingWriteState", "_pendingReadState"):
        a, b = getattr(both, name), getattr(one, name)
        assert a.fixedNonce == b.fixedNonce
        assert a.encContext.seal(nonce, bytearray(b"x"), data) == \
            b.encContext.seal(nonce, bytearray(b"x"), data)


# --------------------------------------------------------------------------
# CBC and RC4 objects (ciphers.py) and every other suite tlslite-ng negotiates
# --------------------------------------------------------------------------
def _pure_cbc(name, key, iv):
    return python_tripledes.new(key, iv) if name == "3des" else python_aes.new(key, 2, iv)


@pytest.mark.parametrize("name,size,block", [("aes128", 16, 16), ("aes256", 32, 16),
                                             ("3des", 24, 8)])
def test_cbc_matches_tlslite(name, size, block):
    """OpenSSLCBC encrypts and decrypts as tlslite-ng's pure-Python CBC does, the chain
    going on from call to call (TLS 1.0 IVs, the explicit IVs of TLS 1.1+)."""
    key, iv = bytearray(os.urandom(size)), bytearray(os.urandom(block))
    ours, theirs = OpenSSLCBC(name, key, iv), _pure_cbc(name, key, iv)
    assert (ours.name, ours.isBlockCipher, ours.isAEAD, ours.block_size) == \
        (theirs.name, theirs.isBlockCipher, theirs.isAEAD, theirs.block_size)
    assert ours.implementation == "openssl"
    records = [bytearray(os.urandom(block * n)) for n in (1, 3, 64, 2, 1)]
    sealed = []
    for record in records:
        out = ours.encrypt(bytearray(record))
        assert out == theirs.encrypt(bytearray(record)) and out != record
        sealed.append(out)
    assert ours.IV == sealed[-1][-block:]
    twin = copy.copy(ours)  # an independent chain at the same point
    assert twin.encrypt(bytearray(block)) == ours.encrypt(bytearray(block)) == \
        theirs.encrypt(bytearray(block))
    ours, theirs = OpenSSLCBC(name, key, iv), _pure_cbc(name, key, iv)
    for record, out in zip(records, sealed):
        assert ours.decrypt(bytearray(out)) == record == theirs.decrypt(bytearray(out))
    new_iv = bytearray(os.urandom(block))
    ours.IV = new_iv  # a new chain, as a fresh object from that IV
    assert ours.decrypt(sealed[0]) == _pure_cbc(name, key, new_iv).decrypt(sealed[0])
    with pytest.raises(ValueError, match="whole blocks"):
        ours.encrypt(bytearray(block - 1))
    with pytest.raises(ValueError, match="key of"):
        OpenSSLCBC(name, bytearray(size - 1), iv)
    assert key.hex() not in repr(ours) and "key" not in repr(ours)


def test_rc4_matches_tlslite():
    key = bytearray(os.urandom(16))
    ours, theirs = OpenSSLRC4(key), python_rc4.new(key)
    chunks = [bytearray(os.urandom(n)) for n in (1, 37, 0, 1000, 5)]
    sealed = [ours.encrypt(bytearray(c)) for c in chunks]
    assert sealed == [theirs.encrypt(bytearray(c)) for c in chunks]
    ours = OpenSSLRC4(key)
    assert [ours.decrypt(s) for s in sealed] == chunks
    with pytest.raises(TypeError):
        copy.copy(ours)


def test_decrepit_cipher_missing_falls_back_with_a_warning(monkeypatch, caplog):
    """A build without 3DES keeps tlslite-ng's 3DES and says so (honest fallback)."""
    monkeypatch.setattr(ciphers, "available", lambda name: name != "3des")
    accel._warn_no_openssl.cache_clear()
    factory = OpenSSLRecordLayer._getCipherSettings(
        CipherSuite.TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA)[2]
    with caplog.at_level("WARNING", logger="tlslite_mls.tls.accel"):
        cipher = factory(bytearray(24), bytearray(8), None)
    accel._warn_no_openssl.cache_clear()
    assert cipher.implementation == "python" and cipher.name == "3des"
    assert "no 3des" in caplog.text


_OPENSSL_TYPES = (OpenSSLAEAD, OpenSSLCBC, OpenSSLRC4)


def test_every_cipher_factory_is_openssl():
    """Every suite tlslite-ng knows gets an OpenSSL object of the same name and sizes."""
    seen = set()
    for suite in CipherSuite.ietfNames:
        try:
            theirs = RecordLayer._getCipherSettings(suite)
        except AssertionError:  # not a record cipher tlslite-ng knows (SCSVs, ...)
            continue
        ours = OpenSSLRecordLayer._getCipherSettings(suite)
        assert ours[:2] == theirs[:2]
        if theirs[2] is None:  # the NULL suites
            assert ours[2] is None
            continue
        key, iv = bytearray(os.urandom(ours[0])), bytearray(os.urandom(ours[1]))
        if suite in CipherSuite.aeadSuites or suite in CipherSuite.tls13Suites:
            obj, ref = ours[2](key, None), theirs[2](key, ["python"])
        else:
            obj, ref = ours[2](key, iv, None), theirs[2](key, iv, ["python"])
        assert isinstance(obj, _OPENSSL_TYPES), (CipherSuite.ietfNames[suite], obj)
        assert (obj.name, obj.isBlockCipher, obj.isAEAD) == \
            (ref.name, ref.isBlockCipher, ref.isAEAD)
        seen.add(obj.name)
    assert seen >= {"aes128gcm", "aes256gcm", "aes128ccm", "aes256ccm", "aes128ccm_8",
                    "aes256ccm_8", "chacha20-poly1305", "aes128", "aes256", "3des", "rc4"}


class _Wire:
    """A socket that keeps what is sent, for recv to give back."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)

    def send(self, data) -> int:
        self.data += data
        return len(data)

    def recv(self, size: int) -> bytes:
        out = bytes(self.data[:size])
        del self.data[:size]
        return out


_MASTER, _CR, _SR = bytearray(os.urandom(48)), bytearray(os.urandom(32)), \
    bytearray(os.urandom(32))


def _layer(cls, wire, suite, version, etm, client):
    layer = cls(wire)
    layer.client = client
    layer.version = version
    layer.encryptThenMAC = etm
    layer.calcPendingStates(suite, _MASTER, _CR, _SR, ["python"])
    layer.fixedIVBlock = bytearray(range(len(layer.fixedIVBlock or b"")))
    layer.changeWriteState() if client else layer.changeReadState()
    return layer


def _receive(layer) -> bytes:
    for result in layer.recvRecord():
        if result not in (0, 1):
            return bytes(result[1].bytes)
    raise AssertionError("no record")


_RECORD_CASES = [
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", (3, 1), False),
    ("TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", (3, 1), False),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", (3, 2), True),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", (3, 3), True),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", (3, 3), True),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", (3, 3), True),
    ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", (3, 3), False),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_draft_00", (3, 3), False),
]


@pytest.mark.parametrize("name,version,etm", _RECORD_CASES,
                         ids=[f"{n}-{v[1]}{'-etm' if e else ''}" for n, v, e in _RECORD_CASES])
def test_records_match_tlslite_and_tampering_is_refused(name, version, etm):
    """Our record layer writes byte for byte the records tlslite-ng's pure-Python ciphers
    write (several records: the CBC chain, sequence numbers, MACs, padding, explicit
    IVs and nonces), reads them back, and refuses any record with one byte changed."""
    suite = getattr(CipherSuite, name)
    ours, theirs = _Wire(), _Wire()
    writers = [_layer(cls, wire, suite, version, etm, True)
               for cls, wire in ((OpenSSLRecordLayer, ours), (RecordLayer, theirs))]
    assert isinstance(writers[0]._writeState.encContext, _OPENSSL_TYPES)
    assert writers[1]._writeState.encContext.implementation == "python"
    payloads = [os.urandom(n) for n in (1, 300, 2000, 16, 0, 5000)]
    for data in payloads:
        for layer in writers:
            for _ in layer.sendRecord(ApplicationData().create(bytearray(data))):
                pass
    assert ours.data == theirs.data
    reader = _layer(OpenSSLRecordLayer, _Wire(ours.data), suite, version, etm, False)
    assert [_receive(reader) for _ in payloads] == payloads
    first = 5 + int.from_bytes(ours.data[3:5], "big")
    for where in (5, 5 + (first - 5) // 2, first - 1):  # start, middle, end of the body
        tampered = bytearray(ours.data[:first])
        tampered[where] ^= 0x01
        reader = _layer(OpenSSLRecordLayer, _Wire(tampered), suite, version, etm, False)
        with pytest.raises(TLSBadRecordMAC):
            _receive(reader)


def _exchange(conn, client: bool) -> None:
    for data in (b"a", b"b" * 3000, b"c" * 17000):
        if client:
            conn.write(data)
            assert bytes(conn.read(min=len(data), max=len(data))) == data
        else:
            got = b""
            while len(got) < len(data):
                got += bytes(conn.read())
            conn.write(got)


def _check_openssl(conn) -> None:
    assert conn.getCipherImplementation() == "openssl"
    for obj in record_aeads(conn._recordLayer):
        assert isinstance(obj, _OPENSSL_TYPES), obj


_TLS12_CASES = [
    ("aes128gcm", "aead", (3, 3), True),
    ("chacha20-poly1305", "aead", (3, 3), True),
    ("aes128ccm", "aead", (3, 3), True),
    ("aes128ccm_8", "aead", (3, 3), True),
    ("aes256ccm", "aead", (3, 3), True),
    ("aes128", "sha", (3, 3), True),
    ("aes128", "sha", (3, 3), False),
    ("aes128", "sha256", (3, 3), True),
    ("aes256", "sha384", (3, 3), False),
    ("3des", "sha", (3, 3), True),
    ("aes128", "sha", (3, 1), False),
    ("3des", "sha", (3, 2), False),
    ("rc4", "sha", (3, 3), False),
]


@pytest.mark.parametrize("cipher,mac,version,etm", _TLS12_CASES,
                         ids=[f"{c}-{m}-{v[1]}{'-etm' if e else ''}"
                              for c, m, v, e in _TLS12_CASES])
def test_classic_connections_use_openssl_ciphers(monkeypatch, pki, cipher, mac, version, etm):
    """Classic TLS 1.2 (and 1.1, 1.0) between our connections: whatever suite is
    negotiated, no pure-Python cipher runs (AEADWatch refuses them all)."""
    watch = AEADWatch().install(monkeypatch)
    settings = dict(minVersion=version, maxVersion=version, cipherNames=[cipher],
                    macNames=[mac], useEncryptThenMAC=etm, keyShares=[])

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings(**settings))
        _exchange(conn, False)
        _check_openssl(conn)
        return conn.getCipherName(), conn.version, conn._recordLayer.encryptThenMAC

    def client(sock):
        conn = MLSTLSConnection(sock, mls_settings=client_mls(pki, mode="preferred"))
        conn.handshakeClientCert(settings=tls13_settings(**settings), serverName="localhost")
        _exchange(conn, True)
        _check_openssl(conn)
        return conn.getCipherName()

    c, s = pair(client, server)
    assert c.error is None and s.error is None, (c.error, s.error)
    name, negotiated, used_etm = s.value
    assert name == c.value and negotiated == version
    assert used_etm == (etm and mac != "aead" and cipher != "rc4")
    assert not watch.pure_python


class _TamperingSocket:
    """A socket whose ``armed`` send has its last byte flipped."""

    def __init__(self, sock) -> None:
        self.sock, self.armed = sock, False

    def send(self, data, *flags) -> int:
        if self.armed:
            self.armed = False
            data = bytearray(data)
            data[-1] ^= 0x01
        return self.sock.send(data, *flags)

    def sendall(self, data) -> None:
        while data:
            data = data[self.send(data):]

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.mark.parametrize("version,cipher,mac", [((3, 4), "aes128ccm_8", "aead"),
                                                ((3, 3), "aes128ccm", "aead"),
                                                ((3, 3), "aes128", "sha256"),
                                                ((3, 3), "3des", "sha")])
def test_tampered_record_gets_bad_record_mac(monkeypatch, pki, version, cipher, mac):
    """A changed byte in a protected record: the reader refuses it with bad_record_mac
    and the writer hears that alert."""
    AEADWatch().install(monkeypatch)
    settings = dict(minVersion=version, maxVersion=version, cipherNames=[cipher],
                    macNames=[mac])

    def server(sock):
        conn = MLSTLSConnection(sock)
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(), privateKey=pki.key(),
                                settings=tls13_settings(**settings))
        assert bytes(conn.read()) == b"fine"
        conn.write(b"ok")
        conn.read()

    def client(sock):
        wrapped = _TamperingSocket(sock)
        # TLS 1.3: with MLS (extension mode); older: classic, the MLS offer left out
        mls = client_mls() if version == (3, 4) else client_mls(pki, mode="preferred")
        conn = MLSTLSConnection(wrapped, mls_settings=mls)
        conn.handshakeClientCert(settings=tls13_settings(**settings), serverName="localhost")
        conn.write(b"fine")
        assert bytes(conn.read()) == b"ok"
        wrapped.armed = True
        conn.write(b"tampered")
        conn.read()

    c, s = pair(client, server)
    assert isinstance(s.error, TLSLocalAlert), (s.error, c.error)
    assert s.error.description == AlertDescription.bad_record_mac
    assert isinstance(c.error, TLSRemoteAlert), c.error
    assert c.error.description == AlertDescription.bad_record_mac
