"""Two engines driven through random interleavings (hypothesis stateful testing).

The model: two ordered channels (client->server, server->client) that stand for the TLS
record stream. Every record is tagged with the epoch of the key its sender used; on
delivery the receiver must be reading under exactly that epoch (that is what the
markers guarantee). Rules: updates from either side (crossing included), application
data, delivery, a connection drop at any point followed by resumption from the stores,
and injected bad messages (wrong epoch, duplicated, reordered, forged, truncated).
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any, Optional

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty.errors import TwoPartyError, UnexpectedMessage, WrongEpoch
from tlslite_mls.twoparty.events import Send, SwitchReceivingKeys, SwitchSendingKeys
from tlslite_mls.twoparty.messages import Kind, TwoPartyMLSMessage
from tlslite_mls.twoparty.session import State, TwoPartySession
from tp_util import LABEL, handshake

SIDES = ("client", "server")
COMMIT_KINDS = (Kind.CONNECTION_UPDATE, Kind.RESUMPTION_REQUEST, Kind.RESUMPTION_RESPONSE)


class _Party:
    def __init__(self, name: str, session: TwoPartySession, store: MemoryStore) -> None:
        self.name = name
        self.session = session
        self.store = store
        self.send_epoch: Optional[int] = session.sending_epoch
        self.recv_epoch: Optional[int] = session.receiving_epoch
        self.groups: list[Any] = []  # every group object this side ever held
        self.observe()

    def observe(self) -> None:
        s = self.session
        for g in [s._group] + ([s._pending.group] if s._pending else []):
            if not any(g is h for h in self.groups):
                self.groups.append(g)


def snapshot(s: TwoPartySession) -> tuple:
    return (s.state, s.epoch, s.sending_epoch, s.receiving_epoch,
            s._pending.message if s._pending else None, s._group.export_state(),
            s._last_peer_commit, s._revision)


class TwoPartyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        client, server = handshake()
        cstore, sstore = MemoryStore(), MemoryStore()
        client.persist(store=cstore)
        server.persist(store=sstore)
        self.parties = {"client": _Party("client", client, cstore),
                        "server": _Party("server", server, sstore)}
        self.queues: dict[str, deque] = {"client": deque(), "server": deque()}  # by sender
        self.history: dict[str, list] = {"client": [], "server": []}  # delivered MLS msgs
        self.epoch_secret: dict[int, bytes] = {}
        self.resumed = False
        self.app_delivered = 0
        self.bad_rejected = 0

    # -- helpers ----------------------------------------------------------------------
    def other(self, side: str) -> str:
        return "server" if side == "client" else "client"

    def run(self, side: str, events: list) -> None:
        """Carry out events like the TLS layer: in order, wiping key material after use."""
        p = self.parties[side]
        for e in events:
            if isinstance(e, Send):
                self.queues[side].append(("mls", e.message, p.send_epoch))
            else:
                secret = e.keys.export(LABEL)
                known = self.epoch_secret.setdefault(e.epoch, secret)
                assert known == secret, f"epoch {e.epoch} keys differ"
                if isinstance(e, SwitchSendingKeys):
                    p.send_epoch = e.epoch
                else:
                    assert isinstance(e, SwitchReceivingKeys)
                    p.recv_epoch = e.epoch
        for e in events:
            if not isinstance(e, Send):
                e.keys.wipe()
        p.observe()

    # -- rules ------------------------------------------------------------------------
    @rule(side=st.sampled_from(SIDES))
    def start_update(self, side: str) -> None:
        s = self.parties[side].session
        if s.state is not State.IDLE:
            return
        self.run(side, s.start_update())

    @rule(side=st.sampled_from(SIDES))
    def send_application_data(self, side: str) -> None:
        p = self.parties[side]
        if p.send_epoch is None:  # resumed: application data waits for epoch N+2 keys
            return
        self.queues[side].append(("app", b"data", p.send_epoch))

    @rule(side=st.sampled_from(SIDES))
    def deliver(self, side: str) -> None:
        q = self.queues[side]
        if not q:
            return
        kind, payload, epoch = q.popleft()
        receiver = self.parties[self.other(side)]
        # The key invariant: the receiver reads under the key the record was sent under.
        assert receiver.recv_epoch == epoch, (kind, payload, epoch, receiver.recv_epoch)
        if kind == "app":
            self.app_delivered += 1
            return
        wire = payload.serialize()
        self.history[side].append(wire)
        self.run(receiver.name, receiver.session.receive(wire))

    @rule(side=st.sampled_from(SIDES))
    def resume(self, side: str) -> None:
        s = self.parties[side].session
        if s.state is not State.LOADED:
            return
        self.run(side, s.resume())

    @rule()
    def drop_connection(self) -> None:
        """The connection breaks; both sides restart from their stores."""
        for name, p in self.parties.items():
            p.session.close()
            self.check_retired(p)
            fresh = TwoPartySession.load(p.session._config, p.session.persisted_key, p.store)
            self.parties[name] = _Party(name, fresh, p.store)
        for q in self.queues.values():
            q.clear()
        for h in self.history.values():
            h.clear()
        self.resumed = True

    @rule(side=st.sampled_from(SIDES),
          how=st.sampled_from(["wrong_epoch", "duplicate", "reorder", "forge", "truncate"]),
          data=st.data())
    def inject_bad(self, side: str, how: str, data: Any) -> None:
        receiver = self.parties[self.other(side)].session
        rng = random.Random(data.draw(st.integers(0, 2**32)))
        if how == "wrong_epoch":
            wire = TwoPartyMLSMessage.marker(receiver.epoch + 7).serialize()
        elif how == "duplicate":
            if not self.history[side]:
                return
            wire = rng.choice(self.history[side])
        elif how == "reorder":
            # A commit queued behind a marker, delivered before it.
            msgs = [m for k, m, _ in self.queues[side] if k == "mls"]
            later = [m for i, m in enumerate(msgs) if i > 0 and m.kind in COMMIT_KINDS
                     and msgs[0].kind == Kind.EPOCH_KEY_UPDATE]
            if not later:
                return
            wire = later[0].serialize()
        else:
            pool = self.history[side] + [m.serialize() for k, m, _ in self.queues[side]
                                         if k == "mls"]
            if not pool:
                return
            wire = bytearray(rng.choice(pool))
            if how == "forge":
                i = rng.randrange(4, len(wire))
                wire[i] ^= 1 << rng.randrange(8)
            else:
                del wire[rng.randrange(1, len(wire)):]
            wire = bytes(wire)
        before = snapshot(receiver)
        try:
            events = receiver.receive(wire)
        except TwoPartyError as e:
            if how == "wrong_epoch":
                expected = WrongEpoch if receiver.state in (State.AWAIT_MARKER,
                                                            State.AWAIT_PEER_MARKER) \
                    else UnexpectedMessage
                assert isinstance(e, expected), (e, receiver.state)
            assert isinstance(e.alert, str)
            self.bad_rejected += 1
        else:
            # Only a commit the winning initiator ignores may pass, and it changes nothing.
            assert events == [], (how, events)
        assert snapshot(receiver) == before

    # -- invariants -------------------------------------------------------------------
    def check_retired(self, p: _Party) -> None:
        s = p.session
        live = [s._group] + ([s._pending.group] if s._pending else [])
        for g in p.groups:
            if not any(g is h for h in live):
                assert g.retired, f"{p.name}: epoch {g.epoch} kept its secrets"

    @invariant()
    def engine_matches_model(self) -> None:
        for p in self.parties.values():
            assert p.session.sending_epoch == p.send_epoch
            assert p.session.receiving_epoch == p.recv_epoch
            self.check_retired(p)
            s = p.session
            if s.state is State.AWAIT_PEER_MARKER:
                assert s._recv_material is not None and s._recv_material.epoch == s.epoch
            else:
                assert s._recv_material is None

    @invariant()
    def one_epoch_change_in_flight(self) -> None:
        sessions = [p.session for p in self.parties.values()]
        low = min(s.epoch for s in sessions)
        high = max(s._pending.group.epoch if s._pending else s.epoch for s in sessions)
        # Within a connection one change is in flight; a resumption spans two epochs.
        assert high - low <= (2 if self.resumed else 1), (low, high)
        for s in sessions:
            if s._pending is not None:
                assert s._pending.group.epoch == s.epoch + 1
                assert s.state in (State.AWAIT_MARKER, State.AWAIT_RESPONSE, State.LOADED)

    @invariant()
    def quiet_means_agreement(self) -> None:
        if any(self.queues.values()):
            return
        c, s = self.parties["client"].session, self.parties["server"].session
        if c.state is State.IDLE and s.state is State.IDLE:
            assert c.epoch == s.epoch
            assert c.exporter(LABEL, b"", 32) == s.exporter(LABEL, b"", 32)
            for p in self.parties.values():
                assert p.send_epoch == p.recv_epoch == p.session.epoch

    def teardown(self) -> None:
        for p in self.parties.values():
            p.session.close()


TwoPartyMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_two_party_engines = TwoPartyMachine.TestCase
