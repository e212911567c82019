"""TwoPartyMessage framing: fragmentation, reassembly, and telling "wait" from "malformed"."""

from __future__ import annotations

import pytest
from tlslite.constants import AlertDescription as AD

from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mlstls.connection import _wrap_key_package
from tlslite_mls.mlstls.errors import ProtocolViolation
from tlslite_mls.mlstls.framing import HandshakeReassembler, fragment
from tlslite_mls.mlstls.settings import MLSTLSClientSettings
from tlslite_mls.twoparty import InitiatorHandshake, MLSHandshakeConfig
from tlslite_mls.twoparty.messages import TwoPartyMessage


@pytest.fixture(scope="module")
def hello() -> bytes:
    kp = InitiatorHandshake(MLSHandshakeConfig(**MLSTLSClientSettings(suites=[1])
                                               .engine_options())).key_package()
    return TwoPartyMessage(T.CLIENT_HELLO, message=_wrap_key_package(kp)).serialize()


def test_one_message_in_many_pieces(hello):
    r = HandshakeReassembler()
    pieces = fragment(hello, 7)
    for piece in pieces[:-1]:
        assert r.feed(piece) == [] and r.pending
    (msg,) = r.feed(pieces[-1])
    assert msg.msg_type == T.CLIENT_HELLO and msg.serialize() == hello and not r.pending


def test_several_messages_in_one_record(hello):
    marker = TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=9).serialize()
    msgs = HandshakeReassembler().feed(marker + hello + marker[:5])
    assert [m.msg_type for m in msgs] == [T.EPOCH_KEY_UPDATE, T.CLIENT_HELLO]


def test_malformed_is_not_mistaken_for_incomplete(hello):
    # Offset 12 is the length of the KeyPackage's init_key; 0b11 is no varint prefix.
    # Malformed at once, even though the message is cut short after it.
    assert hello[12] == 32
    for data in (hello[:12] + b"\xc0" + hello[13:], hello[:12] + b"\xc0" + hello[13:20]):
        with pytest.raises(ProtocolViolation) as info:
            HandshakeReassembler().feed(data)
        assert info.value.alert == AD.decode_error
    # A message cut at a record boundary waits for the rest.
    marker = TwoPartyMessage(T.EPOCH_KEY_UPDATE, epoch=1).serialize()
    assert HandshakeReassembler().feed(marker[:-1]) == []


@pytest.mark.parametrize("data,alert", [
    (b"\x01\x00\x01\xfc\x03\x03", AD.decode_error),       # a TLS ClientHello
    (b"\x00\x02\x00\x01", AD.decode_error),               # another TwoPartyMessage version
    (b"\x00\x01\x00\x07" + bytes(8), AD.decode_error),    # unknown msg_type
    (b"\x00\x01\x00\x01\x00\x02\x00\x05", AD.decode_error),  # MLSMessage of version 2
    (b"", AD.unexpected_message),                          # empty handshake record
])
def test_bad_starts(data, alert):
    with pytest.raises(ProtocolViolation) as info:
        HandshakeReassembler().feed(data)
    assert info.value.alert == alert


def test_reassembly_is_bounded():
    r = HandshakeReassembler(max_message=1 << 14)
    start = b"\x00\x01\x00\x03\x00\x01\x00\x02"  # a PrivateMessage commit, to be continued
    with pytest.raises(ProtocolViolation, match="longer than"):
        r.feed(start + b"\x80\x01\x00\x00" + bytes(1 << 14))
