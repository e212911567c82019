"""After the handshake: ``mls_handshake`` messages, epoch changes and resumption.

docs/profile.md sections 5, 6 and 9 for the TLS extension mode, as a mixin of
``MLSTLSConnection``. The two-party engine (``TwoPartySession``) decides everything;
this module moves its messages over TLS and carries out its key switches.

Where it hooks into tlslite-ng 0.8.2 (each wrapper delegates to the base method):

* ``_getNextRecord`` takes whole ``mls_handshake`` messages (type 224 by default,
  ``MLSSettings.handshake_type``) out of the stream below tlslite-ng's dispatcher,
  which never sees the type. Without a negotiated group the message goes on and
  tlslite-ng answers ``unexpected_message`` as for any type it does not expect.
  ``read()`` therefore handles them on the way, transparently.
* Sending goes through ``_sendMsg`` (fragmented like every handshake message), and
  every record through ``_sendMsgThroughSocket``, where one lock serialises records,
  engine calls and key switches: a reader thread may answer a commit while a writer
  thread writes, and a key switch always falls between two records. Records and bytes
  per sending key are counted there, for automatic updates and the AEAD usage limit.
* Each direction switches at its marker: the new traffic secrets (``epoch_keys``)
  go through ``RecordLayer.calcTLS1_3PendingState`` and only that direction's
  ``changeWriteState``/``changeReadState``; sequence numbers restart; the session's
  ``cl_app_secret``/``sr_app_secret`` follow, so a TLS KeyUpdate within an epoch
  chains from the epoch's secret.
* The transcript ClientHello..server Finished is taken at the second record-state
  change of a TLS 1.3 handshake (client: write switch after the server's Finished;
  server: read switch after its own Finished): in both roles that is exactly when the
  transcript ends with the server Finished.
* ``_handshakeWrapperAsync`` runs the post-handshake start: the client's first
  ``connection_update`` (section 5), or the resumption exchange (section 6), which
  completes before the handshake call returns, so no application data flows before
  epoch N+2.
* Tickets are tied to groups by the ticket mixin this one builds on
  (:mod:`.tickets`).

Key log lines for epochs after the first (our own labels; tools that do not know them
skip them): ``CLIENT_TRAFFIC_SECRET_MLS_EPOCH_<e>`` and
``SERVER_TRAFFIC_SECRET_MLS_EPOCH_<e>``, both written when a side completes epoch e.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from tlslite.constants import (AlertDescription, AlertLevel, CipherSuite, ContentType,
                               HandshakeType, KeyUpdateMessageType)
from tlslite.errors import TLSAlert, TLSRemoteAlert
from tlslite.messages import Alert, KeyUpdate, Message, NewSessionTicket
from tlslite.tlsconnection import TLSConnection

from . import engine as _engine
from . import keylog as _keylog
from .epoch_keys import (SHARED_SECRET_LABEL, early_derived, early_secret,
                         epoch_main_secret, epoch_traffic_secret, key_exports, prf_params,
                         store_key)
from .errors import (MLSPostHandshakeError, MLSResumptionError, MLSUpdateInFlight,
                     MLSUsageLimitReached, alert_for, describe)
from .tickets import MLSTicketMixin, link_group, store_of

__all__ = ["UpdatePolicy", "MLSPostHandshakeMixin", "MLSPostHandshakeError",
           "MLSUpdateInFlight", "MLSUsageLimitReached", "MLSResumptionError",
           "aead_record_limit", "EPOCH_KEYLOG_LABELS"]

EPOCH_KEYLOG_LABELS = ("CLIENT_TRAFFIC_SECRET_MLS_EPOCH_{}", "SERVER_TRAFFIC_SECRET_MLS_EPOCH_{}")


log = logging.getLogger(__name__)


def aead_record_limit(cipher_suite: int) -> int:
    """Records one TLS 1.3 key may protect (RFC 8446 section 5.5, rounded down)."""
    if cipher_suite in CipherSuite.chacha20Suites:
        return 2 ** 62  # the sequence number wraps long before the safety limit
    if cipher_suite in getattr(CipherSuite, "aes128Ccm_8Suites", ()) or \
            cipher_suite in getattr(CipherSuite, "ccmSuites", ()):
        return 2 ** 23
    return 2 ** 24  # AES-GCM: 2^24.5 full-size records


@dataclass
class UpdatePolicy:
    """When epoch changes happen by themselves, and whether groups can be resumed.

    :ivar initial_update: the client sends one ``connection_update`` right after the
        handshake (section 5: until then all of epoch 1's entropy came from the server).
    :ivar interval: seconds after which the next write (or read) starts an update.
    :ivar max_bytes: application bytes sent under one key before an update starts.
    :ivar record_limit: records per sending key; ``None``: the AEAD usage limit of the
        suite (RFC 8446 section 5.5). An update starts at three quarters of it; at the
        limit itself, with the update still in flight, sending fails with
        :class:`MLSUsageLimitReached` rather than overusing the key (section 9).
    :ivar resumable: keep groups in the state store so tickets can resume them.
    """

    initial_update: bool = True
    interval: Optional[float] = None
    max_bytes: Optional[int] = None
    record_limit: Optional[int] = None
    resumable: bool = True


class _Wake(Exception):
    """Raised below ``_getMsg`` when a waited-for engine state is reached."""


class _State:
    """Per-connection post-handshake state (no secrets in the repr)."""

    def __init__(self, engine: Any, hs_type: int, suite: int, early: bytes, transcript: Any,
                 policy: UpdatePolicy, types: Any) -> None:
        self.engine = engine
        self.hs_type = hs_type
        self.types = types  # tpmlsmt code points of the settings
        self.suite = suite
        self.prf_name, self.prf_size = prf_params(suite)
        # Both fixed for the connection: each epoch's keys start from them. The
        # EarlySecret itself, a secret of the finished handshake, is not kept.
        self.transcript_hash = transcript.digest(self.prf_name)
        self.early_salt = early_derived(early, self.prf_name)
        # (epoch, main_e) between the two switches of an epoch: derived at the first,
        # used and wiped at the second.
        self.main: Optional[tuple[int, bytearray]] = None
        self.policy = policy
        limit = policy.record_limit or aead_record_limit(suite)
        self.hard_limit = limit
        self.soft_limit = max(1, limit - limit // 4)
        self.write_records = 0
        self.write_bytes = 0
        self.last_update = time.monotonic()
        self.ku_owed = False
        self.epoch_changes = 0
        self.crossings = 0

    def __repr__(self) -> str:
        return f"<post-handshake state {self.engine!r}>"


class MLSPostHandshakeMixin(MLSTicketMixin):
    """Post-handshake MLS for ``MLSTLSConnection`` (see the module docstring).

    Public API: :meth:`mls_update`, :meth:`mls_wait`, :meth:`handshakeClientMLSResume`,
    :attr:`mls_update_policy`, :attr:`mls_update_in_flight`, :attr:`mls_sending_epoch`,
    :attr:`mls_receiving_epoch`, :attr:`mls_epoch_changes`, :attr:`mls_crossed_updates`.
    """

    #: class-wide default; set an :class:`UpdatePolicy` on a connection to change it
    mls_update_policy: UpdatePolicy = UpdatePolicy()

    _mls_ph: Optional[_State] = None
    _mls_wake: Optional[Callable[[], bool]] = None

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    @property
    def _mls_lock(self) -> "threading.RLock":
        lock = self.__dict__.get("_mls_lock_obj")
        if lock is None:
            lock = self.__dict__.setdefault("_mls_lock_obj", threading.RLock())
        return lock

    @property
    def mls_update_in_flight(self) -> bool:
        st = self._mls_ph
        return st is not None and st.engine.update_in_flight

    @property
    def mls_sending_epoch(self) -> Optional[int]:
        st = self._mls_ph
        return st.engine.sending_epoch if st is not None else None

    @property
    def mls_receiving_epoch(self) -> Optional[int]:
        st = self._mls_ph
        return st.engine.receiving_epoch if st is not None else None

    @property
    def mls_epoch_changes(self) -> int:
        """Epoch changes this connection completed in both directions."""
        st = self._mls_ph
        return st.epoch_changes if st is not None else 0

    @property
    def mls_resumed(self) -> bool:
        """True when this connection continues a stored MLS group (docs/profile.md section 6).

        tlslite-ng's ``resumed`` stays False on a TLS 1.3 server, so the server asks
        whether its ticket brought a group."""
        if getattr(self, "mls_session", None) is None:
            return False
        if getattr(self, "_client", False):
            return bool(getattr(self, "resumed", False))
        return getattr(self, "_mls_server_group", None) is not None

    def mls_update(self, wait: bool = False) -> None:
        """Start an epoch change (``connection_update``); see :meth:`mls_update_async`."""
        for _ in self.mls_update_async(wait):
            pass

    def mls_update_async(self, wait: bool = False) -> Iterator[Any]:
        """Generator form of :meth:`mls_update`.

        With ``wait`` it reads until both directions use the new epoch; application
        data that arrives meanwhile is kept for ``read()``. Do not wait while another
        thread reads the connection: the reader thread completes the change anyway.
        Raises :class:`MLSUpdateInFlight` if a change is under way.
        """
        st = self._mls_require()
        with self._mls_lock:
            if st.engine.update_in_flight:
                raise MLSUpdateInFlight("an MLS epoch change is already in flight")
            for result in self._mls_start_update(st):
                yield result
        if wait:
            for result in self._mls_pump(lambda: not st.engine.update_in_flight, True):
                yield result

    def mls_wait(self) -> None:
        """Read until no epoch change is in flight; data that arrives is kept for ``read()``.

        Not while another thread reads the connection.
        """
        st = self._mls_require()
        for _ in self._mls_pump(lambda: not st.engine.update_in_flight, True):
            pass

    @property
    def mls_crossed_updates(self) -> int:
        """Peer connection_update messages that crossed one of ours (section 5)."""
        st = self._mls_ph
        return st.crossings if st is not None else 0

    # ------------------------------------------------------------------
    # handshake start and end
    # ------------------------------------------------------------------
    def handshakeClientCert(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        # The session offered for resumption: its PSK makes the Early Secret.
        # (tlslite-ng 0.8: certChain, privateKey, session, ...)
        self._mls_offered_session = kwargs["session"] if "session" in kwargs else \
            args[2] if len(args) > 2 else None
        self._mls_ph = None
        return TLSConnection.handshakeClientCert(self, *args, **kwargs)

    def _changeWriteState(self) -> None:  # noqa: N802
        self._mls_note_state_change()
        TLSConnection._changeWriteState(self)

    def _changeReadState(self) -> None:  # noqa: N802
        self._mls_note_state_change()
        TLSConnection._changeReadState(self)

    def _mls_note_state_change(self) -> None:
        hashes = self._handshake_hash
        if self.__dict__.get("_mls_hs_obj") is not hashes:
            self._mls_hs_obj = hashes
            self._mls_hs_changes = 0
        self._mls_hs_changes += 1
        if self._mls_hs_changes == 2:
            # Both roles: the transcript now ends with the server's Finished.
            self._mls_transcript = hashes.copy()

    def _handshakeWrapperAsync(self, handshaker: Any, checker: Any) -> Iterator[Any]:  # noqa: N802
        self._mls_server_group = None
        try:
            for result in TLSConnection._handshakeWrapperAsync(self, handshaker, checker):
                yield result
        finally:
            ctx = self._mls_resume_ctx
            if ctx is not None:
                self.mls_settings = ctx[3]
        try:
            for result in self._mls_after_handshake():
                yield result
        except GeneratorExit:
            raise
        except TLSAlert:
            raise  # already sent or received: the connection is shut down
        except BaseException:
            self._shutdown(False)
            raise
        finally:
            self._mls_resume_ctx = None
            self._mls_offered_session = None
            self._mls_forget_handshake()

    def _mls_forget_handshake(self) -> None:
        """After a handshake, done or failed: drop what only the handshake needed, so
        that a connection kept open for hours holds its keys and group, not the
        handshake's messages and copies (subclasses add theirs). The transcript lives
        on as its hash in the post-handshake state."""
        self._mls_transcript = None

    def _mls_after_handshake(self) -> Iterator[Any]:
        self._mls_ph = None
        if self.version != (3, 4) or self.session is None:
            return
        cfg = getattr(self, "_mls_cfg", None)
        ctx = self._mls_resume_ctx
        fresh = self.mls_session
        if self._client:
            if fresh is not None:
                st = yield from self._mls_begin(fresh, cfg, self._mls_client_psk())
                if self.mls_update_policy.resumable:
                    fresh.persist(store_key(self.session.resumptionMasterSecret, client=True),
                                  store_of(cfg))
                if self.mls_update_policy.initial_update:
                    with self._mls_lock:
                        for result in self._mls_start_update(st):
                            yield result
            elif ctx is not None:
                mls, key, store, user_cfg = ctx
                if not self.resumed:
                    yield from self._mls_alert(AlertDescription.handshake_failure,
                                              "the server did not resume the TLS session, "
                                              "so the MLS group cannot be resumed",
                                              MLSResumptionError("ticket not accepted"))
                link_group(store, store_key(self.session.resumptionMasterSecret, client=True), key,
                      user_cfg.state_lifetime)
                st = yield from self._mls_begin(mls, user_cfg.validate(),
                                                self._mls_client_psk())
                with self._mls_lock:
                    for result in self._mls_call(st, mls.resume):
                        yield result
                for result in self._mls_pump(lambda: _settled(mls), False):
                    yield result
                self.mls_session = mls
                log.debug("client: MLS group resumed at epoch %d", mls.epoch)
            return
        if fresh is not None:
            selected = self._mls_selected_ticket()
            yield from self._mls_begin(fresh, cfg, selected[0] if selected else None)
            return
        if self._mls_server_group is None:
            yield from self._mls_required_without_group(cfg)
            return
        group_key, store, cfg = self._mls_server_group
        from ..twoparty.session import TwoPartySession
        try:
            mls = TwoPartySession.load(_engine.make_config(_engine.load(), cfg), group_key, store)
        except KeyError:
            # expired meanwhile: plain TLS resumption; a request will be refused
            yield from self._mls_required_without_group(cfg)
            return
        except Exception as exc:
            yield from self._mls_alert(alert_for(exc), describe(exc), exc)
        selected = self._mls_selected_ticket()
        yield from self._mls_begin(mls, cfg, selected[0] if selected else None)
        # The client asks for its group with the first message after Finished; a
        # client that resumed only the TLS session (psk_ke, or no MLS wanted) sends
        # application data instead, and the connection goes on as classic TLS.
        for result in self._mls_pump(lambda: _settled(mls), False, peek=True):
            yield result
        if _settled(mls):
            self.mls_session = mls
            log.debug("server: MLS group resumed at epoch %d", mls.epoch)
        else:
            self._mls_ph = None
            mls.close()
            yield from self._mls_required_without_group(cfg)

    def _mls_required_without_group(self, cfg: Any) -> Iterator[Any]:
        """A server that requires MLS refuses a resumption that brings no MLS group."""
        if cfg is not None and cfg.enabled and cfg.required and self.mls_session is None:
            yield from self._mls_alert(AlertDescription.handshake_failure,
                                      "MLS is required but this resumption resumes no MLS group",
                                      MLSResumptionError("no MLS group for this ticket"))

    def _mls_begin(self, mls: Any, cfg: Any, psk: Optional[bytes]) -> Iterator[Any]:
        """Set up the post-handshake state; a generator only so it can send an alert."""
        suite = self.session.cipherSuite
        prf_name, prf_size = prf_params(suite)
        transcript = self.__dict__.get("_mls_transcript")
        if transcript is None or self.__dict__.get("_mls_hs_obj") is not self._handshake_hash:
            yield from self._mls_alert(AlertDescription.internal_error,
                                      "no handshake transcript for MLS epoch keys")
        early = early_secret(prf_name, prf_size, psk)
        st = _State(mls, cfg.handshake_type, suite, early, transcript, self.mls_update_policy,
                    cfg.message_types)
        early[:] = bytes(len(early))  # only its derived salt is needed from here on
        # With the handshake's epoch, the section 5 formula gives exactly the
        # handshake's application secrets (tests check it for every PRF, with and
        # without a ticket PSK), so later epochs follow the same key schedule.
        mls.set_key_exports(key_exports(prf_size))
        self._mls_ph = st
        return st

    def _mls_require(self) -> _State:
        st = self._mls_ph
        if st is None or self.closed:
            raise MLSPostHandshakeError("no MLS group on this connection")
        return st

    # ------------------------------------------------------------------
    # engine calls and their events
    # ------------------------------------------------------------------
    def _mls_call(self, st: _State, call: Callable[..., list], *args: Any) -> Iterator[Any]:
        """Run an engine call (lock held by the caller) and carry out its events."""
        try:
            events = call(*args)
        except Exception as exc:  # engine errors name their alert
            yield from self._mls_alert(alert_for(exc), describe(exc), exc)
        from ..twoparty.events import Send, SwitchSendingKeys
        for event in events:
            if isinstance(event, Send):
                for result in self._mls_send(st, event.message):
                    yield result
            else:
                self._mls_switch(st, event, isinstance(event, SwitchSendingKeys))
        if st.ku_owed and not st.engine.update_in_flight:
            st.ku_owed = False
            for result in self.send_keyupdate_request(
                    KeyUpdateMessageType.update_not_requested):
                yield result

    def _mls_start_update(self, st: _State) -> Iterator[Any]:
        st.last_update = time.monotonic()
        for result in self._mls_call(st, st.engine.start_update):
            yield result

    def _mls_send(self, st: _State, message: Any) -> Iterator[Any]:
        body = message.serialize(st.types)
        data = bytearray([st.hs_type]) + bytearray(len(body).to_bytes(3, "big")) + body
        for result in self._sendMsg(Message(ContentType.handshake, data),
                                    update_hashes=False):
            yield result

    def _mls_epoch_main(self, st: _State, event: Any) -> tuple[bytearray, bool]:
        """main_e of the event's epoch and whether this is its last use.

        The two switches of an epoch share it: the first derives it (and keeps it in
        ``st.main``), the second takes it back, so an epoch costs one derivation."""
        kept = st.main
        if kept is not None and kept[0] == event.epoch:
            event.keys.wipe()
            st.main = None
            return kept[1], True
        keys = event.keys
        try:
            shared = keys.export(SHARED_SECRET_LABEL, b"", st.prf_size)
        finally:
            keys.wipe()
        main = epoch_main_secret(shared, None, st.prf_name, st.prf_size, st.early_salt)
        if kept is not None:
            kept[1][:] = bytes(len(kept[1]))  # an epoch that never saw its second switch
        st.main = (event.epoch, main)
        return main, False

    def _mls_switch(self, st: _State, event: Any, sending: bool) -> None:
        main, last = self._mls_epoch_main(st, event)
        # The direction that switches: ours when sending, the peer's when receiving.
        mine_is_client = self._client == sending
        secret = epoch_traffic_secret(main, mine_is_client, st.transcript_hash, st.prf_name)
        layer = self._recordLayer
        layer.prepare_tls13_direction(st.suite, secret, sending)
        if sending:
            layer.changeWriteState()
            st.write_records = st.write_bytes = 0
        else:
            layer.changeReadState()
            st.epoch_changes += 1
            log.debug("%s: epoch %d in both directions", "client" if self._client
                      else "server", event.epoch)
        # A later TLS KeyUpdate chains from the epoch's secret (generations reset).
        if mine_is_client:
            self.session.cl_app_secret = secret
        else:
            self.session.sr_app_secret = secret
        path = getattr(self, "_mls_keylog_path", None)
        random = getattr(self, "_mls_client_random", None)
        if path and random is not None and not sending:
            # Written when this side completes the epoch (the reading switch is always
            # its last), both secrets at once: both peers' logs then list the same
            # epochs, as they do for the handshake.
            other = epoch_traffic_secret(main, not mine_is_client, st.transcript_hash,
                                         st.prf_name)
            client, server = (secret, other) if mine_is_client else (other, secret)
            _keylog.write_lines(path, random,
                                [(EPOCH_KEYLOG_LABELS[0].format(event.epoch), client),
                                 (EPOCH_KEYLOG_LABELS[1].format(event.epoch), server)])
        if last:
            main[:] = bytes(len(main))

    # ------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------
    def _getNextRecord(self) -> Iterator[Any]:  # noqa: N802
        while True:
            for result in TLSConnection._getNextRecord(self):
                if result in (0, 1):
                    yield result
                else:
                    break
            header, parser = result
            st = self._mls_ph
            if st is None or header.type != ContentType.handshake or \
                    getattr(header, "ssl2", False) or not parser.bytes or \
                    parser.bytes[0] != st.hs_type:
                yield result
                return
            for step in self._mls_on_message(st, bytes(parser.bytes[4:])):
                yield step
            wake = self._mls_wake
            if wake is not None and wake():
                raise _Wake()

    def _mls_on_message(self, st: _State, body: bytes) -> Iterator[Any]:
        from ..twoparty.messages import Kind, TwoPartyMLSMessage
        try:
            message = TwoPartyMLSMessage.deserialize(body, st.types)
        except Exception as exc:
            yield from self._mls_alert(alert_for(exc), describe(exc), exc)
        if message.kind == Kind.EPOCH_KEY_UPDATE and not self._defragmenter.is_empty():
            # The marker is the last message under the old key, as KeyUpdate is.
            yield from self._mls_alert(AlertDescription.unexpected_message,
                                      "epoch_key_update not aligned with a record boundary")
        with self._mls_lock:
            if message.kind == Kind.CONNECTION_UPDATE and st.engine.state.value == "await_marker":
                st.crossings += 1
            for result in self._mls_call(st, st.engine.receive, message):
                yield result

    def _mls_pump(self, done: Callable[[], bool], allow_data: bool,
                  peek: bool = False) -> Iterator[Any]:
        """Read until ``done()``; tickets and KeyUpdates are handled.

        Application data is kept for ``read()`` with ``allow_data``; else it ends the
        connection, except with ``peek`` as the very first record: then the pump stops
        and leaves the data for ``read()``.
        """
        self._mls_wake = done
        try:
            while not done():
                taken = yield from self._mls_fast_pump_step(allow_data)
                if taken:
                    continue
                try:
                    for result in self._getMsg((ContentType.application_data,
                                                ContentType.handshake),
                                               (HandshakeType.new_session_ticket,
                                                HandshakeType.key_update)):
                        if result in (0, 1):
                            yield result
                except _Wake:
                    continue
                if isinstance(result, NewSessionTicket):
                    result.time = time.time()
                    self.tickets.append(result)
                elif isinstance(result, KeyUpdate):
                    for step in self._handle_keyupdate_request(result):
                        yield step
                elif allow_data or (peek and _untouched(self._mls_ph)):
                    self._readBuffer += result.write()
                    if not allow_data:
                        return  # the client resumed TLS without asking for its group
                else:
                    yield from self._mls_alert(AlertDescription.unexpected_message,
                                              "application data before the MLS resumption "
                                              "reached its new epoch")
        finally:
            self._mls_wake = None

    def _fast_take_message(self, header: Any, parser: Any) -> bool:
        """fastpath.FastReadMixin: an ``mls_handshake`` message alone and whole in its
        record is handled on the fast read, as ``_getNextRecord`` would once the
        generic read had passed it through the defragmenter; anything else (a
        fragment, several messages in one record, one over the size limit) takes the
        generic read."""
        if self._mls_wake is not None or not self._mls_whole_message(header, parser):
            return False
        for _ in self._mls_on_message(self._mls_ph, bytes(parser.bytes[4:])):
            pass
        return True

    def _mls_whole_message(self, header: Any, parser: Any) -> bool:
        """Whether a record read on a fast path is one whole ``mls_handshake`` message
        (within the size limit, nothing of another message buffered)."""
        st = self._mls_ph
        data = parser.bytes
        return not (st is None or header.type != ContentType.handshake or parser.index
                    or len(data) < 4 or data[0] != st.hs_type
                    or int.from_bytes(data[1:4], "big") != len(data) - 4
                    or len(data) - 4 > self._mls_message_limit()
                    or not self._defragmenter.is_empty())

    def _mls_fast_pump_step(self, allow_data: bool) -> Iterator[Any]:
        """One record for ``_mls_pump`` on the record fast path: application data
        (kept for ``read()`` with ``allow_data``) and whole ``mls_handshake`` messages
        are handled here; returns False after leaving any other record (or any record
        while the generic path must run) to the generic read."""
        if self.closed or self.version <= (3, 3) or not self._recordLayer.fast_records \
                or not self._defragmenter.is_empty() or self._fast_stash is not None:
            return False
        result: Any = None
        for result in self._getNextRecordFromSocket():
            if result in (0, 1):
                yield result
            else:
                break
        header, parser = result
        if allow_data and header.type == ContentType.application_data and parser.bytes \
                and not parser.index:
            self._readBuffer += parser.bytes
            return True
        if self._mls_whole_message(header, parser):
            for step in self._mls_on_message(self._mls_ph, bytes(parser.bytes[4:])):
                yield step
            return True
        self._fast_stash = result
        return False

    def _fast_read_allowed(self) -> bool:
        """fastpath.FastReadMixin: no record fast path while an update is due to start."""
        st = self._mls_ph
        return st is None or not self._mls_update_due(st)

    def readAsync(self, max: Optional[int] = None, min: int = 1) -> Iterator[Any]:  # noqa: A002,N802
        st = self._mls_ph
        if st is not None and not self.closed:
            with self._mls_lock:
                if self._mls_update_due(st):
                    for result in self._mls_start_update(st):
                        yield result
        try:
            for result in TLSConnection.readAsync(self, max, min):
                yield result
        except TLSRemoteAlert as alert:
            # RFC 8446 section 6.1: user_canceled is a closure alert, followed by
            # close_notify (Java's JSSE sends both when it closes): the end of the data.
            if alert.description != AlertDescription.user_canceled or \
                    alert.level != AlertLevel.warning:
                raise
            data = self._readBuffer[:max] if max is not None else self._readBuffer
            self._readBuffer = self._readBuffer[len(data):]
            yield data

    # ------------------------------------------------------------------
    # sending: one lock, counters, automatic updates, usage limit
    # ------------------------------------------------------------------
    def _mls_update_due(self, st: _State) -> bool:
        if st.engine.update_in_flight or st.engine.sending_epoch is None:
            return False
        pol = st.policy
        return (st.write_records >= st.soft_limit
                or (pol.max_bytes is not None and st.write_bytes >= pol.max_bytes)
                or (pol.interval is not None
                    and time.monotonic() - st.last_update >= pol.interval))

    def _sendMsgThroughSocket(self, msg: Any) -> Iterator[Any]:  # noqa: N802
        st = self._mls_ph
        if st is None:
            for result in TLSConnection._sendMsgThroughSocket(self, msg):
                yield result
            return
        data = msg.contentType == ContentType.application_data
        sock = self.sock
        with self._mls_lock:
            if data and self._mls_update_due(st):
                for result in self._mls_start_update(st):
                    yield result
            # Only data is held back: the markers and alerts that end the key's use
            # must still go out (the quarter left after the update starts covers them).
            if data and st.write_records >= st.hard_limit:
                raise MLSUsageLimitReached(
                    f"{st.write_records} records under one key: the AEAD usage limit "
                    "(RFC 8446 section 5.5) is reached and the epoch change is not done")
            st.write_records += 1
            if data:
                st.write_bytes += len(msg.write())
            # Sealed under the lock (record order = sequence order), written after it:
            # no thread ever waits for the socket while holding the lock.
            buffered = sock.buffer_writes
            sock.buffer_writes = True
            try:
                for result in TLSConnection._sendMsgThroughSocket(self, msg):
                    yield result
            finally:
                sock.buffer_writes = buffered
        if buffered:
            return
        try:
            self._mls_flush(wait=msg.contentType != ContentType.handshake)
        except OSError:
            if msg.contentType != ContentType.handshake:
                raise
            # As tlslite-ng does for a handshake message that cannot be sent: the
            # peer may have closed after an alert; report that alert if it is there.
            for result in self._getNextRecord():
                if result in (0, 1):
                    yield result
                else:
                    break
            self._shutdown(False)
            header, parser = result
            if header.type == ContentType.alert:
                raise TLSRemoteAlert(Alert().parse(parser)) from None
            raise

    def _mls_flush(self, wait: bool) -> None:
        """Write the sealed records, in order, from whichever thread gets to it.

        Data and alerts (``wait``) are written before the call returns, as tlslite-ng's
        ``write()`` promises. Our handshake messages are often sent by the reading
        thread: it must never block on a full socket (the peer may be blocked the same
        way, waiting for us to read), so it writes what the socket takes at once and
        leaves the rest to a short-lived helper thread.
        """
        queue = self.sock._write_queue
        lock = self.__dict__.get("_mls_flush_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_mls_flush_lock", threading.Lock())
        raw = self.sock.socket
        while queue:
            if not lock.acquire(blocking=wait):
                return  # the thread writing now rechecks the queue after it is done
            try:
                buf = bytearray()
                while queue:
                    try:
                        buf += queue.popleft()
                    except IndexError:
                        break
                if wait:
                    raw.sendall(buf)
                else:
                    sent = 0
                    try:
                        # A socket with a timeout polls before sending: ask first. An
                        # in-memory socket that an event loop empties (``never_blocks``,
                        # tlslite_mls.aio) takes everything and has no descriptor.
                        if buf and (getattr(raw, "never_blocks", False)
                                    or select.select([], [raw], [], 0)[1]):
                            sent = raw.send(buf, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        pass
                    if sent < len(buf):
                        queue.appendleft(bytes(buf[sent:]))
                        threading.Thread(target=self._mls_flush, args=(True,),
                                         daemon=True).start()
                        return
            finally:
                lock.release()
            wait = False

    def send_keyupdate_request(self, message_type: int) -> Iterator[Any]:
        st = self._mls_ph
        if st is not None and st.engine.update_in_flight:
            raise MLSUpdateInFlight("no TLS KeyUpdate while an MLS epoch change is in flight "
                                    "(docs/profile.md section 5)")
        with self._mls_lock:
            for result in TLSConnection.send_keyupdate_request(self, message_type):
                yield result
            if st is not None:
                st.write_records = st.write_bytes = 0

    def _handle_keyupdate_request(self, request: Any) -> Iterator[Any]:
        st = self._mls_ph
        with self._mls_lock:
            if st is not None and st.engine.update_in_flight and \
                    request.message_type == KeyUpdateMessageType.update_requested:
                # Our answer waits until the epoch change is done (section 5); the
                # peer's reading key is updated now, as the request demands.
                st.ku_owed = True
                request = KeyUpdate().create(KeyUpdateMessageType.update_not_requested)
            for result in TLSConnection._handle_keyupdate_request(self, request):
                yield result


def _settled(mls: Any) -> bool:
    """Both directions use the engine's current epoch and nothing is in flight."""
    return not mls.update_in_flight and mls.sending_epoch is not None \
        and mls.receiving_epoch is not None


def _untouched(st: Optional[_State]) -> bool:
    """A loaded group that has not seen a resumption request yet."""
    from ..twoparty.session import State
    return st is not None and st.engine.state is State.LOADED
