"""The versioned framing around every blob a store keeps.

The engine's state is opaque to the store, and the engine versions its own payloads.
This envelope protects only the store's framing, so that a record written by a future
release (or garbage from a misconfigured key prefix) is refused with a clear error
instead of being handed to the engine:

    opaque magic[4] = 0x89 "TMS";
    uint16 format_version;            /* FORMAT_VERSION */
    -- format_version 1:
    uint8  kind;                      /* RecordKind */
    uint32 payload_length;
    opaque payload[payload_length];   /* exactly the rest of the record */

The version sits right after the magic so that any later version may change all the
rest.
"""

from __future__ import annotations

import enum
import struct

from .errors import CorruptState, UnsupportedStateVersion

MAGIC = b"\x89TMS"
#: Version of the envelope stored values are wrapped in; a store refuses other
#: versions (``UnsupportedStateVersion``) instead of misreading them.
FORMAT_VERSION = 1

_PREFIX = struct.Struct(">4sH")
_V1 = struct.Struct(">BI")


class RecordKind(enum.IntEnum):
    """What a record holds; a record read back as the wrong kind is refused."""

    GROUP = 1
    PENDING_COMMIT = 2


_NAMES = {RecordKind.GROUP: "group state", RecordKind.PENDING_COMMIT: "pending commit"}


def wrap(kind: RecordKind, payload: bytes) -> bytes:
    """Frame ``payload`` in the current envelope version."""
    return _PREFIX.pack(MAGIC, FORMAT_VERSION) + _V1.pack(kind, len(payload)) + payload


def unwrap(kind: RecordKind, record: bytes) -> bytes:
    """Return the payload of ``record``, which must be of ``kind`` and version 1.

    Raises UnsupportedStateVersion for another format version and CorruptState for
    anything that is not a complete version-1 envelope of the expected kind. Error
    messages never quote the record: it holds secrets.
    """
    what = _NAMES[kind]
    record = bytes(record)
    if len(record) < _PREFIX.size or record[:4] != MAGIC:
        raise CorruptState(f"stored {what} is not a tlslite_mls store record")
    _, version = _PREFIX.unpack_from(record)
    if version != FORMAT_VERSION:
        raise UnsupportedStateVersion(version, FORMAT_VERSION, what)
    body = record[_PREFIX.size:]
    if len(body) < _V1.size:
        raise CorruptState(f"stored {what} is truncated (header)")
    stored_kind, length = _V1.unpack_from(body)
    if stored_kind != kind:
        raise CorruptState(f"stored record of kind {stored_kind} where {what} was expected")
    payload = body[_V1.size:]
    if len(payload) != length:
        raise CorruptState(
            f"stored {what} has {len(payload)} payload bytes where its header says {length}"
        )
    return payload
