"""TwoPartySession: the continuous key agreement of the two-party profile, sans-IO.

After the initial agreement (``handshake.py``) both sides hold a two-member MLS group at
epoch 1. This engine moves it forward:

* ``start_update()`` -- an empty commit with a full UpdatePath (docs/profile.md section 2);
* ``receive(message)`` -- the peer's ``connection_update``, ``epoch_key_update`` marker,
  ``resumption_request`` or ``resumption_response``;
* ``resume()`` -- the first message of a resumed connection (section 6);
* ``confirm()`` -- MLS-TLS only: the client's first record authenticated under the
  resumed connection's keys (section 8).

Each call returns the events the caller must carry out, in order (``events.py``). The
epoch change of section 5, with U the updater and R the receiver::

    U: start_update()       -> [Send(connection_update)]                 (U stays at e)
    R: receive(update)      -> [Send(marker e+1), SwitchSendingKeys(e+1)]
    U: receive(marker)      -> [SwitchReceivingKeys(e+1), Send(marker e+1),
                                SwitchSendingKeys(e+1)]
    R: receive(marker)      -> [SwitchReceivingKeys(e+1)]

Every marker is the last message its sender sends under the old key, so no record of
either direction can be cut off unnoticed. At most one epoch change is in flight; the
TLS client (``Role.INITIATOR``) wins crossing updates.

Secret hygiene: the exporter outputs of a new epoch (``KeyMaterial``) are computed when
the engine adopts the epoch, then the old epoch's group is retired at once; the engine
drops the ``KeyMaterial`` when both directions have switched. Nothing of a left epoch
survives in the engine.

Resumption comes in two forms. The TLS extension mode (``confirmed_resumption`` off)
ends it with the markers of section 5. MLS-TLS (on, docs/profile.md section 8) sends request
and response as the two first flights, in plaintext records, and switches both
directions to epoch N+2 with the response; so that a replayed request can never
overwrite what the client applied, the server keeps each result as a *candidate* next
to the last confirmed state and promotes it only on :meth:`confirm`::

    C: resume()             -> [Send(resumption_request)]
    S: receive(request)     -> [Send(resumption_response), SwitchSendingKeys(N+2),
                                SwitchReceivingKeys(N+2)]          (candidate stored)
    C: receive(response)    -> [SwitchSendingKeys(N+2), SwitchReceivingKeys(N+2)]
    S: confirm()            -> candidate promoted, other candidates dropped

Failure atomicity: the peer's commit is processed on a scratch copy of the group, the
new state is written to the store (when the session is persisted) before any event is
returned, and only then does the session change. Any exception leaves the session (and
the store) exactly as it was.
"""

from __future__ import annotations

import hashlib
from enum import Enum, IntEnum
from typing import Any, Optional, Sequence, Union

from ..mls.auth import credential_identity
from ..mls.constants import ContentType, WireFormat
from ..mls.errors import DecodeError, MLSError, StateError
from ..mls.group import Group, StagedCommit
from ..mls.messages import MLSMessage
from ..store import ABSENT, StoreConflict
from .binding import has_binding
from .config import MLSHandshakeConfig
from .errors import (BindingError, IllegalParameter, InvalidCommit, MessageDecodeError,
                     MessageVerificationError, UnexpectedMessage, UpdateInFlight, WrongEpoch,
                     as_engine_error)
from .events import Event, KeyMaterial, Send, SwitchReceivingKeys, SwitchSendingKeys
from .messages import Kind, TwoPartyMLSMessage
from .persistence import Candidate, PendingRecord, SessionRecord

__all__ = ["Role", "State", "TwoPartySession"]


class Role(IntEnum):
    """The profile's roles; they never change, resumption included."""

    INITIATOR = 0  # the TLS client
    RESPONDER = 1  # the TLS server


