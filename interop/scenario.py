"""The two-party scenario every pair of MLS implementations must pass.

It is the shape of our TLS profile: the creator (TLS server, leaf 0) adds the joiner
(TLS client, leaf 1) with a Welcome carrying the ratchet tree, then both sides renew
their leaves with empty commits carrying an UpdatePath, and application data flows
both ways. After every epoch change both members must agree on the epoch and on the
``"TLS shared secret"`` exporter: that value is what the TLS key schedule consumes,
so a mismatch is exactly the interop failure that matters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

from interop.peer import PRIVATE, PUBLIC, WIRE_FORMATS, Peer
from interop.wire import framing, wire_format

TLS_EXPORTER_LABEL = b"TLS shared secret"
EXPORTER_LENGTH = 32


class InteropMismatch(AssertionError):
    """The two peers disagree (exporter, epoch, content) or a peer sent the wrong thing."""


@dataclass
class ScenarioLog:
    """What was checked, in order, and the agreed exporter value per epoch."""

    creator: str
    joiner: str
    suite: int
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    exporters: dict[int, bytes] = field(default_factory=dict)

    def ok(self, what: str) -> None:
        self.checks.append(what)

    def __str__(self) -> str:
        lines = [f"{self.creator} -> {self.joiner}, suite 0x{self.suite:04x}"]
        lines += [f"  ok   {c}" for c in self.checks]
        lines += [f"  skip {s}" for s in self.skipped]
        return "\n".join(lines)


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise InteropMismatch(message)


def _role_names(creator: Peer, joiner: Peer) -> None:
    """Label peers by role too, so a ts-mls/ts-mls log still says who did what."""
    for peer, role in ((creator, "creator"), (joiner, "joiner")):
        try:
            peer.role = role  # type: ignore[attr-defined]
        except AttributeError:
            pass


def _who(peer: Peer) -> str:
    role = getattr(peer, "role", None)
    return f"{peer.name}({role})" if role else peer.name


def _agree(a: Peer, b: Peer, log: ScenarioLog, when: str) -> int:
    """Both members are in the same epoch and export the same secret."""
    ea, eb = a.epoch(), b.epoch()
    _expect(ea == eb, f"{when}: epoch {a.name}={ea} but {b.name}={eb}")
    xa = a.exporter(TLS_EXPORTER_LABEL, b"", EXPORTER_LENGTH)
    xb = b.exporter(TLS_EXPORTER_LABEL, b"", EXPORTER_LENGTH)
    _expect(len(xa) == EXPORTER_LENGTH, f"{when}: {a.name} exported {len(xa)} bytes")
    _expect(xa == xb, f"{when}: exporter differs at epoch {ea}: {a.name}={xa.hex()} {b.name}={xb.hex()}")
    _expect(ea not in log.exporters, f"{when}: epoch {ea} seen twice")
    _expect(xa not in log.exporters.values(), f"{when}: exporter repeated from an earlier epoch")
    log.exporters[ea] = xa
    log.ok(f"{when}: epoch {ea}, exporter equal ({xa[:8].hex()}...)")
    return ea


def _commit_round(sender: Peer, receiver: Peer, fmt: str, log: ScenarioLog) -> None:
    before = sender.epoch()
    commit = sender.commit_update(public=(fmt == PUBLIC))
    frame = framing(commit)
    _expect(frame.wire_format == fmt, f"{sender.name} was asked for a {fmt} commit and sent {frame.wire_format}")
    _expect(frame.epoch == before, f"{sender.name}'s commit is framed for epoch {frame.epoch}, not {before}")
    _expect(sender.epoch() == before + 1, f"{sender.name} did not advance after its own commit")
    kind, data = receiver.process(commit)
    _expect(kind == "commit" and data is None, f"{receiver.name} saw {kind!r} for {sender.name}'s commit")
    _agree(sender, receiver, log, f"{fmt} commit+UpdatePath {_who(sender)} -> {_who(receiver)}")


def _application_round(sender: Peer, receiver: Peer, index: int, log: ScenarioLog) -> None:
    data = f"application data #{index} from {sender.name}".encode() + os.urandom(8)
    message = sender.protect(data)
    _expect(wire_format(message) == PRIVATE, f"{sender.name} sent application data as {wire_format(message)}")
    kind, got = receiver.process(message)
    _expect((kind, got) == ("application", data), f"{receiver.name} got {kind!r} {got!r} instead of the data")
    log.ok(f"application message {_who(sender)} -> {_who(receiver)} ({len(message)} bytes on the wire)")


def run_two_party(
    creator: Peer,
    joiner: Peer,
    *,
    epochs: int = 1,
    wire_formats: Sequence[str] = (PUBLIC, PRIVATE),
    app_messages: int = 2,
    group_id: bytes | None = None,
) -> ScenarioLog:
    """Run the scenario; raise :class:`InteropMismatch` or a peer error on failure.

    ``epochs`` rounds are made; in each, every wire format in ``wire_formats`` is used
    by each side in turn (creator first), when that side can send it. Formats a
    sender cannot produce are recorded in ``log.skipped``, never silently dropped.
    """
    unknown = set(wire_formats) - WIRE_FORMATS
    if unknown:
        raise ValueError(f"unknown wire formats {sorted(unknown)}")
    _expect(creator.suite == joiner.suite, f"suite mismatch: {creator.suite} vs {joiner.suite}")
    log = ScenarioLog(creator.name, joiner.name, creator.suite)
    _role_names(creator, joiner)
    gid = group_id if group_id is not None else b"tls13" + os.urandom(32)

    key_package = joiner.key_package()
    _expect(wire_format(key_package) == "key_package", f"{joiner.name}'s KeyPackage is not an MLSMessage(KeyPackage)")
    creator.create_group(gid)
    _expect(creator.epoch() == 0, f"{creator.name}'s new group is not at epoch 0")
    commit, welcome = creator.add(key_package)
    _expect(framing(commit).epoch == 0, f"{creator.name}'s Add commit is not framed for epoch 0")
    _expect(wire_format(welcome) == "welcome", f"{creator.name}'s Welcome is not an MLSMessage(Welcome)")
    log.ok(f"{creator.name} created the group and added {joiner.name} ({framing(commit).wire_format} commit)")
    joiner.join(welcome)
    log.ok(f"{joiner.name} joined from the Welcome (ratchet_tree extension)")
    _expect(_agree(creator, joiner, log, "after Welcome") == 1, "the Welcome did not lead to epoch 1")

    for round_no in range(epochs):
        for fmt in wire_formats:
            for sender, receiver in ((creator, joiner), (joiner, creator)):
                if fmt not in sender.supported_wire_formats:
                    log.skipped.append(f"round {round_no}: {_who(sender)} cannot send {fmt} commits")
                    continue
                _commit_round(sender, receiver, fmt, log)

    for i in range(app_messages):
        _application_round(creator, joiner, i, log)
        _application_round(joiner, creator, i, log)
    last = max(log.exporters)
    _expect(creator.epoch() == joiner.epoch() == last, "application data changed the epoch")
    _expect(
        creator.exporter(TLS_EXPORTER_LABEL, b"", EXPORTER_LENGTH) == log.exporters[last],
        "the exporter changed without an epoch change",
    )
    log.ok(f"application data left epoch {last} and its exporter unchanged")
    return log
