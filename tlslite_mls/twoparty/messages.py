"""Wire structs of the two modes: ``TwoPartyMLSMessage`` and MLS-TLS ``TwoPartyMessage``.

TLS extension mode (body of the ``mls_handshake`` handshake message)::

    struct {
      ProtocolVersion version = mls10;
      uint16 tpmlsmt;
      select (tpmlsmt) {
        case mls_connection_update:   MLSMessage commit;
        case mls_epoch_key_update:    uint64 epoch;
        case mls_resumption_request:  MLSMessage commit;
        case mls_resumption_response: MLSMessage commit;
      };
    } TwoPartyMLSMessage;

docs/profile.md section 2 puts a full ``MLSMessage`` where the Housley draft writes a bare
``Commit``: a bare Commit carries no signature or confirmation tag and cannot be verified.

MLS-TLS mode (docs/profile.md section 8) has the same layout with six message types, two of
which carry the KeyPackage and the Welcome as ``MLSMessage``.

Both codecs keep the commit as the exact bytes received, so a commit resent in a
resumption request is recognised byte for byte. The message-type numbers are looked up
in a table that defaults to ``codepoints`` and can be replaced, since none is assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from ..codepoints import MLSTLSMessageType, TwoPartyMLSMessageType
from ..mls.codec import Reader, Writer
from ..mls.constants import MLS10, WireFormat
from ..mls.errors import DecodeError
from ..mls.messages import MLSMessage

__all__ = [
    "Kind",
    "TwoPartyMLSMessage",
    "TwoPartyMessage",
    "DEFAULT_TPMLSMT",
    "DEFAULT_MLS_TLS_TYPES",
    "to_mls_tls",
    "from_mls_tls",
]

# The engine speaks in TwoPartyMLSMessageType members ("kinds"); the numbers on the wire
# come from these tables.
Kind = TwoPartyMLSMessageType

DEFAULT_TPMLSMT: Mapping[TwoPartyMLSMessageType, int] = {k: int(k) for k in TwoPartyMLSMessageType}
DEFAULT_MLS_TLS_TYPES: Mapping[MLSTLSMessageType, int] = {k: int(k) for k in MLSTLSMessageType}

_COMMIT_KINDS = (Kind.CONNECTION_UPDATE, Kind.RESUMPTION_REQUEST, Kind.RESUMPTION_RESPONSE)
_HANDSHAKE_WIRE_FORMATS = (WireFormat.PUBLIC_MESSAGE, WireFormat.PRIVATE_MESSAGE)
_U64_MAX = (1 << 64) - 1


def _read_mls_message(r: Reader, allowed: tuple[int, ...], what: str) -> bytes:
    """Decode one MLSMessage in place and return its exact bytes."""
    start = r.pos
    try:
        msg = MLSMessage.read(r)
    except DecodeError as e:
        e.path.insert(0, what)
        raise
    if msg.wire_format not in allowed:
        raise DecodeError(f"{what} has wire format {msg.wire_format}, expected one of "
                          f"{[int(a) for a in allowed]}", [what])
    return r.data[start:r.pos]


def _check_version(r: Reader, name: str) -> None:
    version = r.u16()
    if version != MLS10:
        raise DecodeError(f"unsupported version {version}", [name, "version"])


def _reverse(table: Mapping, name: str) -> dict[int, object]:
    rev: dict[int, object] = {}
    for kind, value in table.items():
        if not 0 <= value <= 0xFFFF or value in rev:
            raise ValueError(f"{name}: code point {value} is out of range or used twice")
        rev[value] = kind
    return rev


@dataclass(frozen=True)
class TwoPartyMLSMessage:
    """One post-handshake message of the TLS extension mode.

    ``commit`` (the serialized ``MLSMessage``) is set for the three commit kinds,
    ``epoch`` for ``EPOCH_KEY_UPDATE``.
    """

    kind: TwoPartyMLSMessageType
    commit: Optional[bytes] = field(default=None, repr=False)
    epoch: Optional[int] = None

    def __post_init__(self) -> None:
        kind = TwoPartyMLSMessageType(self.kind)
        object.__setattr__(self, "kind", kind)
        if kind == Kind.EPOCH_KEY_UPDATE:
            if self.epoch is None or self.commit is not None or not 0 <= self.epoch <= _U64_MAX:
                raise ValueError("epoch_key_update carries exactly a uint64 epoch")
        elif self.commit is None or self.epoch is not None:
            raise ValueError(f"{kind.name.lower()} carries exactly an MLSMessage commit")

    @classmethod
    def marker(cls, epoch: int) -> "TwoPartyMLSMessage":
        """The ``epoch_key_update`` marker for ``epoch``: sent as the last record under
        the old key (docs/profile.md section 5)."""
        return cls(Kind.EPOCH_KEY_UPDATE, epoch=epoch)

    @property
    def mls_message(self) -> MLSMessage:
        """The commit, parsed (it was checked to parse when decoded or built)."""
        if self.commit is None:
            raise ValueError("this message carries no commit")
        return MLSMessage.deserialize(self.commit)

    def serialize(self, types: Mapping[TwoPartyMLSMessageType, int] = DEFAULT_TPMLSMT) -> bytes:
        """The encoding, with the ``tpmlsmt`` code points ``types`` (both peers must use
        the same ones)."""
        w = Writer()
        w.u16(MLS10)
        w.u16(types[self.kind])
        if self.kind == Kind.EPOCH_KEY_UPDATE:
            w.u64(self.epoch)  # type: ignore[arg-type]
        else:
            w.fixed(self.commit)  # type: ignore[arg-type]
        return w.getvalue()

    @classmethod
    def deserialize(cls, data: bytes,
                    types: Mapping[TwoPartyMLSMessageType, int] = DEFAULT_TPMLSMT
                    ) -> "TwoPartyMLSMessage":
        """Decode; :class:`DecodeError` for anything malformed, trailing bytes included."""
        r = Reader(data)
        _check_version(r, "TwoPartyMLSMessage")
        value = r.u16()
        kind = _reverse(types, "tpmlsmt").get(value)
        if kind is None:
            raise DecodeError(f"unknown tpmlsmt {value}", ["TwoPartyMLSMessage", "tpmlsmt"])
        if kind == Kind.EPOCH_KEY_UPDATE:
            msg = cls(Kind.EPOCH_KEY_UPDATE, epoch=r.u64())
        else:
            msg = cls(kind, commit=_read_mls_message(r, _HANDSHAKE_WIRE_FORMATS, "commit"))  # type: ignore[arg-type]
        if not r.at_end():
            raise DecodeError(f"{r.remaining()} trailing bytes", ["TwoPartyMLSMessage"])
        return msg


_MLS_TLS_BODY_FORMATS = {
    MLSTLSMessageType.CLIENT_HELLO: (WireFormat.KEY_PACKAGE,),
    MLSTLSMessageType.SERVER_HELLO: (WireFormat.WELCOME,),
    MLSTLSMessageType.CONNECTION_UPDATE: _HANDSHAKE_WIRE_FORMATS,
    MLSTLSMessageType.RESUMPTION_REQUEST: _HANDSHAKE_WIRE_FORMATS,
    MLSTLSMessageType.RESUMPTION_RESPONSE: _HANDSHAKE_WIRE_FORMATS,
}


@dataclass(frozen=True)
class TwoPartyMessage:
    """MLS-TLS ``TwoPartyMessage`` (docs/profile.md section 8).

    ``message`` is the serialized ``MLSMessage`` (KeyPackage, Welcome or commit),
    ``epoch`` is set for ``EPOCH_KEY_UPDATE``.
    """

    msg_type: MLSTLSMessageType
    message: Optional[bytes] = field(default=None, repr=False)
    epoch: Optional[int] = None

    def __post_init__(self) -> None:
        t = MLSTLSMessageType(self.msg_type)
        object.__setattr__(self, "msg_type", t)
        if t == MLSTLSMessageType.EPOCH_KEY_UPDATE:
            if self.epoch is None or self.message is not None or not 0 <= self.epoch <= _U64_MAX:
                raise ValueError("epoch_key_update carries exactly a uint64 epoch")
        elif self.message is None or self.epoch is not None:
            raise ValueError(f"{t.name.lower()} carries exactly an MLSMessage")

    def serialize(self, types: Mapping[MLSTLSMessageType, int] = DEFAULT_MLS_TLS_TYPES) -> bytes:
        """The encoding, with the ``msg_type`` code points ``types`` (both peers must
        use the same ones)."""
        w = Writer()
        w.u16(MLS10)
        w.u16(types[self.msg_type])
        if self.msg_type == MLSTLSMessageType.EPOCH_KEY_UPDATE:
            w.u64(self.epoch)  # type: ignore[arg-type]
        else:
            w.fixed(self.message)  # type: ignore[arg-type]
        return w.getvalue()

    @classmethod
    def read(cls, r: Reader,
             types: Mapping[MLSTLSMessageType, int] = DEFAULT_MLS_TLS_TYPES) -> "TwoPartyMessage":
        """Decode one message from ``r`` (records may carry several back to back)."""
        _check_version(r, "TwoPartyMessage")
        value = r.u16()
        t = _reverse(types, "msg_type").get(value)
        if t is None:
            raise DecodeError(f"unknown msg_type {value}", ["TwoPartyMessage", "msg_type"])
        if t == MLSTLSMessageType.EPOCH_KEY_UPDATE:
            return cls(t, epoch=r.u64())  # type: ignore[arg-type]
        name = t.name.lower()  # type: ignore[attr-defined]
        return cls(t, message=_read_mls_message(r, _MLS_TLS_BODY_FORMATS[t], name))  # type: ignore[index]

    @classmethod
    def deserialize(cls, data: bytes,
                    types: Mapping[MLSTLSMessageType, int] = DEFAULT_MLS_TLS_TYPES
                    ) -> "TwoPartyMessage":
        """Decode one message; :class:`DecodeError` for anything malformed, trailing
        bytes included."""
        r = Reader(data)
        msg = cls.read(r, types)
        if not r.at_end():
            raise DecodeError(f"{r.remaining()} trailing bytes", ["TwoPartyMessage"])
        return msg


_TO_MLS_TLS = {
    Kind.CONNECTION_UPDATE: MLSTLSMessageType.CONNECTION_UPDATE,
    Kind.EPOCH_KEY_UPDATE: MLSTLSMessageType.EPOCH_KEY_UPDATE,
    Kind.RESUMPTION_REQUEST: MLSTLSMessageType.RESUMPTION_REQUEST,
    Kind.RESUMPTION_RESPONSE: MLSTLSMessageType.RESUMPTION_RESPONSE,
}
_FROM_MLS_TLS = {v: k for k, v in _TO_MLS_TLS.items()}


def to_mls_tls(msg: TwoPartyMLSMessage) -> TwoPartyMessage:
    """The MLS-TLS form of an engine message (same content, other type numbers)."""
    return TwoPartyMessage(_TO_MLS_TLS[msg.kind], message=msg.commit, epoch=msg.epoch)


def from_mls_tls(msg: TwoPartyMessage) -> TwoPartyMLSMessage:
    """The engine form of an MLS-TLS post-handshake message.

    client_hello and server_hello are not engine messages: they go to the handshake
    classes, so asking for them here is a :class:`ValueError`.
    """
    kind = _FROM_MLS_TLS.get(msg.msg_type)
    if kind is None:
        raise ValueError(f"{msg.msg_type.name.lower()} is handled by the handshake, not the engine")
    return TwoPartyMLSMessage(kind, commit=msg.message, epoch=msg.epoch)
