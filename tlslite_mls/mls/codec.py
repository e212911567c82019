"""The TLS presentation language as RFC 9420 section 2.1 extends it.

Two layers:

* :class:`Reader` and :class:`Writer` do the byte work: fixed-width integers,
  the variable-length integers of section 2.1.2 (minimal encoding, 2^30 - 1 at
  most, prefix ``0b11`` refused), ``opaque<V>``, vectors and ``optional<T>``.
  Every read is bounds-checked and raises :class:`DecodeError`.
* :func:`struct` turns an annotated class into a dataclass that knows how to
  write and read itself. Field types are written as ``Annotated`` aliases
  (``U16``, ``Opaque``, ``Vec[T]``, ``Opt[T]``) so the annotations stay honest
  type hints while carrying the wire codec. Variant structs (``select``) write
  their own ``write``/``read`` and use the same helpers.

A decode failure names the field path (``KeyPackage.leaf_node.capabilities``),
because "truncated" alone does not help anybody debug an interop problem.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Annotated, Any, Callable, Iterable, Protocol, TypeVar

from .errors import DecodeError

__all__ = [
    "DecodeError", "Reader", "Writer", "Codec", "struct", "Struct",
    "U8", "U16", "U32", "U64", "Opaque", "Vec", "Opt", "Fixed",
    "UINT8", "UINT16", "UINT32", "UINT64", "OPAQUE",
    "encode_varint", "decode_varint", "VARINT_MAX",
]

T = TypeVar("T")
VARINT_MAX = (1 << 30) - 1


class Reader:
    """A bounded cursor over bytes. ``end`` limits what nested vectors may read."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0,
                 end: int | None = None) -> None:
        self.data = bytes(data) if not isinstance(data, bytes) else data
        self.pos = pos
        self.end = len(self.data) if end is None else end

    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def _take(self, n: int) -> bytes:
        pos = self.pos
        new = pos + n
        if new > self.end:
            raise DecodeError(f"truncated: need {n} bytes, {self.end - pos} left")
        self.pos = new
        return self.data[pos:new]

    def u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError("truncated: need 1 byte, 0 left")
        self.pos = pos + 1
        return self.data[pos]

    def u16(self) -> int:
        return int.from_bytes(self._take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self._take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self._take(8), "big")

    def fixed(self, n: int) -> bytes:
        return self._take(n)

    def varint(self) -> int:
        first = self.u8()
        prefix = first >> 6
        if prefix == 0:
            return first
        if prefix == 1:
            value = ((first & 0x3F) << 8) | self.u8()
            if value < 0x40:
                raise DecodeError("non-minimal variable-length integer")
            return value
        if prefix == 2:
            value = ((first & 0x3F) << 24) | int.from_bytes(self._take(3), "big")
            if value < 0x4000:
                raise DecodeError("non-minimal variable-length integer")
            return value
        raise DecodeError("variable-length integer with invalid prefix 0b11")

    def opaque(self) -> bytes:
        """``opaque data<V>``: a varint length, then that many bytes."""
        return self._take(self.varint())

    def sub(self) -> "Reader":
        """Enter a ``<V>`` vector: returns a reader bounded to its body."""
        n = self.varint()
        start = self.pos
        if start + n > self.end:
            raise DecodeError(f"truncated: vector of {n} bytes, {self.end - start} left")
        self.pos = start + n
        return Reader(self.data, start, start + n)

    def vector(self, read_item: Callable[["Reader"], T]) -> list[T]:
        sub = self.sub()
        items = []
        while sub.pos < sub.end:
            try:
                items.append(read_item(sub))
            except DecodeError as e:
                e.path.insert(0, f"[{len(items)}]")
                raise
        return items

    def optional(self, read_item: Callable[["Reader"], T]) -> T | None:
        flag = self.u8()
        if flag == 0:
            return None
        if flag == 1:
            return read_item(self)
        raise DecodeError(f"optional presence flag must be 0 or 1, got {flag}")

    def finish(self) -> None:
        if self.pos != self.end:
            raise DecodeError(f"{self.end - self.pos} trailing bytes")


