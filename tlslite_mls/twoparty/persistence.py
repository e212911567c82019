"""The engine's records in a state store: versioned session and pending-commit payloads.

The store frames records in its own envelope; inside it the engine keeps its own
versioned layout, so either can change without the other, and a record written by a
newer release is refused rather than misread::

    struct { uint16 version = 1; uint8 role; opaque last_peer_commit<V>;
             opaque group_state<V>; } SessionRecord;
    struct { uint16 version = 2; ...version 1's fields...;
             Candidate candidates<V>; } SessionRecord;     /* MLS-TLS, with candidates */
    struct { opaque id<V>; uint64 epoch; opaque group_state<V>; } Candidate;
    struct { uint16 version = 1; opaque commit<V>; opaque next_group_state<V>; } PendingRecord;

``group_state`` is ``Group.export_state()`` (versioned by the core). ``last_peer_commit``
is the hash of the peer commit that made the current epoch (empty if our own commit
did): a commit the peer resends in a resumption request after we already applied it is
recognised by it (docs/profile.md section 6).

``candidates`` (MLS-TLS only, docs/profile.md section 8) are the results of resumption
requests that no client has confirmed yet, next to the last confirmed state
(``group_state``): each is the merged group at the epoch the request's connection
uses, named by the hash of the server's response commit. A record without candidates
is written as version 1, so the extension mode's records do not change.

These records hold private keys and live epoch secrets; stores must guard them as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..mls.codec import Reader, Writer
from ..mls.errors import DecodeError
from .errors import MessageDecodeError, UnsupportedFeature

__all__ = ["SESSION_RECORD_VERSION", "Candidate", "SessionRecord", "PendingRecord"]

SESSION_RECORD_VERSION = 1
_WITH_CANDIDATES = 2


def _check_version(r: Reader, what: str, readable: tuple[int, ...] = (SESSION_RECORD_VERSION,)
                   ) -> int:
    version = r.u16()
    if version not in readable:
        raise UnsupportedFeature(f"{what} version {version} is not supported "
                                 f"(this release reads version "
                                 f"{' and '.join(map(str, readable))})")
    return version


@dataclass
class Candidate:
    """The unconfirmed result of one resumption request (see the module docstring)."""

    ident: bytes
    epoch: int
    group_state: bytes = field(repr=False)


def _write_candidate(w: Writer, c: Candidate) -> None:
    w.opaque(c.ident)
    w.u64(c.epoch)
    w.opaque(c.group_state)


def _read_candidate(r: Reader) -> Candidate:
    return Candidate(r.opaque(), r.u64(), r.opaque())


@dataclass
class SessionRecord:
    role: int
    last_peer_commit: bytes
    group_state: bytes = field(repr=False)
    candidates: list[Candidate] = field(default_factory=list)

    def serialize(self) -> bytes:
        w = Writer()
        w.u16(_WITH_CANDIDATES if self.candidates else SESSION_RECORD_VERSION)
        w.u8(self.role)
        w.opaque(self.last_peer_commit)
        w.opaque(self.group_state)
        if self.candidates:
            w.vector(self.candidates, _write_candidate)
        return w.getvalue()

    @classmethod
    def deserialize(cls, data: bytes) -> "SessionRecord":
        try:
            r = Reader(data)
            version = _check_version(r, "session record",
                                     (SESSION_RECORD_VERSION, _WITH_CANDIDATES))
            rec = cls(r.u8(), r.opaque(), r.opaque())
            if version == _WITH_CANDIDATES:
                rec.candidates = r.vector(_read_candidate)
            if not r.at_end():
                raise DecodeError("trailing bytes")
        except DecodeError as e:
            raise MessageDecodeError(f"stored session record: {e}") from e
        if rec.role not in (0, 1):
            raise MessageDecodeError(f"stored session record: unknown role {rec.role}")
        return rec


@dataclass
class PendingRecord:
    commit: bytes
    next_group_state: bytes = field(repr=False)

    def serialize(self) -> bytes:
        w = Writer()
        w.u16(SESSION_RECORD_VERSION)
        w.opaque(self.commit)
        w.opaque(self.next_group_state)
        return w.getvalue()

    @classmethod
    def deserialize(cls, data: bytes) -> "PendingRecord":
        try:
            r = Reader(data)
            _check_version(r, "pending commit record")
            rec = cls(r.opaque(), r.opaque())
            if not r.at_end():
                raise DecodeError("trailing bytes")
        except DecodeError as e:
            raise MessageDecodeError(f"stored pending commit: {e}") from e
        return rec
