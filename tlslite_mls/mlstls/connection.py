"""``MLSTLSClient`` and ``MLSTLSServer``: the MLS-TLS secure channel over a socket.

MLS replaces the TLS 1.3 handshake; only the record layer is TLS (docs/profile.md section 8)::

    client                                                     server
    TLSPlaintext{handshake: TwoPartyMessage{client_hello,
                 MLSMessage(KeyPackage)}}             -------->
                 <--------  TLSPlaintext{handshake: TwoPartyMessage{server_hello,
                                                    MLSMessage(Welcome)}}
    [both install epoch-1 keys from MLS-Exporter("MLS-TLS c/s ap traffic", "", L)]
    {TwoPartyMessage{connection_update}}  (client, by default) ...
    {application data}                                <------->

The epoch changes (section 5) and resumption (section 8) are the two-party engine's
(``tlslite_mls.twoparty``); this module carries its messages in records and carries
out its key switches on the record layer. A resumed connection::

    TLSPlaintext{handshake: TwoPartyMessage{resumption_request, MLSMessage(commit)}} -->
         <--  TLSPlaintext{handshake: TwoPartyMessage{resumption_response, MLSMessage(commit)}}
    [both directions under epoch N+2 keys; nothing else ever travels in plaintext]
    {first client record}  -->  the server promotes its candidate (key confirmation)

The commits are MLS PrivateMessages, protected by MLS itself. The server keeps the
result as a candidate next to the last confirmed state until the client's first
record authenticates under the new keys, so a replayed request costs a candidate and
never the state a client applied.

Errors: bad input ends the connection with the alert of docs/profile.md section 4 and
raises :class:`MLSTLSLocalAlert` naming the reason; an alert from the peer raises
:class:`MLSTLSRemoteAlert`; a local misuse (an update while one is in flight)
raises without touching the connection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from typing import Any, Callable, Generator, NoReturn, Optional, Union

from tlslite.constants import AlertDescription, AlertLevel, ContentType

from ..codepoints import MLSTLSMessageType
from ..mls.codec import Reader, Writer
from ..mls.constants import MLS10, WireFormat
from ..mls.crypto import get_cipher_suite
from ..mls.errors import MLSError
from ..mls.messages import MLSMessage
from ..serving import short_identity
from ..twoparty import (Declined, InitiatorHandshake, MLSHandshakeConfig, ResponderHandshake,
                        Send, SwitchReceivingKeys, SwitchSendingKeys, TwoPartySession)
from ..twoparty.errors import UpdateInFlight
from ..twoparty.messages import TwoPartyMessage, from_mls_tls, to_mls_tls
from .errors import (MLSTLSClosedError, MLSTLSError, MLSTLSLocalAlert, MLSTLSRemoteAlert,
                     ProtocolViolation, alert_for, describe)
from .framing import HandshakeReassembler
from ..tls.keylog import keylog_path, write_lines
from .keys import MLS_TLS_KEYLOG_LABELS, traffic_exports, traffic_secrets
from .records import PeerClosedAbruptly, RecordChannel, _finish
from .settings import MLSTLSClientSettings, MLSTLSServerSettings, MLSTLSSettings
from .suites import RecordSuite, UnsupportedSuiteError, record_suite

__all__ = ["MLSTLSChannel", "MLSTLSClient", "MLSTLSServer", "UpdateInFlight"]

log = logging.getLogger(__name__)
T = MLSTLSMessageType
# The ``*_async`` generators: they yield 0 while they wait for the peer's bytes.
Steps = Generator[int, None, None]
_MLS_MESSAGE_HEADER = 4  # MLSMessage: uint16 version, uint16 wire_format, then the body


def _wrap_key_package(key_package: bytes) -> bytes:
    """``MLSMessage(KeyPackage)`` from the engine's bare KeyPackage, without re-encoding."""
    w = Writer()
    w.u16(MLS10)
    w.u16(WireFormat.KEY_PACKAGE)
    w.fixed(key_package)
    return w.getvalue()


def _wrap_welcome(welcome: bytes) -> bytes:
    w = Writer()
    w.u16(MLS10)
    w.u16(WireFormat.WELCOME)
    w.fixed(welcome)
    return w.getvalue()