class Writer:
    """Appends encodings to a bytearray."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def u8(self, v: int) -> None:
        if not 0 <= v <= 0xFF:
            raise ValueError(f"uint8 out of range: {v}")
        self.buf.append(v)

    def u16(self, v: int) -> None:
        self.buf += v.to_bytes(2, "big")

    def u32(self, v: int) -> None:
        self.buf += v.to_bytes(4, "big")

    def u64(self, v: int) -> None:
        self.buf += v.to_bytes(8, "big")

    def fixed(self, data: bytes, n: int | None = None) -> None:
        if n is not None and len(data) != n:
            raise ValueError(f"fixed-size field needs {n} bytes, got {len(data)}")
        self.buf += data

    def varint(self, v: int) -> None:
        self.buf += encode_varint(v)

    def opaque(self, data: bytes) -> None:
        n = len(data)
        buf = self.buf
        if n < 0x40:  # most fields: a one-byte length, inline
            buf.append(n)
        else:
            buf += encode_varint(n)
        buf += data

    def vector(self, items: Iterable[T], write_item: Callable[["Writer", T], None]) -> None:
        inner = Writer()
        for item in items:
            write_item(inner, item)
        self.opaque(inner.buf)

    def structs(self, items: Iterable[Any]) -> None:
        """A vector of structs (anything with ``write(w)``)."""
        inner = Writer()
        for item in items:
            item.write(inner)
        self.opaque(inner.buf)

    def optional(self, item: T | None, write_item: Callable[["Writer", T], None]) -> None:
        if item is None:
            self.buf.append(0)
        else:
            self.buf.append(1)
            write_item(self, item)


def encode_varint(v: int) -> bytes:
    if v < 0x40:
        if v < 0:
            raise ValueError("variable-length integer must not be negative")
        return bytes((v,))
    if v < 0x4000:
        return (v | 0x4000).to_bytes(2, "big")
    if v <= VARINT_MAX:
        return (v | 0x80000000).to_bytes(4, "big")
    raise ValueError(f"variable-length integer too large: {v} > 2^30 - 1")


def decode_varint(data: bytes) -> int:
    """Decode exactly one varint occupying all of ``data``."""
    r = Reader(data)
    v = r.varint()
    r.finish()
    return v


# --------------------------------------------------------------------------
# Field codecs


class Codec(Protocol[T]):
    def write(self, w: Writer, v: T) -> None: ...
    def read(self, r: Reader) -> T: ...


class _IntCodec:
    __slots__ = ("write", "read", "name", "bits")

    def __init__(self, name: str, bits: int) -> None:
        self.name = name
        self.bits = bits
        self.write = getattr(Writer, name)
        self.read = getattr(Reader, name)

    def __repr__(self) -> str:
        return self.name


class _OpaqueCodec:
    write = staticmethod(Writer.opaque)
    read = staticmethod(Reader.opaque)

    def __repr__(self) -> str:
        return "opaque<V>"


class FixedCodec:
    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def write(self, w: Writer, v: bytes) -> None:
        w.fixed(v, self.n)

    def read(self, r: Reader) -> bytes:
        return r.fixed(self.n)


class VectorCodec:
    __slots__ = ("item",)

    def __init__(self, item: Codec) -> None:
        self.item = item

    def write(self, w: Writer, v: list) -> None:
        w.vector(v, self.item.write)

    def read(self, r: Reader) -> list:
        return r.vector(self.item.read)


class OptionalCodec:
    __slots__ = ("item",)

    def __init__(self, item: Codec) -> None:
        self.item = item

    def write(self, w: Writer, v: Any) -> None:
        w.optional(v, self.item.write)

    def read(self, r: Reader) -> Any:
        return r.optional(self.item.read)


class StructCodec:
    """Writes and reads a @struct class (or any class with write/read)."""

    __slots__ = ("cls",)

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def write(self, w: Writer, v: Any) -> None:
        v.write(w)

    def read(self, r: Reader) -> Any:
        return self.cls.read(r)


UINT8 = _IntCodec("u8", 8)
UINT16 = _IntCodec("u16", 16)
UINT32 = _IntCodec("u32", 32)
UINT64 = _IntCodec("u64", 64)
OPAQUE = _OpaqueCodec()

U8 = Annotated[int, UINT8]
U16 = Annotated[int, UINT16]
U32 = Annotated[int, UINT32]
U64 = Annotated[int, UINT64]
Opaque = Annotated[bytes, OPAQUE]


def codec_of(tp: Any) -> Codec:
    """The wire codec an annotation stands for."""
    if typing.get_origin(tp) is Annotated:
        for meta in tp.__metadata__:
            if hasattr(meta, "write") and hasattr(meta, "read"):
                return meta
        tp = typing.get_args(tp)[0]
    if isinstance(tp, type) and hasattr(tp, "read") and hasattr(tp, "write"):
        return StructCodec(tp)
    raise TypeError(f"no wire codec for annotation {tp!r}")


class _VecAlias:
    """``Vec[T]``: the ``T items<V>`` of the presentation language."""

    def __getitem__(self, item: Any) -> Any:
        return Annotated[list[item], VectorCodec(codec_of(item))]


class _OptAlias:
    """``Opt[T]``: RFC 9420's ``optional<T>``."""

    def __getitem__(self, item: Any) -> Any:
        return Annotated[typing.Optional[item], OptionalCodec(codec_of(item))]


class _FixedAlias:
    """``Fixed[n]``: ``opaque data[n]``."""

    def __getitem__(self, n: int) -> Any:
        return Annotated[bytes, FixedCodec(n)]


Vec = _VecAlias()
Opt = _OptAlias()
Fixed = _FixedAlias()


# --------------------------------------------------------------------------
# Structs

S = TypeVar("S", bound="Struct")


