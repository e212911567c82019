"""The harness' own MLSMessage header parsing, independent of any peer."""

import pytest

from interop.wire import WireError, framing, read_varint, wire_format


def test_varint():
    assert read_varint(b"\x25", 0) == (0x25, 1)
    assert read_varint(b"\x7b\xbd", 0) == (15293, 2)
    assert read_varint(b"\x9d\x7f\x3e\x7d", 0) == (494878333, 4)
    for bad in (b"", b"\x40\x01", b"\xc0" + bytes(7), b"\x80\x00\x00\x01", b"\x7b"):
        with pytest.raises(WireError):
            read_varint(bad, 0)


def test_framing():
    msg = b"\x00\x01\x00\x02" + b"\x03abc" + (7).to_bytes(8, "big") + b"rest"
    f = framing(msg)
    assert (f.wire_format, f.group_id, f.epoch) == ("private", b"abc", 7)
    assert wire_format(b"\x00\x01\x00\x03") == "welcome"
    with pytest.raises(WireError):
        framing(b"\x00\x01\x00\x05")
    with pytest.raises(WireError):
        wire_format(b"\x00\x02\x00\x01")
    with pytest.raises(WireError):
        framing(msg[:10])
