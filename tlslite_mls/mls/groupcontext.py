"""GroupContext (RFC 9420 section 8.1): the state every epoch's secrets are bound to."""

from __future__ import annotations

from .codec import U16, U64, Opaque, Struct, Vec, struct
from .extensions import Extension


@struct
class GroupContext(Struct):
    version: U16
    cipher_suite: U16
    group_id: Opaque
    epoch: U64
    tree_hash: Opaque
    confirmed_transcript_hash: Opaque
    extensions: Vec[Extension]