class Struct:
    """Base of wire structs: ``serialize``/``deserialize`` on top of ``write``/``read``.

    Subclasses either come from :func:`struct` (fields from annotations) or
    implement ``write(self, w)`` and ``read(cls, r)`` by hand for variants.
    """

    __slots__ = ()
    _secret_fields_: tuple[str, ...] = ()

    def write(self, w: Writer) -> None:  # pragma: no cover - overridden
        """Append this value's TLS presentation-language encoding to ``w``."""
        raise NotImplementedError

    @classmethod
    def read(cls: type[S], r: Reader) -> S:  # pragma: no cover - overridden
        """Decode one value from ``r``, leaving the reader after it; raises
        :class:`DecodeError` naming the field that is malformed."""
        raise NotImplementedError

    def serialize(self) -> bytes:
        """This value's encoding as bytes."""
        w = Writer()
        self.write(w)
        return bytes(w.buf)

    @classmethod
    def deserialize(cls: type[S], data: bytes) -> S:
        """Decode one complete value; trailing bytes are an error."""
        r = Reader(data)
        try:
            value = cls.read(r)
            r.finish()
        except DecodeError as e:
            e.path.insert(0, cls.__name__)
            raise
        return value

    @classmethod
    def read_prefix(cls: type[S], data: bytes) -> tuple[S, int]:
        """Decode one value from the start of ``data``; returns it and its length."""
        r = Reader(data)
        try:
            value = cls.read(r)
        except DecodeError as e:
            e.path.insert(0, cls.__name__)
            raise
        return value, r.pos


def _redacting_repr(cls: type) -> Callable[[Any], str]:
    secret = set(cls._secret_fields_)
    names = [f.name for f in dataclasses.fields(cls) if f.repr]

    def __repr__(self: Any) -> str:
        parts = []
        for n in names:
            v = getattr(self, n)
            parts.append(f"{n}=<redacted>" if n in secret and v is not None else f"{n}={v!r}")
        return f"{cls.__qualname__}({', '.join(parts)})"
    return __repr__


def _field_source(name: str, codec: Any, env: dict[str, Any]) -> tuple[str, str]:
    """One field's write statement and read expression, inlined for the common codecs.

    The generated methods are what a hand-written ``write``/``read`` would be: no loop
    over field tables, no ``getattr`` by name, integers and ``opaque<V>`` written in
    place. Other codecs are called through a name bound in ``env``.
    """
    value = f"self.{name}"
    if codec is OPAQUE:
        return f"w.opaque({value})", "r.opaque()"
    if isinstance(codec, _IntCodec):
        if codec.bits == 8:
            return f"w.u8({value})", "r.u8()"
        return f"buf += {value}.to_bytes({codec.bits // 8}, 'big')", f"r.{codec.name}()"
    if isinstance(codec, StructCodec):
        env[f"_c_{name}"] = codec.cls
        return f"{value}.write(w)", f"_c_{name}.read(r)"
    env[f"_w_{name}"] = codec.write
    env[f"_r_{name}"] = codec.read
    return f"_w_{name}(w, {value})", f"_r_{name}(r)"


def _generate_methods(fields: list[tuple[str, Any]]) -> tuple[Callable, Callable]:
    """Compile ``write(self, w)`` and ``read(cls, r)`` for a struct's fields.

    ``read`` names the failing field in the :class:`DecodeError` path.
    """
    env: dict[str, Any] = {"DecodeError": DecodeError}
    writes, reads = [], []
    for name, codec in fields:
        w_stmt, r_expr = _field_source(name, codec, env)
        writes.append(f"    {w_stmt}")
        reads.append(f"        field = {name!r}\n        v_{name} = {r_expr}")
    args = ", ".join(f"v_{n}" for n, _ in fields)
    source = ("def write(self, w):\n    buf = w.buf\n" + "\n".join(writes or ["    pass"])
              + "\n\ndef read(cls, r):\n    field = None\n    try:\n"
              + "\n".join(reads or ["        pass"])
              + "\n    except DecodeError as e:\n        e.path.insert(0, field)\n        raise\n"
              + f"    return cls({args})\n")
    exec(compile(source, "<struct codec>", "exec"), env)
    return env["write"], env["read"]


def struct(cls: type[S]) -> type[S]:
    """Make ``cls`` a dataclass whose annotated fields are its wire layout, in order.

    Fields listed in ``_secret_fields_`` are shown as ``<redacted>`` in repr.
    """
    cls = dataclasses.dataclass(eq=True)(cls)
    module = sys.modules[cls.__module__]
    hints = typing.get_type_hints(cls, vars(module), include_extras=True)
    fields = [(f.name, codec_of(hints[f.name])) for f in dataclasses.fields(cls)]
    write, read = _generate_methods(fields)
    cls.write = write
    cls.read = classmethod(read)
    cls._wire_fields_ = tuple(n for n, _ in fields)
    if cls._secret_fields_:
        cls.__repr__ = _redacting_repr(cls)
    return cls
