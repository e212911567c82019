"""transcript-hashes.json: confirmed/interim transcript hashes and the confirmation tag."""

import pytest

from tlslite_mls.mls.codec import Reader
from tlslite_mls.mls.constants import ContentType, SenderType
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import DecodeError
from tlslite_mls.mls.leafnode import LeafNode
from tlslite_mls.mls.transcript import (
    confirmation_tag, confirmed_transcript_hash, confirmed_transcript_hash_input,
    interim_transcript_hash, verify_confirmation_tag,
)
from helpers import h, run_vector, vector_cases

FILE = "transcript-hashes.json"


def _split_authenticated_content(data: bytes) -> tuple[bytes, bytes, int, bytes, bytes]:
    """Walk AuthenticatedContent(Commit) field by field.

    Returns (ConfirmedTranscriptHashInput bytes, confirmation_tag, wire_format,
    FramedContent bytes, signature).
    """
    r = Reader(data)
    wire_format = r.u16()
    start = r.pos
    r.opaque()  # group_id
    r.u64()  # epoch
    sender_type = r.u8()
    if sender_type in (SenderType.MEMBER, SenderType.EXTERNAL):
        r.u32()
    r.opaque()  # authenticated_data
    content_type = r.u8()
    if content_type != ContentType.COMMIT:
        raise DecodeError(f"expected a commit, got content type {content_type}")
    r.sub()  # proposals<V>
    r.optional(lambda rr: (LeafNode.read(rr), rr.sub()))  # UpdatePath: leaf_node, nodes<V>
    framed_content = data[start:r.pos]
    signature = r.opaque()
    confirmed_input = data[:r.pos]
    tag = r.opaque()
    r.finish()
    return confirmed_input, tag, wire_format, framed_content, signature


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    confirmed_input, tag, wire_format, framed, signature = \
        _split_authenticated_content(h(v["authenticated_content"]))
    assert confirmed_transcript_hash_input(wire_format, framed, signature) == confirmed_input
    confirmed = confirmed_transcript_hash(cs, h(v["interim_transcript_hash_before"]),
                                          confirmed_input)
    assert confirmed == h(v["confirmed_transcript_hash_after"])
    key = h(v["confirmation_key"])
    assert verify_confirmation_tag(cs, key, confirmed, tag)
    assert confirmation_tag(cs, key, confirmed) == tag
    assert not verify_confirmation_tag(cs, key, confirmed, bytes(len(tag)))
    assert not verify_confirmation_tag(cs, key, confirmed, tag[:-1])
    assert interim_transcript_hash(cs, confirmed, tag) == h(v["interim_transcript_hash_after"])


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_transcript_hashes(vector):
    run_vector(FILE, vector, _check)