class State(str, Enum):
    """Where a session is in the epoch-change and resumption exchanges (docs/profile.md
    sections 5, 6 and 8); what it may send or accept next depends on it."""
    IDLE = "idle"                            # no epoch change in flight
    AWAIT_MARKER = "await_marker"            # our commit is out; waiting for the peer's marker
    AWAIT_PEER_MARKER = "await_peer_marker"  # we applied the peer's commit and switched
                                             # sending; waiting for its marker to switch reading
    LOADED = "loaded"                        # restored from the store: resumption only
    AWAIT_RESPONSE = "await_response"        # our resumption request is out
    AWAIT_CONFIRMATION = "await_confirmation"  # MLS-TLS server: resumed as a candidate,
                                               # waiting for the client's first record


class _Pending:
    """A commit of ours that is out but not merged: its bytes and the epoch it makes."""

    __slots__ = ("message", "group")

    def __init__(self, message: bytes, group: Group) -> None:
        self.message = message
        self.group = group

    def __repr__(self) -> str:
        return f"<pending commit to epoch {self.group.epoch}>"


def _commit_hash(message: bytes) -> bytes:
    return hashlib.sha256(message).digest()


# Store writes that lose a compare-and-swap race (another connection of the same session
# wrote meanwhile) are merged and retried this often before the error is raised.
_STORE_ATTEMPTS = 8


class _Stored:
    """The persisted session as loaded: the confirmed state, pending commit, candidates."""

    __slots__ = ("record", "pending", "revision", "expires_at")

    def __init__(self, record: SessionRecord, pending: Optional[bytes], revision: int,
                 expires_at: Optional[float]) -> None:
        self.record = record
        self.pending = pending
        self.revision = revision
        self.expires_at = expires_at

    @classmethod
    def read(cls, store: Any, key: bytes) -> Optional["_Stored"]:
        found = store.load_group_record(key)
        if found is None:
            return None
        return cls(SessionRecord.deserialize(found.state), store.load_pending_commit(key),
                   found.revision, found.expires_at)

    def confirmed_fingerprint(self) -> bytes:
        """Names the confirmed part (group, last peer commit, pending commit) as stored."""
        confirmed = SessionRecord(self.record.role, self.record.last_peer_commit,
                                  self.record.group_state).serialize()
        return hashlib.sha256(confirmed + b"\x00" + (self.pending or b"")).digest()

    def has_candidate(self, ident: bytes) -> bool:
        return any(c.ident == ident for c in self.record.candidates)


