"""The store's versioned envelope, on its own."""

from __future__ import annotations

import pytest

from tlslite_mls.store import FORMAT_VERSION, CorruptState, UnsupportedStateVersion
from tlslite_mls.store.envelope import MAGIC, RecordKind, unwrap, wrap


def test_layout_is_stable():
    # Records outlive releases: this exact layout is what version 1 means.
    assert FORMAT_VERSION == 1
    assert wrap(RecordKind.GROUP, b"xyz") == b"\x89TMS\x00\x01\x01\x00\x00\x00\x03xyz"
    assert wrap(RecordKind.PENDING_COMMIT, b"") == b"\x89TMS\x00\x01\x02\x00\x00\x00\x00"


@pytest.mark.parametrize("kind", list(RecordKind))
@pytest.mark.parametrize("payload", [b"", b"\x00", bytes(range(256)) * 100])
def test_round_trip(kind, payload):
    assert unwrap(kind, wrap(kind, payload)) == payload


@pytest.mark.parametrize("version", [0, 2, 0x0100, 0xFFFF])
def test_other_versions_refused_before_parsing_the_rest(version):
    record = MAGIC + version.to_bytes(2, "big")  # nothing else: a later layout may differ
    with pytest.raises(UnsupportedStateVersion) as info:
        unwrap(RecordKind.GROUP, record)
    err = info.value
    assert (err.version, err.supported, err.what) == (version, 1, "group state")
    assert f"version {version}" in str(err) and "upgrade" in str(err)


def test_wrong_kind_refused():
    with pytest.raises(CorruptState, match="pending commit was expected"):
        unwrap(RecordKind.PENDING_COMMIT, wrap(RecordKind.GROUP, b"g"))


@pytest.mark.parametrize("record", [b"", b"\x89TM", b"XTMS\x00\x01\x01\x00\x00\x00\x00",
                                    MAGIC + b"\x00\x01", MAGIC + b"\x00\x01\x01\x00\x00"])
def test_not_an_envelope(record):
    with pytest.raises(CorruptState):
        unwrap(RecordKind.GROUP, record)


def test_length_must_match_exactly():
    good = wrap(RecordKind.GROUP, b"abcd")
    for bad in (good[:-1], good + b"\x00"):
        with pytest.raises(CorruptState, match="payload bytes"):
            unwrap(RecordKind.GROUP, bad)
