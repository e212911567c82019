"""The presentation-language codec: official varint headers, round trips, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from tlslite_mls.mls.codec import (U8, U16, U32, U64, Opaque, Opt, Reader, Struct, Vec,
                                   Writer, decode_varint, encode_varint, struct)
from tlslite_mls.mls.errors import DecodeError
from helpers import h, run_vector, vector_cases

FILE = "deserialization.json"


def _check(v):
    header = h(v["vlbytes_header"])
    assert encode_varint(v["length"]) == header
    assert decode_varint(header) == v["length"]
    # The header in front of that many bytes decodes as opaque<V>.
    body = bytes(v["length"])
    r = Reader(header + body)
    assert r.opaque() == body
    r.finish()


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_deserialization(vector):
    run_vector(FILE, vector, _check)


@struct
class Inner(Struct):
    a: U16
    b: Opaque


@struct
class Sample(Struct):
    x: U8
    y: U32
    z: U64
    items: Vec[Inner]
    maybe: Opt[Inner]
    numbers: Vec[U16]
    blob: Opaque


inner = st.builds(Inner, st.integers(0, 0xFFFF), st.binary(max_size=80))
samples = st.builds(
    Sample, st.integers(0, 0xFF), st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1),
    st.lists(inner, max_size=5), st.none() | inner,
    st.lists(st.integers(0, 0xFFFF), max_size=10), st.binary(max_size=300))


@given(samples)
def test_struct_round_trip(s):
    data = s.serialize()
    assert Sample.deserialize(data) == s
    assert Sample.deserialize(data).serialize() == data


@given(st.integers(0, 2**30 - 1))
def test_varint_round_trip_and_minimal(v):
    enc = encode_varint(v)
    assert decode_varint(enc) == v
    assert len(enc) == (1 if v < 64 else 2 if v < 16384 else 4)


@given(st.integers(0, 2**30 - 1))
def test_non_minimal_varints_refused(v):
    longer = []
    if v < 64:
        longer.append((v | 0x4000).to_bytes(2, "big"))
    if v < 16384:
        longer.append((v | 0x80000000).to_bytes(4, "big"))
    for enc in longer:
        with pytest.raises(DecodeError, match="non-minimal"):
            decode_varint(enc)


@given(st.binary(min_size=7, max_size=7))
def test_prefix_0b11_refused(rest):
    with pytest.raises(DecodeError, match="0b11"):
        decode_varint(bytes([0xC0 | (rest[0] & 0x3F)]) + rest)


def test_varint_limit():
    with pytest.raises(ValueError):
        encode_varint(2**30)


@given(samples, st.data())
def test_truncation_raises_decode_error(s, data):
    enc = s.serialize()
    cut = data.draw(st.integers(0, len(enc) - 1))
    with pytest.raises(DecodeError):
        Sample.deserialize(enc[:cut])


@given(samples, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_refused(s, extra):
    with pytest.raises(DecodeError, match="trailing"):
        Sample.deserialize(s.serialize() + extra)


@given(samples, st.integers(2, 255))
def test_bad_optional_flag(s, flag):
    # The optional flag sits right after x, y, z and the items vector.
    w = Writer()
    w.u8(s.x), w.u32(s.y), w.u64(s.z), w.structs(s.items)
    prefix = len(w.buf)
    enc = bytearray(s.serialize())
    enc[prefix] = flag
    with pytest.raises(DecodeError, match="optional") as e:
        Sample.deserialize(bytes(enc))
    assert "maybe" in str(e.value)


@given(samples, st.integers(1, 1000))
def test_overlong_vector_length(s, extra):
    w = Writer()
    w.u8(s.x), w.u32(s.y), w.u64(s.z)
    head = bytes(w.buf)
    body = Writer()
    body.structs(s.items)
    r = Reader(body.getvalue())
    n = r.varint()
    bad = head + encode_varint(n + extra) + body.getvalue()[r.pos:]
    with pytest.raises(DecodeError):
        Sample.deserialize(bad + s.serialize()[len(head) + len(body.buf):])


@given(st.binary(max_size=200))
def test_garbage_raises_only_decode_error(data):
    try:
        Sample.deserialize(data)
    except DecodeError:
        pass


def test_error_names_field():
    s = Sample(1, 2, 3, [Inner(1, b"abc")], None, [], b"")
    enc = s.serialize()
    with pytest.raises(DecodeError) as e:
        Sample.deserialize(enc[:16])
    assert str(e.value).startswith("Sample.items")
