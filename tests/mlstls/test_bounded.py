"""MLS-TLS handshake messages are refused by their declared lengths before they are
buffered: 128 KiB before the peer is authenticated, 1 MiB after (docs/profile.md section 9)."""

from __future__ import annotations

import pytest
from hostile import oversized_hello
from tlslite.constants import AlertDescription as AD

from tlslite_mls.mlstls import MLSTLSServerSettings
from tlslite_mls.mlstls.errors import ProtocolViolation
from tlslite_mls.mlstls.framing import (DEFAULT_MAX_HANDSHAKE_MESSAGE, DEFAULT_MAX_MESSAGE,
                                        HandshakeReassembler)


def test_declared_vector_over_the_limit_refused_at_once():
    r = HandshakeReassembler(max_message=DEFAULT_MAX_HANDSHAKE_MESSAGE)
    with pytest.raises(ProtocolViolation) as info:
        r.feed(oversized_hello(True)[5:])  # one record's content
    assert info.value.alert == AD.decode_error
    assert "declares a field of 1073741823 bytes" in info.value.reason


def test_declared_length_between_the_limits_depends_on_authentication():
    # init_key<V> of 200 KiB: too much for a hello, fine for the post-handshake bound.
    head = oversized_hello(True)[5:5 + 12] + b"\x80\x03\x20\x00"
    early = HandshakeReassembler(max_message=DEFAULT_MAX_HANDSHAKE_MESSAGE)
    with pytest.raises(ProtocolViolation):
        early.feed(head + bytes(100))
    late = HandshakeReassembler(max_message=DEFAULT_MAX_MESSAGE)
    assert late.feed(head + bytes(100)) == [] and late.pending


def test_settings_carry_both_limits():
    s = MLSTLSServerSettings().validate()
    assert s.max_handshake_message == 128 * 1024 and s.max_message == 1 << 20
    with pytest.raises(ValueError, match="max_handshake_message"):
        MLSTLSServerSettings(max_handshake_message=10).validate()
