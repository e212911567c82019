"""Wire codecs: TwoPartyMLSMessage (extension mode) and MLS-TLS TwoPartyMessage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tlslite_mls.codepoints import MLSTLSMessageType, TwoPartyMLSMessageType
from tlslite_mls.mls.codec import Reader
from tlslite_mls.mls.errors import DecodeError
from tlslite_mls.mls.keypackage import KeyPackage
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.twoparty.handshake import InitiatorHandshake, ResponderHandshake
from tlslite_mls.twoparty.messages import (Kind, TwoPartyMessage, TwoPartyMLSMessage,
                                           from_mls_tls, to_mls_tls)
from tp_util import CH_HASH, configs, handshake, sends


@pytest.fixture(scope="module")
def commit():
    client, _ = handshake()
    (cu,) = sends(client.start_update())
    return cu.commit


def test_marker_layout():
    m = TwoPartyMLSMessage.marker(0x0102030405060708)
    assert m.serialize() == bytes.fromhex("0001" "0002" "0102030405060708")
    assert TwoPartyMLSMessage.deserialize(m.serialize()) == m


@pytest.mark.parametrize("kind", [Kind.CONNECTION_UPDATE, Kind.RESUMPTION_REQUEST,
                                  Kind.RESUMPTION_RESPONSE])
def test_commit_kinds_round_trip(kind, commit):
    m = TwoPartyMLSMessage(kind, commit=commit)
    wire = m.serialize()
    assert wire[:4] == bytes([0, 1, 0, int(kind)])
    assert wire[4:] == commit  # inline MLSMessage, no extra length
    back = TwoPartyMLSMessage.deserialize(wire)
    assert back == m and back.commit == commit
    assert isinstance(back.mls_message, MLSMessage)
    assert "commit=" not in repr(m)


def test_overridden_code_points(commit):
    table = {k: 0x100 + int(k) for k in TwoPartyMLSMessageType}
    m = TwoPartyMLSMessage(Kind.CONNECTION_UPDATE, commit=commit)
    wire = m.serialize(table)
    assert wire[2:4] == b"\x01\x01"
    assert TwoPartyMLSMessage.deserialize(wire, table) == m
    with pytest.raises(DecodeError, match="tpmlsmt"):
        TwoPartyMLSMessage.deserialize(wire)
    with pytest.raises(ValueError):
        TwoPartyMLSMessage.deserialize(wire, {Kind.CONNECTION_UPDATE: 1, Kind.EPOCH_KEY_UPDATE: 1})


@pytest.mark.parametrize("data,where", [
    (b"\x00\x02\x00\x02" + bytes(8), "version"),
    (b"\x00\x01\x00\x00" + bytes(8), "tpmlsmt"),
    (b"\x00\x01\x00\x05" + bytes(8), "tpmlsmt"),
    (b"\x00\x01\x00\x02" + bytes(7), "truncated"),
    (b"\x00\x01\x00\x02" + bytes(9), "trailing"),
])
def test_decode_errors(data, where):
    with pytest.raises(DecodeError, match=where):
        TwoPartyMLSMessage.deserialize(data)


def test_commit_must_be_a_handshake_wire_format():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    kp_msg = MLSMessage.wrap(KeyPackage.deserialize(ini.key_package())).serialize()
    with pytest.raises(DecodeError, match="wire format"):
        TwoPartyMLSMessage.deserialize(b"\x00\x01\x00\x01" + kp_msg)


def test_constructor_checks(commit):
    with pytest.raises(ValueError):
        TwoPartyMLSMessage(Kind.EPOCH_KEY_UPDATE, commit=commit)
    with pytest.raises(ValueError):
        TwoPartyMLSMessage(Kind.CONNECTION_UPDATE, epoch=3)
    with pytest.raises(ValueError):
        TwoPartyMLSMessage.marker(-1)
    with pytest.raises(ValueError):
        TwoPartyMLSMessage.marker(2**64)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_never_crashes(data):
    try:
        TwoPartyMLSMessage.deserialize(data)
    except DecodeError:
        pass
    try:
        TwoPartyMessage.deserialize(data)
    except DecodeError:
        pass


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_marker_round_trip(epoch):
    m = TwoPartyMLSMessage.marker(epoch)
    assert TwoPartyMLSMessage.deserialize(m.serialize()).epoch == epoch
    assert TwoPartyMessage.deserialize(to_mls_tls(m).serialize()).epoch == epoch


# -- MLS-TLS ----------------------------------------------------------------------------------

def test_mls_tls_hello_messages():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    from tlslite_mls.mls.welcome import Welcome
    kp = MLSMessage.wrap(KeyPackage.deserialize(ini.key_package())).serialize()
    ch = TwoPartyMessage(MLSTLSMessageType.CLIENT_HELLO, message=kp)
    assert ch.serialize()[:4] == b"\x00\x01\x00\x01"
    assert TwoPartyMessage.deserialize(ch.serialize()) == ch
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    w = MLSMessage.wrap(Welcome.deserialize(welcome)).serialize()
    sh = TwoPartyMessage(MLSTLSMessageType.SERVER_HELLO, message=w)
    assert TwoPartyMessage.deserialize(sh.serialize()) == sh
    # A Welcome where a KeyPackage belongs is refused.
    with pytest.raises(DecodeError, match="wire format"):
        TwoPartyMessage.deserialize(b"\x00\x01\x00\x01" + w)
    with pytest.raises(ValueError):
        from_mls_tls(ch)


def test_mls_tls_conversion_and_stream(commit):
    msgs = [TwoPartyMLSMessage(Kind.CONNECTION_UPDATE, commit=commit),
            TwoPartyMLSMessage.marker(7),
            TwoPartyMLSMessage(Kind.RESUMPTION_RESPONSE, commit=commit)]
    stream = b"".join(to_mls_tls(m).serialize() for m in msgs)
    assert to_mls_tls(msgs[0]).serialize()[2:4] == b"\x00\x03"
    r = Reader(stream)
    back = []
    while not r.at_end():
        back.append(from_mls_tls(TwoPartyMessage.read(r)))
    assert back == msgs