class TwoPartySession:
    """One side of a two-party MLS session (see the module docstring)."""

    def __init__(self, group: Group, role: Role, config: MLSHandshakeConfig, *,
                 state: State = State.IDLE, pending: Optional[_Pending] = None,
                 last_peer_commit: bytes = b"", key_epochs: Optional[int] = None) -> None:
        if len(group.members()) != 2:
            raise IllegalParameter("a two-party session needs a group of exactly two members")
        self._group = group
        self.role = Role(role)
        self._config = config
        self._state = state
        self._pending = pending
        self._last_peer_commit = last_peer_commit
        self._send_epoch: Optional[int] = key_epochs
        self._recv_epoch: Optional[int] = key_epochs
        self._recv_material: Optional[KeyMaterial] = None
        self._exports = config.exports_for(group.cs.suite_id)
        self._store: Any = None
        self._key: Optional[bytes] = None
        self._revision: int = ABSENT
        self._stored: Optional[_Stored] = None  # as loaded (MLS-TLS server resumption)
        # Our candidate, and what it was built on: ("confirmed", fingerprint) or
        # ("candidate", ident).
        self._candidate: Optional[bytes] = None
        self._candidate_base: tuple[str, bytes] = ("", b"")
        self._candidate_base_fp = b""

    # -- what the TLS layer reads ------------------------------------------------------
    @property
    def cipher_suite(self) -> int:
        """The MLS cipher suite's code point."""
        return self._group.cs.suite_id

    @property
    def epoch(self) -> int:
        """The epoch of the current (merged) group."""
        return self._group.epoch

    @property
    def group_id(self) -> bytes:
        """The MLS group id; a store keeps the group under a key derived elsewhere."""
        return self._group.group_id

    @property
    def local_identity(self) -> bytes:
        """Our credential's name."""
        return credential_identity(self._group.own_leaf_node.credential)

    @property
    def peer_identity(self) -> bytes:
        """The peer's credential name, as the authentication policy accepted it."""
        return credential_identity(self._group.member_leaf(self._peer_leaf).credential)

    @property
    def peer_credential(self) -> Any:
        """The peer's whole credential (basic or x509 chain), for checks of the
        application's own."""
        return self._group.member_leaf(self._peer_leaf).credential

    @property
    def state(self) -> State:
        """The :class:`State` of the epoch-change and resumption exchanges."""
        return self._state

    @property
    def sending_epoch(self) -> Optional[int]:
        """Epoch of the keys we send under (None: the resumed connection's own keys)."""
        return self._send_epoch

    @property
    def receiving_epoch(self) -> Optional[int]:
        """Epoch of the keys we read under (None: the resumed connection's own keys)."""
        return self._recv_epoch

    @property
    def update_in_flight(self) -> bool:
        """True while an epoch change is under way: no new update, no TLS KeyUpdate."""
        return self._state is not State.IDLE

    @property
    def awaiting_confirmation(self) -> bool:
        """MLS-TLS server after a resumption: call :meth:`confirm` on the first record."""
        return self._state is State.AWAIT_CONFIRMATION

    @property
    def persisted_key(self) -> Optional[bytes]:
        """The store key this session is saved under, or None if it is not persisted."""
        return self._key

    @property
    def _peer_leaf(self) -> int:
        return 1 - self._group.own_leaf

    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (the TLS layer's ``mls_secret`` at epoch 1)."""
        return self._group.export_secret(label, context, length)

    def set_key_exports(self, exports: Sequence[tuple[bytes, bytes, int]]) -> None:
        """What every switch event's KeyMaterial holds: (label, context, length) triples.

        The TLS extension mode needs ``("TLS shared secret", "", Hash.length)`` of the
        negotiated TLS suite; MLS-TLS needs its two traffic labels.
        """
        exports = [(bytes(l), bytes(c), int(n)) for l, c, n in exports]
        if not exports:
            raise ValueError("at least one export is needed")
        self._exports = exports

    def __repr__(self) -> str:
        return (f"<TwoPartySession {self.role.name.lower()} suite 0x{self.cipher_suite:04x} "
                f"epoch {self.epoch} {self._state.value}>")

    # -- local requests ----------------------------------------------------------------
    def start_update(self) -> list[Event]:
        """Begin an epoch change with an empty commit (section 5, step 1)."""
        if self._state is not State.IDLE:
            raise UpdateInFlight(f"no new update while {self._state.value}")
        pending = self._new_pending()
        self._pending = pending
        self._state = State.AWAIT_MARKER
        return [Send(TwoPartyMLSMessage(Kind.CONNECTION_UPDATE, commit=pending.message))]

    def _new_pending(self) -> "_Pending":
        """An empty commit of ours, stored before anything that depends on it is sent."""
        pc = self._group.commit()
        pending = _Pending(pc.message_bytes, pc.group)
        try:
            self._write(self._group, pending, self._last_peer_commit)
        except BaseException:
            pc.group.retire()
            raise
        return pending

    def resume(self) -> list[Event]:
        """Send the resumption request of a session restored with :meth:`load`.

        A commit still pending from the broken connection is sent again byte for byte
        (docs/profile.md section 6); otherwise a fresh one is made (and stored first).
        """
        if self._state is not State.LOADED:
            raise UpdateInFlight(f"resume() is for a freshly loaded session, not {self._state.value}")
        pending = self._pending
        if pending is None:
            pending = self._new_pending()
        self._pending = pending
        self._state = State.AWAIT_RESPONSE
        return [Send(TwoPartyMLSMessage(Kind.RESUMPTION_REQUEST, commit=pending.message))]

    # -- received messages -------------------------------------------------------------
    def receive(self, message: Union[TwoPartyMLSMessage, bytes]) -> list[Event]:
        """Process one message from the peer; raise an engine error (state unchanged) if bad."""
        if not isinstance(message, TwoPartyMLSMessage):
            try:
                message = TwoPartyMLSMessage.deserialize(bytes(message))
            except DecodeError as e:
                raise as_engine_error(e) from None
        kind = message.kind
        if kind == Kind.EPOCH_KEY_UPDATE:
            return self._on_marker(message.epoch)  # type: ignore[arg-type]
        assert message.commit is not None
        if kind == Kind.CONNECTION_UPDATE:
            return self._on_update(message.commit)
        if kind == Kind.RESUMPTION_REQUEST:
            return self._on_request(message.commit)
        return self._on_response(message.commit)

    def _on_update(self, commit: bytes) -> list[Event]:
        if self._state is State.AWAIT_MARKER:
            if self.role is Role.INITIATOR:
                # Crossing updates: the initiator's commit wins; the responder will
                # drop its own and apply ours (section 5).
                return []
        elif self._state is not State.IDLE:
            raise UnexpectedMessage(f"connection_update while {self._state.value}")
        new = self._stage(commit, self._group)
        return self._apply_peer_commit(new, commit, drop=[self._group] + self._pending_groups())

    def _on_marker(self, epoch: int) -> list[Event]:
        if self._state is State.AWAIT_MARKER:
            assert self._pending is not None
            expected = self._pending.group.epoch
            if epoch != expected:
                raise WrongEpoch(f"epoch_key_update for epoch {epoch}, expected {expected}")
            new = self._pending.group
            keys = self._material(new)
            # docs/profile.md section 5 differs from the draft here: the draft has the updater
            # switch both directions silently on the receiver's EpochKeyUpdate; we answer
            # with our own marker, the last message under the old key.
            self._write(new, None, b"")
            old = self._group
            self._group, self._pending, self._last_peer_commit = new, None, b""
            old.retire()
            self._recv_epoch = self._send_epoch = new.epoch
            self._state = State.IDLE
            # Section 5 step 3: switch reading, send our marker under the old key, switch sending.
            return [SwitchReceivingKeys(new.epoch, keys),
                    Send(TwoPartyMLSMessage.marker(new.epoch)),
                    SwitchSendingKeys(new.epoch, keys.copy())]
        if self._state is State.AWAIT_PEER_MARKER:
            if epoch != self._group.epoch:
                raise WrongEpoch(f"epoch_key_update for epoch {epoch}, "
                                 f"expected {self._group.epoch}")
            keys, self._recv_material = self._recv_material, None
            assert keys is not None
            self._recv_epoch = epoch
            self._state = State.IDLE
            return [SwitchReceivingKeys(epoch, keys)]
        raise UnexpectedMessage(f"epoch_key_update while {self._state.value}")

    def _on_request(self, commit: bytes) -> list[Event]:
        if self._config.confirmed_resumption:
            return self._on_request_candidate(commit)
        if self._state is State.AWAIT_RESPONSE:
            if self.role is Role.INITIATOR:
                # Crossing requests: decided by the original roles (section 6).
                return []
        elif self._state is not State.LOADED:
            raise UnexpectedMessage(f"resumption_request while {self._state.value}")
        epoch = _commit_epoch(commit, self._group.group_id)
        pending = self._pending
        last_peer = self._last_peer_commit
        drop: list[Group] = []
        if epoch == self._group.epoch - 1 and last_peer and _commit_hash(commit) == last_peer:
            # We applied this commit before the old connection broke (the peer never saw
            # our marker): do not apply it twice. The draft has no rule for this case;
            # docs/profile.md section 6 adds it.
            base = self._group
            drop = self._pending_groups()
        elif epoch == self._group.epoch:
            # The peer never applied our pending commit, if any: drop it, apply theirs.
            base = self._stage(commit, self._group)
            drop = [self._group] + self._pending_groups()
            last_peer = _commit_hash(commit)
        elif pending is not None and epoch == pending.group.epoch:
            # The peer applied our pending commit (we never got its marker): merge it
            # first. Not in the draft either; the mirror image of the case above.
            base = self._stage(commit, pending.group)
            drop = [self._group, pending.group]
            last_peer = _commit_hash(commit)
        else:
            raise WrongEpoch(f"resumption_request for epoch {epoch}; we are at "
                             f"{self._group.epoch}" + (f" with a commit to {pending.group.epoch} "
                                                       "pending" if pending else ""))
        try:
            pc = base.commit()
        except BaseException:
            if base is not self._group:
                base.retire()
            raise
        response = _Pending(pc.message_bytes, pc.group)
        try:
            self._write(base, response, last_peer)
        except BaseException:
            pc.group.retire()
            if base is not self._group:
                base.retire()
            raise
        for g in drop:
            if g is not base:
                g.retire()
        self._group, self._pending, self._last_peer_commit = base, response, last_peer
        self._state = State.AWAIT_MARKER
        return [Send(TwoPartyMLSMessage(Kind.RESUMPTION_RESPONSE, commit=response.message))]

    def _on_response(self, commit: bytes) -> list[Event]:
        if self._state is not State.AWAIT_RESPONSE:
            raise UnexpectedMessage(f"resumption_response while {self._state.value}")
        assert self._pending is not None
        new = self._stage(commit, self._pending.group)
        # MLS-TLS (section 8): no markers, both directions at N+2 at once.
        return self._apply_peer_commit(new, commit, drop=[self._group, self._pending.group],
                                       markers=not self._config.confirmed_resumption)

    # -- MLS-TLS resumption (docs/profile.md section 8) -----------------------------------

    # -- MLS-TLS resumption (docs/profile.md section 8) -----------------------------------
    def _request_bases(self, commit: bytes, epoch: int) -> list[tuple[str, bytes, Any]]:
        """What a request may build on: (kind, name, make) where ``make()`` returns the
        next epoch's group and whether it is a new object to retire on failure.

        The last confirmed state with the section 6 rules (its own epoch, its pending
        commit, a commit it applied already), then every candidate of the request's
        epoch, newest first: a client that applied one finds it. Only the state the
        client really holds can decrypt its commit, so trying them in turn is safe.
        """
        bases: list[tuple[str, bytes, Any]] = []
        group, pending, last_peer = self._group, self._pending, self._last_peer_commit
        stored = self._stored
        fingerprint = stored.confirmed_fingerprint() if stored is not None else b""
        if epoch == group.epoch - 1 and last_peer and _commit_hash(commit) == last_peer:
            bases.append(("confirmed", fingerprint, lambda: (group, False)))
        if epoch == group.epoch:
            bases.append(("confirmed", fingerprint, lambda: (self._stage(commit, group), True)))
        if pending is not None and epoch == pending.group.epoch:
            bases.append(("confirmed", fingerprint,
                          lambda: (self._stage(commit, pending.group), True)))
        for cand in reversed(stored.record.candidates if stored is not None else []):
            if cand.epoch == epoch:
                bases.append(("candidate", cand.ident,
                              lambda c=cand: (self._stage_on_candidate(commit, c), True)))
        return bases

    def _stage_on_candidate(self, commit: bytes, cand: Candidate) -> Group:
        policy = self._config.server_policy() if self.role is Role.RESPONDER \
            else self._config.client_policy()
        try:
            base = Group.import_state(cand.group_state, self._config.group_config(policy))
        except MLSError as e:
            raise as_engine_error(e) from e
        try:
            return self._stage(commit, base)
        finally:
            base.retire()

    def _on_request_candidate(self, commit: bytes) -> list[Event]:
        """The server's side of an MLS-TLS resumption: a new candidate, never an overwrite."""
        if self._state is not State.LOADED:
            raise UnexpectedMessage(f"resumption_request while {self._state.value}")
        epoch = _commit_epoch(commit, self._group.group_id)
        bases = self._request_bases(commit, epoch)
        if not bases:
            raise WrongEpoch(f"resumption_request for epoch {epoch}, which matches no state "
                             f"kept for this session (confirmed epoch {self._group.epoch})")
        first_error: Optional[BaseException] = None
        base: Optional[Group] = None
        for kind, name, make in bases:
            try:
                base, fresh = make()
            except (MessageVerificationError, InvalidCommit, IllegalParameter) as e:
                first_error = first_error or e
                continue
            self._candidate_base = (kind, name)
            break
        if base is None:
            assert first_error is not None
            raise first_error
        try:
            pc = base.commit()
        finally:
            if fresh:
                base.retire()
        new = pc.group
        ident = _commit_hash(pc.message_bytes)
        try:
            keys = self._material(new)
            if self._store is not None:
                self._add_candidate(Candidate(ident, new.epoch, new.export_state()))
        except BaseException:
            new.retire()
            raise
        for g in [self._group] + self._pending_groups():
            g.retire()
        self._group, self._pending, self._last_peer_commit = new, None, b""
        self._candidate = ident
        # Only the confirmed state's name is needed from now on (for confirm()); the
        # loaded record holds the secrets of every candidate.
        self._candidate_base_fp = self._stored.confirmed_fingerprint() \
            if self._stored is not None else b""
        self._stored = None
        self._send_epoch = self._recv_epoch = new.epoch
        self._state = State.AWAIT_CONFIRMATION
        return [Send(TwoPartyMLSMessage(Kind.RESUMPTION_RESPONSE, commit=pc.message_bytes)),
                SwitchSendingKeys(new.epoch, keys), SwitchReceivingKeys(new.epoch, keys.copy())]

    def _add_candidate(self, candidate: Candidate) -> None:
        """Store ``candidate`` next to the confirmed state; merge with concurrent writers."""
        stored = self._stored
        assert stored is not None and self._key is not None
        kind, name = self._candidate_base
        for _ in range(_STORE_ATTEMPTS):
            if stored is None or (kind == "confirmed" and
                                  stored.confirmed_fingerprint() != name) or \
                    (kind == "candidate" and not stored.has_candidate(name)):
                raise WrongEpoch("the session changed while this resumption was processed")
            rec = stored.record
            keep = (rec.candidates + [candidate])[-self._config.max_resumption_candidates:]
            record = SessionRecord(rec.role, rec.last_peer_commit, rec.group_state, keep)
            try:
                # The group's lifetime stays as it was: a replayed request extends nothing.
                self._store.save_group_and_pending(
                    self._key, record.serialize(), stored.pending,
                    expires_at=stored.expires_at, revision=stored.revision + 1,
                    expected_revision=stored.revision)
            except StoreConflict:
                stored = _Stored.read(self._store, self._key)
                continue
            self._revision = stored.revision + 1
            return
        raise StoreConflict(stored.revision if stored else ABSENT, ABSENT)

    def confirm(self) -> None:
        """Key confirmation: the client's first record authenticated under our keys.

        Promotes our candidate to the confirmed state and drops every other candidate
        (docs/profile.md section 8). If the candidate was dropped from the store meanwhile
        (the cap) it is still promoted as long as the confirmed state it was built on is
        unchanged; if another connection confirmed the session meanwhile, this one
        carries on without writing to the store.
        """
        if self._state is not State.AWAIT_CONFIRMATION:
            raise UnexpectedMessage(f"nothing to confirm while {self._state.value}")
        if self._store is not None:
            self._promote()
        self._state = State.IDLE

    def _promote(self) -> None:
        assert self._key is not None and self._candidate is not None
        record = SessionRecord(int(self.role), b"", self._group.export_state()).serialize()
        lifetime = self._config.state_lifetime
        expires = self._config.clock() + lifetime if lifetime is not None else None
        base_fp = self._candidate_base_fp
        for _ in range(_STORE_ATTEMPTS):
            stored = _Stored.read(self._store, self._key)
            if stored is not None and not stored.has_candidate(self._candidate) and \
                    stored.confirmed_fingerprint() != base_fp:
                self._store, self._key = None, None
                return
            found = stored.revision if stored is not None else ABSENT
            try:
                self._store.save_group_and_pending(self._key, record, None, expires_at=expires,
                                                   revision=found + 1, expected_revision=found)
            except StoreConflict:
                continue
            self._revision = found + 1
            return
        raise StoreConflict(found, ABSENT)

    # -- shared steps -------------------------------------------------------------------
    def _apply_peer_commit(self, new: Group, commit: bytes, drop: list[Group],
                           markers: bool = True) -> list[Event]:
        """Adopt a staged peer commit: section 5 step 2 (also the end of a resumption).

        ``markers=False``: the end of an MLS-TLS resumption, both directions switch now.
        """
        commit_hash = _commit_hash(commit)
        try:
            keys = self._material(new)
            self._write(new, None, commit_hash)
        except BaseException:
            new.retire()
            raise
        for g in drop:
            g.retire()
        self._group, self._pending = new, None
        self._last_peer_commit = commit_hash
        self._send_epoch = new.epoch
        if not markers:
            self._recv_epoch = new.epoch
            self._state = State.IDLE
            return [SwitchSendingKeys(new.epoch, keys), SwitchReceivingKeys(new.epoch, keys.copy())]
        self._recv_material = keys
        self._state = State.AWAIT_PEER_MARKER
        return [Send(TwoPartyMLSMessage.marker(new.epoch)),
                SwitchSendingKeys(new.epoch, keys.copy())]

    def _pending_groups(self) -> list[Group]:
        return [self._pending.group] if self._pending is not None else []

    def _material(self, group: Group) -> KeyMaterial:
        return KeyMaterial(group.epoch, [((l, c, n), group.export_secret(l, c, n))
                                         for l, c, n in self._exports])

    def _stage(self, commit: bytes, base: Group) -> Group:
        """Validate a peer commit against ``base``; return the next epoch's group.

        Works on a scratch copy of ``base`` (processing a PrivateMessage consumes a key
        of the secret tree), so a rejected commit changes nothing. Receive policy of
        docs/profile.md section 2: a commit, from the peer's leaf, without proposals, with a
        path; the core has the policy judge the new leaf's credential as a successor.
        """
        msg, epoch = _parse_commit(commit, base.group_id)
        if epoch != base.epoch:
            raise WrongEpoch(f"commit for epoch {epoch}, expected {base.epoch}")
        scratch = base.fork()
        staged: Any = None
        try:
            staged = scratch.process(msg)
            if not isinstance(staged, StagedCommit):
                raise InvalidCommit("the message is not a commit")
            if staged.sender != 1 - base.own_leaf:
                raise InvalidCommit(f"commit from leaf {staged.sender}, not the peer's")
            if staged.commit.proposals:
                raise InvalidCommit("an epoch-changing commit must carry no proposals")
            if staged.commit.path is None:
                raise InvalidCommit("an epoch-changing commit must carry an UpdatePath")
        except BaseException as e:
            if isinstance(staged, StagedCommit):
                staged.group.retire()
            if isinstance(e, StateError) and not isinstance(e, UnexpectedMessage):
                raise InvalidCommit(str(e)) from e
            if isinstance(e, MLSError):
                raise as_engine_error(e) from e
            raise
        finally:
            scratch.retire()
        return staged.group

    # -- persistence ---------------------------------------------------------------------
    def persist(self, key: Optional[bytes] = None, store: Any = None) -> bytes:
        """Keep this session in a store from now on, under ``key`` (default: group_id).

        The current state is written now (the key must be new in the store); every later
        change is written before the events that depend on it are returned.
        """
        if self._store is not None:
            raise StateError("the session is already persisted")
        key = bytes(key) if key is not None else self._group.group_id
        store = store if store is not None else self._config.the_store()
        self._store, self._key, self._revision = store, key, ABSENT
        try:
            self._write(self._group, self._pending, self._last_peer_commit)
        except BaseException:
            self._store, self._key = None, None
            raise
        return key

    def _write(self, group: Group, pending: Optional[_Pending], last_peer: bytes) -> None:
        if self._store is None:
            return
        record = SessionRecord(int(self.role), last_peer, group.export_state()).serialize()
        pending_bytes = (PendingRecord(pending.message, pending.group.export_state()).serialize()
                         if pending is not None else None)
        lifetime = self._config.state_lifetime
        expires = self._config.clock() + lifetime if lifetime is not None else None
        revision = self._revision + 1
        self._store.save_group_and_pending(self._key, record, pending_bytes, expires_at=expires,
                                           revision=revision, expected_revision=self._revision)
        self._revision = revision

    @classmethod
    def load(cls, config: MLSHandshakeConfig, key: bytes, store: Any = None
             ) -> "TwoPartySession":
        """Restore a persisted session for resumption (state ``LOADED``).

        Raises :class:`KeyError` when the store has no live session under ``key``.
        """
        store = store if store is not None else config.the_store()
        record = store.load_group_record(key)
        if record is None:
            raise KeyError("no stored session under this key")
        rec = SessionRecord.deserialize(record.state)
        role = Role(rec.role)
        policy = config.client_policy() if role is Role.INITIATOR else config.server_policy()
        gconf = config.group_config(policy)
        try:
            group = Group.import_state(rec.group_state, gconf)
            pending = None
            raw = store.load_pending_commit(key)
            if raw is not None:
                prec = PendingRecord.deserialize(raw)
                next_group = Group.import_state(prec.next_group_state, gconf)
                if next_group.epoch != group.epoch + 1 or next_group.group_id != group.group_id:
                    raise IllegalParameter("stored pending commit does not follow the stored group")
                pending = _Pending(prec.commit, next_group)
        except MLSError as e:
            raise as_engine_error(e) from e
        # A group made for the other mode (another tls_binding) in a shared store
        # must not be resumed here: the binding keeps the two modes apart.
        if not has_binding(group.extensions, config):
            raise BindingError("the stored group was made for another tls_binding")
        session = cls(group, role, config, state=State.LOADED, pending=pending,
                      last_peer_commit=rec.last_peer_commit, key_epochs=None)
        session._store, session._key, session._revision = store, bytes(key), record.revision
        if config.confirmed_resumption and role is Role.RESPONDER:
            # What an MLS-TLS request may build on (confirmed state and candidates).
            session._stored = _Stored(rec, raw, record.revision, record.expires_at)
        return session

    def close(self) -> None:
        """Drop every secret this object holds (the stored copy stays)."""
        for g in [self._group] + self._pending_groups():
            g.retire()
        if self._recv_material is not None:
            self._recv_material.wipe()
            self._recv_material = None
        self._pending = None
        self._stored = None


def _commit_epoch(commit: bytes, group_id: bytes) -> int:
    """The epoch in a commit's clear header, after checking group and content type."""
    return _parse_commit(commit, group_id)[1]


def _parse_commit(commit: bytes, group_id: bytes) -> tuple[MLSMessage, int]:
    """The decoded commit message and the epoch in its clear header, after checking
    group and content type."""
    try:
        msg = MLSMessage.deserialize(commit)
    except DecodeError as e:
        raise MessageDecodeError(f"commit: {e}") from None
    body: Any = msg.body
    if msg.wire_format == WireFormat.PUBLIC_MESSAGE:
        group, epoch, ctype = body.content.group_id, body.content.epoch, body.content.content_type
    elif msg.wire_format == WireFormat.PRIVATE_MESSAGE:
        group, epoch, ctype = body.group_id, body.epoch, body.content_type
    else:
        raise IllegalParameter(f"wire format {msg.wire_format} cannot carry a commit")
    if group != group_id:
        raise IllegalParameter("commit for another group")
    if ctype != ContentType.COMMIT:
        raise InvalidCommit(f"content type {ctype} where a commit belongs")
    return msg, epoch