def _body(message: bytes) -> bytes:
    # The codec already decoded this MLSMessage and checked its wire format.
    return message[_MLS_MESSAGE_HEADER:]


def _key_package_suite(key_package: bytes) -> int:
    r = Reader(key_package)
    r.u16()  # version
    return r.u16()


def _commit_group_id(commit: bytes) -> bytes:
    body: Any = MLSMessage.deserialize(commit).body
    if hasattr(body, "group_id"):
        return body.group_id  # PrivateMessage
    return body.content.group_id  # PublicMessage


class MLSTLSChannel:
    """What client and server share: records, engine events, alerts, the socket API.

    Not thread-safe: one thread reads and writes (as with tlslite-ng connections).
    """

    is_client = False

    @property
    def _role(self) -> str:
        return "client" if self.is_client else "server"

    def __init__(self, sock: socket.socket, settings: MLSTLSSettings,
                 keylog: Optional[str] = None) -> None:
        self.sock = sock
        # NSS key log (``keylog``, else $SSLKEYLOGFILE): the traffic secrets of every
        # epoch, for ``python -m tlslite_mls decode``. MLS-TLS has no client random; the
        # lines name the connection by SHA-256 of the client's first flight.
        self._keylog = keylog_path(keylog)
        self._flight_id: Optional[bytes] = None
        self._settings = settings.validate()
        self._types = self._settings.message_types
        self._records = RecordChannel(sock, client=self.is_client)
        self._reassembler = HandshakeReassembler(self._types,
                                                 self._settings.max_handshake_message)
        self._session: Optional[TwoPartySession] = None
        self._rsuite: Optional[RecordSuite] = None
        self._soft_limit = 0
        self._hard_limit = 0
        self._buffer = bytearray()
        self._handshaken = False
        self._closed = False
        self._peer_closed = False
        self._failure: Optional[BaseException] = None
        self._more_in_record = False
        self.resumed = False
        self.epoch_changes = 0
        self.updates_started = 0

    # ------------------------------------------------------------------------------
    # state the application reads
    # ------------------------------------------------------------------------------
    @property
    def session(self) -> TwoPartySession:
        """The two-party MLS session underneath (epochs, exporter, persistence);
        :class:`MLSTLSError` before the handshake completed."""
        if self._session is None:
            raise MLSTLSError("no handshake has completed")
        return self._session

    @property
    def epoch(self) -> Optional[int]:
        """The MLS epoch (of the merged group; keys switch per direction, see below)."""
        return self._session.epoch if self._session is not None else None

    @property
    def sending_epoch(self) -> Optional[int]:
        """The epoch whose keys protect what we send, or None before the handshake;
        differs from :attr:`receiving_epoch` only while an epoch change is under way."""
        return self._records.write_epoch

    @property
    def receiving_epoch(self) -> Optional[int]:
        """The epoch whose keys the peer's records must use now, or None before the
        handshake."""
        return self._records.read_epoch

    @property
    def cipher_suite(self) -> Optional[int]:
        """The MLS cipher suite id."""
        return self._session.cipher_suite if self._session is not None else None

    @property
    def record_cipher_suite(self) -> Optional[str]:
        """The TLS 1.3 record protection the MLS suite implies."""
        return self._rsuite.name if self._rsuite is not None else None

    @property
    def local_identity(self) -> Optional[bytes]:
        """Our credential's name, or None before the handshake."""
        return self._session.local_identity if self._session is not None else None

    @property
    def peer_identity(self) -> Optional[bytes]:
        """The peer's credential name, as the authentication policy accepted it, or None
        before the handshake."""
        return self._session.peer_identity if self._session is not None else None

    @property
    def session_id(self) -> Optional[bytes]:
        """The MLS group_id: what the server keeps the session under."""
        return self._session.group_id if self._session is not None else None

    @property
    def update_in_flight(self) -> bool:
        """Whether an epoch change is under way (no second one may start until it
        completes)."""
        return self._session is not None and self._session.update_in_flight

    @property
    def closed(self) -> bool:
        """Whether the channel is closed (by us, by the peer's close_notify, or by an
        alert)."""
        return self._closed

    @property
    def handshake_complete(self) -> bool:
        """Whether the MLS handshake (or resumption) has completed and application data
        may flow."""
        return self._handshaken

    def exporter(self, label: Union[bytes, str], context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (RFC 9420 section 8.5)."""
        if isinstance(label, str):
            label = label.encode()
        return self.session.exporter(bytes(label), bytes(context), length)

    def fileno(self) -> int:
        """The TCP socket's descriptor, for ``select`` (readable does not mean a whole
        record is there)."""
        return self.sock.fileno()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._handshaken else "new")
        return (f"<{type(self).__name__} {state} epoch={self.epoch} "
                f"suite={self.cipher_suite and hex(self.cipher_suite)}>")

    def __enter__(self) -> "MLSTLSChannel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------
    # handshake
    # ------------------------------------------------------------------------------
    def handshake(self) -> None:
        """Run the MLS handshake (or resumption); return when both directions are keyed."""
        _finish(self.handshake_async())

    def handshake_async(self) -> Steps:
        """Generator form of :meth:`handshake` for event loops over a non-blocking socket:
        yields 0 whenever it needs more bytes from the peer (tlslite-ng's convention)."""
        if self._handshaken:
            return
        self._check_open()
        previous = self.sock.gettimeout()
        self.sock.settimeout(self._settings.timeout)
        try:
            yield from self._guard_async(self._do_handshake())
        finally:
            if not self._closed:
                self.sock.settimeout(previous)
        self._handshaken = True
        log.debug("%s: MLS-TLS handshake done, suite 0x%04x, epoch %s%s, peer %s",
                  self._role, self.cipher_suite or 0, self.epoch,
                  " (resumed)" if self.resumed else "", short_identity(self.peer_identity))
        # The peer is authenticated: post-handshake messages get the larger bound.
        self._reassembler.max_message = self._settings.max_message
        self._after_handshake()

    def _do_handshake(self) -> Steps:
        raise NotImplementedError

    def _after_handshake(self) -> None:
        pass

    def _config(self, **extra: Any) -> MLSHandshakeConfig:
        return MLSHandshakeConfig(**self._settings.engine_options(), **extra)

    def _adopt(self, session: TwoPartySession) -> None:
        """Take over an engine session and set up what its suite implies."""
        try:
            rsuite = record_suite(session.cipher_suite)
        except UnsupportedSuiteError as exc:
            raise ProtocolViolation(AlertDescription.handshake_failure, str(exc)) from None
        session.set_key_exports(traffic_exports(rsuite))
        self._session = session
        self._rsuite = rsuite
        self._soft_limit = min(self._settings.key_update_after or rsuite.soft_limit,
                               rsuite.soft_limit)
        self._hard_limit = min(self._settings.key_usage_limit or rsuite.hard_limit,
                               rsuite.hard_limit)

    def _install_initial_keys(self) -> None:
        session, rsuite = self.session, self._rsuite
        assert rsuite is not None
        client, server = traffic_secrets(session.exporter, rsuite)
        self._keys_ready(session.epoch, rsuite, client, server)
        self._records.switch_write(session.epoch)
        self._records.switch_read(session.epoch)

    def _send_message(self, msg: TwoPartyMessage) -> None:
        raw = msg.serialize(self._types)
        if self.is_client:
            self._first_flight(raw)  # a resumption_request
        self._records.send_handshake(raw)

    def _recv_record(self) -> Generator[int, None, tuple[int, bytes]]:
        try:
            return (yield from self._records.recv_async())
        except PeerClosedAbruptly:
            if self._reassembler.pending:
                raise ProtocolViolation(AlertDescription.decode_error,
                                        "truncated message: the stream ended inside a "
                                        "TwoPartyMessage") from None
            raise

    def _next_hello(self, allowed: tuple[MLSTLSMessageType, ...]
                    ) -> Generator[int, None, TwoPartyMessage]:
        """The peer's first-flight message, alone in its record(s)."""
        while True:
            ctype, data = yield from self._recv_record()
            if ctype == ContentType.alert:
                self._on_alert(data)
                if self._peer_closed:
                    raise MLSTLSClosedError("the peer closed the connection during the handshake")
                continue
            if ctype != ContentType.handshake:
                raise ProtocolViolation(AlertDescription.unexpected_message,
                                        f"{ContentType.toStr(ctype)} record before the "
                                        "handshake is complete")
            msgs = self._reassembler.feed(data)
            if not msgs:
                continue
            if len(msgs) > 1 or self._reassembler.pending:
                raise ProtocolViolation(AlertDescription.unexpected_message,
                                        "more handshake data after the first-flight message")
            msg = msgs[0]
            if msg.msg_type not in allowed:
                expected = " or ".join(t.name.lower() for t in allowed)
                raise ProtocolViolation(AlertDescription.unexpected_message,
                                        f"{msg.msg_type.name.lower()} where {expected} "
                                        "belongs")
            return msg

    # ------------------------------------------------------------------------------
    # records in, events out
    # ------------------------------------------------------------------------------
    def _process_next(self) -> Generator[int, None, bytes]:
        ctype, data = yield from self._recv_record()
        return self._process(ctype, data)

    def _process(self, ctype: int, data: bytes) -> bytes:
        """Handle one record; return its application data (b"" if none)."""
        session = self._session
        if session is not None and session.awaiting_confirmation and \
                self._records.last_protected:
            # It authenticated under the resumed connection's keys: the client holds
            # the candidate (docs/profile.md section 8).
            session.confirm()
        if ctype != ContentType.handshake and self._reassembler.pending:
            # RFC 8446 section 5.1: handshake messages are not interleaved with other
            # record types.
            raise ProtocolViolation(AlertDescription.unexpected_message,
                                    f"{ContentType.toStr(ctype)} record inside a fragmented "
                                    "handshake message")
        if ctype == ContentType.application_data:
            if self._records.read_epoch is None:
                raise ProtocolViolation(AlertDescription.unexpected_message,
                                        "unprotected application data")
            return data
        if ctype == ContentType.handshake:
            msgs = self._reassembler.feed(data)
            for i, msg in enumerate(msgs):
                self._more_in_record = i + 1 < len(msgs) or self._reassembler.pending
                self._on_message(msg)
            self._more_in_record = False
            return b""
        if ctype == ContentType.alert:
            self._on_alert(data)
            return b""
        raise ProtocolViolation(AlertDescription.unexpected_message,
                                f"{ContentType.toStr(ctype)} record in MLS-TLS")

    def _on_message(self, msg: TwoPartyMessage) -> None:
        if msg.msg_type in (T.CLIENT_HELLO, T.SERVER_HELLO):
            raise ProtocolViolation(AlertDescription.unexpected_message,
                                    f"{msg.msg_type.name.lower()} after the handshake")
        self._run(self.session.receive(from_mls_tls(msg)))

    def _run(self, events: list) -> None:
        """Carry out the engine's events in order (docs/profile.md section 5)."""
        for ev in events:
            if isinstance(ev, Send):
                self._send_message(to_mls_tls(ev.message))
            elif isinstance(ev, SwitchSendingKeys):
                self._prepare(ev)
                self._records.switch_write(ev.epoch)
            elif isinstance(ev, SwitchReceivingKeys):
                if self._more_in_record:
                    # RFC 8446 section 5.1: a key change must fall on a record boundary,
                    # or bytes protected under the old key would count under the new one.
                    raise ProtocolViolation(AlertDescription.unexpected_message,
                                            "handshake data follows the epoch marker in "
                                            "its record")
                self._prepare(ev)
                self._records.switch_read(ev.epoch)
            else:  # pragma: no cover - the engine has no other events
                raise AssertionError(f"unknown engine event {ev!r}")
            if self._records.write_epoch == self._records.read_epoch and \
                    isinstance(ev, (SwitchSendingKeys, SwitchReceivingKeys)) and \
                    self._handshaken:
                self.epoch_changes += 1
                log.debug("%s: epoch %d in both directions", self._role, ev.epoch)

    def _prepare(self, ev: Union[SwitchSendingKeys, SwitchReceivingKeys]) -> None:
        """Derive both directions' keys at the first switch of an epoch, then wipe."""
        if self._records.prepared_epoch == ev.epoch:
            ev.keys.wipe()  # the other direction's switch derived them already
            return
        assert self._rsuite is not None
        client, server = traffic_secrets(ev.keys.export, self._rsuite)
        self._keys_ready(ev.epoch, self._rsuite, client, server)
        ev.keys.wipe()

    def _keys_ready(self, epoch: int, rsuite: Any, client: bytearray, server: bytearray) -> None:
        if self._keylog and self._flight_id is not None:
            write_lines(self._keylog, self._flight_id,
                        [(label.format(epoch), secret)
                         for label, secret in zip(MLS_TLS_KEYLOG_LABELS, (client, server))])
        self._records.prepare(epoch, rsuite, client, server)

    def _first_flight(self, raw: bytes) -> None:
        if self._flight_id is None:
            self._flight_id = hashlib.sha256(raw).digest()

    def _on_alert(self, data: bytes) -> None:
        if len(data) != 2:
            raise ProtocolViolation(AlertDescription.decode_error, "malformed alert record")
        level, description = data[0], data[1]
        if description == AlertDescription.close_notify:
            self._peer_closed = True
            return
        if description == AlertDescription.user_canceled and level == AlertLevel.warning:
            return  # RFC 8446 section 6.1: a close_notify follows
        log.debug("%s: peer sent %s", self._role, AlertDescription.toStr(description))
        raise MLSTLSRemoteAlert(description, level)

    # ------------------------------------------------------------------------------
    # failure handling
    # ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._failure is not None:
            raise MLSTLSClosedError(f"the connection failed earlier: {self._failure}")
        if self._closed:
            raise MLSTLSClosedError("the connection is closed")

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn``; on failure send the alert, close, and raise the public error."""
        try:
            return fn(*args)
        except Exception as exc:
            self._raise_failure(exc)

    def _guard_async(self, steps: Generator[int, None, Any]) -> Generator[int, None, Any]:
        """:meth:`_guard` for a generator of the ``*_async`` methods."""
        try:
            return (yield from steps)
        except Exception as exc:
            self._raise_failure(exc)

    def _raise_failure(self, exc: Exception) -> NoReturn:
        try:
            raise exc
        except UpdateInFlight:
            raise  # local misuse: nothing was sent, the connection goes on
        except ProtocolViolation as exc:
            self._fail(exc.alert, exc.reason, exc)
        except MLSTLSError as exc:  # the peer's alert, a closed stream, a local refusal
            self._abort(exc)
            raise
        except socket.timeout as exc:
            self._abort(exc)
            raise MLSTLSClosedError("timed out waiting for the peer") from exc
        except OSError as exc:
            self._abort(exc)
            raise
        except Declined as exc:
            # MLS-TLS has no classic TLS to fall back to: a decline ends the connection
            # with the alert the engine names for it (the extension mode's mapping too).
            self._fail(alert_for(exc), f"KeyPackage declined: {exc.reason}", exc)
        except MLSError as exc:
            self._fail(alert_for(exc), describe(exc), exc)
        except Exception as exc:  # a bug or a store failure: still tell the peer
            self._fail(AlertDescription.internal_error, describe(exc), exc)
        raise AssertionError("unreachable: _fail raises")  # pragma: no cover

    def _fail(self, description: int, reason: str, cause: BaseException) -> None:
        try:
            if not self._closed:
                self._records.send_alert(description)
        except OSError:
            pass  # the peer may be gone; our caller still learns why
        log.debug("%s: sending %s: %s", self._role, AlertDescription.toStr(description), reason)
        error = MLSTLSLocalAlert(description, reason)
        self._abort(error)
        raise error from cause

    def _abort(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
        self._shutdown()

    def _shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self._records.shutdown()
        if self._session is not None:
            self._session.close()

    # ------------------------------------------------------------------------------
    # application data
    # ------------------------------------------------------------------------------
    def read(self, max: Optional[int] = None) -> bytes:  # noqa: A002 (tlslite-ng's name)
        """Application data (at most ``max`` bytes); b"" once the peer sent close_notify.

        Blocks until data arrives; epoch-change messages on the way are handled.
        """
        self.handshake()
        while not self._buffer:
            if not self.pump_one():
                return b""
        return self.read_buffered(max)

    def pending(self) -> int:
        """Bytes of application data received and not read yet (read them without I/O)."""
        return len(self._buffer)

    def has_unread(self) -> bool:
        """Whether data waits without I/O: application data (:meth:`pending`) or bytes
        of records already read from the socket. A ``select`` loop must pump these
        before waiting on the socket, which will not signal them again."""
        return bool(self._buffer) or self._records.read_ahead() > 0

    def read_buffered(self, max: Optional[int] = None) -> bytes:  # noqa: A002
        """Application data already received, without reading from the socket."""
        n = len(self._buffer) if max is None else min(max, len(self._buffer))
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def pump_one(self) -> bool:
        """Read and handle exactly one record; False once the peer sent close_notify.

        For event loops: after ``select`` says the socket is readable, this never
        waits for more than the one record that is arriving.
        """
        self.handshake()
        return _finish(self.pump_one_async())

    def pump_one_async(self) -> Generator[int, None, bool]:
        """Generator form of :meth:`pump_one` (after the handshake) for a non-blocking
        socket: yields 0 while the record is incomplete; data goes to the buffer
        (:meth:`read_buffered`)."""
        if self._peer_closed:
            return False
        self._check_open()
        data = yield from self._guard_async(self._process_next())
        if data:
            self._buffer += data
        return not self._peer_closed

    def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Send all of ``data`` as application data."""
        self.handshake()
        self._check_open()
        data = bytes(data)
        step = 1 << 14
        for i in range(0, len(data), step):
            self._guard(self._write_record, data[i:i + step])

    def _write_record(self, piece: bytes) -> None:
        self._check_key_usage()
        self._records.send_application(piece)

    def _check_key_usage(self) -> None:
        """RFC 8446 section 5.5: change epochs before the limit, or close."""
        sent = self._records.records_sent
        if sent >= self._soft_limit and not self.session.update_in_flight:
            self._run(self.session.start_update())
            self.updates_started += 1
            sent = self._records.records_sent
        if sent + 1 >= self._hard_limit:
            self.close()
            raise MLSTLSClosedError("key usage limit reached before the epoch change "
                                    "completed: connection closed")

    # socket-like names
    def recv(self, bufsize: int) -> bytes:
        """``socket``-style name for :meth:`read`: at most ``bufsize`` bytes of
        application data, b"" once the peer closed."""
        return self.read(bufsize)

    def send(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """``socket``-style :meth:`write`: sends all of ``data`` and returns its length."""
        self.write(data)
        return len(data)

    def sendall(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """``socket``-style :meth:`write`: sends all of ``data``."""
        self.write(data)

    # ------------------------------------------------------------------------------
    # epoch changes and closing
    # ------------------------------------------------------------------------------
    def start_update(self) -> None:
        """Start an epoch change (docs/profile.md section 5).

        It completes while the connection is read: the peer's marker switches the
        keys. Raises :class:`UpdateInFlight` (nothing sent) while one is under way.
        """
        self.handshake()
        self._check_open()
        if self.session.update_in_flight:
            raise UpdateInFlight("an epoch change is already in flight")
        self._guard(lambda: self._run(self.session.start_update()))
        self.updates_started += 1

    def close(self) -> None:
        """Send close_notify (when the connection is still healthy) and close the socket."""
        if self._closed:
            return
        if self._failure is None:
            try:
                self._records.send_alert(AlertDescription.close_notify, AlertLevel.warning)
            except OSError:
                pass
        self._shutdown()


class MLSTLSClient(MLSTLSChannel):
    """The MLS-TLS client (the profile's initiator)."""

    is_client = True

    def __init__(self, sock: socket.socket,
                 settings: Optional[MLSTLSClientSettings] = None,
                 keylog: Optional[str] = None) -> None:
        super().__init__(sock, settings if settings is not None else MLSTLSClientSettings(), keylog)

    def _do_handshake(self) -> Steps:
        s: Any = self._settings
        config = self._config()
        if s.resume:
            yield from self._resume(config, s.session_key)
            return
        initiator = InitiatorHandshake(config)
        key_package = initiator.key_package()
        hello = TwoPartyMessage(T.CLIENT_HELLO, message=_wrap_key_package(key_package))
        raw = hello.serialize(self._types)
        # docs/profile.md leaves the MLS-TLS value of tls_client_hello_hash open; we hash the
        # client_hello TwoPartyMessage as sent, with the MLS suite's hash, so the
        # server's GroupInfo signature covers the exact first flight.
        client_hello_hash = get_cipher_suite(_key_package_suite(key_package)).digest(raw)
        self._first_flight(raw)
        self._records.send_handshake(raw)
        reply = yield from self._next_hello((T.SERVER_HELLO,))
        session = initiator.process_welcome(_body(reply.message), client_hello_hash)
        self._adopt(session)
        self._install_initial_keys()
        if s.session_key is not None:
            store = config.the_store()
            store.delete_group(s.session_key)
            session.persist(s.session_key)

    def _resume(self, config: MLSHandshakeConfig, key: bytes) -> Steps:
        try:
            session = TwoPartySession.load(config, key)
        except KeyError:
            raise MLSTLSError("no stored session to resume under this session_key") from None
        self._adopt(session)
        self.resumed = True
        self._run(session.resume())
        reply = yield from self._next_hello((T.RESUMPTION_RESPONSE,))
        self._run(session.receive(from_mls_tls(reply)))
        if not self._records.keyed:  # pragma: no cover - the engine switches both
            raise AssertionError("the resumption response did not key both directions")

    def _after_handshake(self) -> None:
        s: Any = self._settings
        if s.initial_update and not self.resumed:
            self.start_update()


class MLSTLSServer(MLSTLSChannel):
    """The MLS-TLS server (the profile's responder), for one accepted socket."""

    def __init__(self, sock: socket.socket,
                 settings: Optional[MLSTLSServerSettings] = None,
                 keylog: Optional[str] = None) -> None:
        super().__init__(sock, settings if settings is not None else MLSTLSServerSettings(), keylog)

    def _do_handshake(self) -> Steps:
        s: Any = self._settings
        config = self._config()
        first = yield from self._next_hello((T.CLIENT_HELLO, T.RESUMPTION_REQUEST))
        self._first_flight(first.serialize(self._types))
        if first.msg_type == T.RESUMPTION_REQUEST:
            self._resume(config, first)
            return
        key_package = _body(first.message)
        suite = _key_package_suite(key_package)
        try:
            record_suite(suite)
        except UnsupportedSuiteError as exc:
            raise ProtocolViolation(AlertDescription.handshake_failure, str(exc)) from None
        client_hello_hash = get_cipher_suite(suite).digest(first.serialize(self._types))
        welcome, session = ResponderHandshake(config).accept(key_package, client_hello_hash)
        self._adopt(session)
        if s.keeps_sessions:
            # Stored before the Welcome goes out (docs/profile.md section 6).
            session.persist()
        self._send_message(TwoPartyMessage(T.SERVER_HELLO, message=_wrap_welcome(welcome)))
        self._install_initial_keys()

    def _resume(self, config: MLSHandshakeConfig, request: TwoPartyMessage) -> None:
        s: Any = self._settings
        if not s.keeps_sessions:
            raise ProtocolViolation(AlertDescription.handshake_failure,
                                    "resumption_request, but this server keeps no sessions "
                                    "(resumption needs a store)")
        group_id = _commit_group_id(request.message)  # type: ignore[arg-type]
        try:
            session = TwoPartySession.load(config, group_id)
        except KeyError:
            raise ProtocolViolation(AlertDescription.handshake_failure,
                                    "resumption_request for a session this server does "
                                    "not have") from None
        self._adopt(session)
        self.resumed = True
        # Response out, both directions at N+2; the candidate waits for the client's
        # first record (see _process).
        self._run(session.receive(from_mls_tls(request)))


def new_session_key() -> bytes:
    """A random name for a client's stored session."""
    return b"mls-tls-client/" + os.urandom(16).hex().encode()
