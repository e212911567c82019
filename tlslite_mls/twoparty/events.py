"""What the engine asks its caller to do: send a message, switch a direction's keys.

The engine returns these in a list, in exactly the order of docs/profile.md section 5; the
caller carries them out in that order (a ``Send`` before a following switch goes out
under the old key: that is the marker's whole point).

A switch event carries :class:`KeyMaterial`: the new epoch's MLS-Exporter outputs that
the caller asked for (``key_exports``), computed while the epoch's secrets still existed.
Every event carries its own copy; the engine keeps one only between a sending and the
matching receiving switch. The caller should derive its traffic keys at once and then
call ``wipe()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from ..mls.errors import StateError
from .messages import TwoPartyMLSMessage

__all__ = ["KeyMaterial", "Send", "SwitchSendingKeys", "SwitchReceivingKeys", "Event"]


class KeyMaterial:
    """MLS-Exporter outputs of one epoch, keyed by (label, context, length)."""

    __slots__ = ("epoch", "_values", "_wiped")

    def __init__(self, epoch: int, values: Iterable[tuple[tuple[bytes, bytes, int], bytes]]):
        self.epoch = epoch
        self._values = {k: bytearray(v) for k, v in values}
        self._wiped = False

    def export(self, label: bytes, context: bytes = b"", length: int = 0) -> bytes:
        """The exporter output for ``(label, context, length)`` (one of ``key_exports``).

        ``length=0`` takes the only output with that label and context.
        """
        if length == 0:
            hits = [v for (l, c, _), v in self._values.items() if l == label and c == context]
            if len(hits) != 1:
                raise KeyError(f"no unique export for label {label!r}")
            value = hits[0]
        else:
            found = self._values.get((bytes(label), bytes(context), length))
            if found is None:
                raise KeyError(f"epoch {self.epoch}: {label!r}/{length} was not exported")
            value = found
        if self._wiped:
            raise StateError(f"key material of epoch {self.epoch} was wiped")
        return bytes(value)

    def copy(self) -> "KeyMaterial":
        """An independent copy: every event gets its own, to wipe when it is used."""
        if self._wiped:
            raise StateError(f"key material of epoch {self.epoch} was wiped")
        return KeyMaterial(self.epoch, ((k, bytes(v)) for k, v in self._values.items()))

    @property
    def wiped(self) -> bool:
        """Whether :meth:`wipe` has already erased the secrets (they are then gone for
        good)."""
        return self._wiped

    def wipe(self) -> None:
        """Overwrite every value (what Python allows) once the traffic keys are derived."""
        for v in self._values.values():
            v[:] = bytes(len(v))
        self._wiped = True

    def __repr__(self) -> str:
        return f"<KeyMaterial epoch {self.epoch}, {len(self._values)} export(s)>"


@dataclass(frozen=True)
class Send:
    """Hand ``message`` to the peer, under the current sending key."""

    message: TwoPartyMLSMessage


@dataclass(frozen=True)
class SwitchSendingKeys:
    """From now on send under the keys of ``epoch`` (record sequence numbers restart)."""

    epoch: int
    keys: KeyMaterial


@dataclass(frozen=True)
class SwitchReceivingKeys:
    """From now on read under the keys of ``epoch``; the old reading keys are done."""

    epoch: int
    keys: KeyMaterial


Event = Union[Send, SwitchSendingKeys, SwitchReceivingKeys]
