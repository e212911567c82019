"""The TLS 1.3 record layer of MLS-TLS: tlslite-ng's ``RecordLayer`` without a handshake.

MLS replaces the TLS handshake, so nothing here negotiates: the record layer is put
straight into TLS 1.3 mode (records carry legacy_record_version 0x0303), sends the
hellos as plaintext ``TLSPlaintext`` records, and gets its keys from
``calcTLS1_3PendingState`` with the MLS-exported traffic secrets. Each direction is
switched on its own (``changeWriteState``/``changeReadState``), which is what the
epoch markers of docs/profile.md section 5 need; every switch starts a fresh
``ConnectionState``, so sequence numbers restart at 0 with each key.

Two things are checked before tlslite-ng sees a record, because its record socket
is also an SSLv2 parser: a first byte that is no TLS content type would be read as
an SSLv2 header with a length taken from garbage (and the read could then wait for
bytes that never come). Here it is ``unexpected_message`` at once (RFC 8446
section 5: unknown record types). And an end of stream inside a record is told
apart from one at a record boundary: the first is a truncated record
(``decode_error``), the second a close without close_notify.

Once a direction is keyed nothing but protected records is accepted (docs/profile.md
section 8). tlslite-ng lets two kinds of plaintext record through a keyed TLS 1.3
read state, for TLS's own sake: change_cipher_spec (middlebox compatibility, which
MLS-TLS does not have) and an alert at sequence number 0 (a peer that failed before
it had keys). Here the only one kept is a fatal plaintext alert before any protected
record: the peer may have failed on our first flight before it had keys. It ends the
connection and never counts as authenticated (``last_protected``).
"""

from __future__ import annotations

import socket
from typing import Any, Generator, Optional, Sequence

from tlslite.constants import AlertDescription, AlertLevel, ContentType
from tlslite.errors import (TLSAbruptCloseError, TLSBadRecordMAC, TLSDecryptionFailed,
                            TLSIllegalParameterException, TLSRecordOverflow,
                            TLSUnexpectedMessage)
from tlslite.messages import Alert, Message
from tlslite.recordlayer import RecordLayer, RecordSocket

from ..tls.fastpath import FastRecordLayer
from .errors import MLSTLSClosedError, ProtocolViolation
from .framing import MAX_FRAGMENT, fragment
from .suites import RecordSuite

__all__ = ["RecordChannel", "PeerClosedAbruptly"]

# tlslite-ng's cipher implementation order (HandshakeSettings default).
DEFAULT_IMPLEMENTATIONS = ("openssl", "pycrypto", "python")


class PeerClosedAbruptly(MLSTLSClosedError):
    """The stream ended at a record boundary without close_notify."""


class _CheckedRecordSocket(RecordSocket):
    """tlslite-ng's RecordSocket with the two checks of the module docstring."""

    def __init__(self, sock: Any) -> None:
        RecordSocket.__init__(self, sock)
        self._first = False
        self._received = 0
        self.outer_type: Optional[int] = None  # of the last record, as on the wire

    def recv(self) -> Any:
        self._first = True
        self._received = 0
        try:
            for result in RecordSocket.recv(self):
                if result not in (0, 1):
                    self.outer_type = result[0].type
                yield result
        except TLSAbruptCloseError:
            if self._received:
                raise ProtocolViolation(AlertDescription.decode_error,
                                        "truncated record: the stream ended inside a "
                                        "record") from None
            raise PeerClosedAbruptly("the peer closed the connection without close_notify") \
                from None

    def _sockRecvAll(self, length: int) -> Any:  # noqa: N802 (tlslite-ng's name)
        first, self._first = self._first, False
        for result in RecordSocket._sockRecvAll(self, length):
            if result not in (0, 1):
                if first and result and result[0] not in ContentType.all:
                    raise ProtocolViolation(
                        AlertDescription.unexpected_message,
                        f"record of unknown content type {result[0]} (not a TLS 1.3 record)")
                self._received += len(result)
            yield result


class _MLSTLSRecordLayer(FastRecordLayer):
    """The extension mode's record layer (OpenSSL AEADs and the record fast path,
    fastpath.py) with the checks above on tlslite-ng's path."""

    def __init__(self, sock: Any) -> None:
        FastRecordLayer.__init__(self, sock)
        self._recordSocket = _CheckedRecordSocket(self._ahead)

    def _fast_received(self) -> None:
        self._recordSocket.outer_type = ContentType.application_data

    def _decryptAndUnseal(self, header: Any, buf: bytearray) -> bytearray:  # noqa: N802
        # tlslite-ng checks the tag length before the outer type, so a short plaintext
        # record after the keys would be bad_record_mac; RFC 8446 section 5.2 makes a
        # protected record of another type unexpected_message whatever its length.
        if header.type != ContentType.application_data:
            raise TLSUnexpectedMessage(
                f"Invalid ContentType for encrypted record: {ContentType.toStr(header.type)}")
        return FastRecordLayer._decryptAndUnseal(self, header, buf)


def _no_delay(sock: Any) -> None:
    """Turn Nagle off: a marker record and the data behind it are separate writes, and
    Nagle with delayed ACKs holds the second for tens of milliseconds per epoch change."""
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


_TLSLITE_ERRORS = (
    (TLSRecordOverflow, AlertDescription.record_overflow, "record too large"),
    (TLSBadRecordMAC, AlertDescription.bad_record_mac, "record failed authentication"),
    (TLSDecryptionFailed, AlertDescription.bad_record_mac, "record failed authentication"),
    (TLSUnexpectedMessage, AlertDescription.unexpected_message, "unexpected record"),
    (TLSIllegalParameterException, AlertDescription.illegal_parameter, "bad record header"),
)


def _finish(steps: Generator[int, None, Any]) -> Any:
    """Run a generator of the ``*_async`` methods to its return value; on a blocking
    socket it never waits (a non-blocking one would spin: drive those by hand)."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


class RecordChannel:
    """Send and receive TLS 1.3 records; install keys per direction.

    :ivar records_sent: records protected under the current sending key (the
        RFC 8446 section 5.5 usage count; reset by every sending-key switch).
    """

    def __init__(self, sock: Any, client: bool,
                 implementations: Sequence[str] = DEFAULT_IMPLEMENTATIONS) -> None:
        self._sock = sock
        _no_delay(sock)
        self._layer = _MLSTLSRecordLayer(sock)
        self._layer.client = client
        self._layer.version = (3, 4)
        self._layer.tls13record = True
        self._implementations = list(implementations)
        self._pending_epoch: Optional[int] = None
        self.write_epoch: Optional[int] = None
        self.read_epoch: Optional[int] = None
        self.records_sent = 0
        self.last_protected = False  # the last record received was AEAD-protected

    # -- keys -------------------------------------------------------------------------
    def read_ahead(self) -> int:
        """Bytes already read from the socket and not yet taken as records (the record
        layer reads ahead): a reader waiting in ``select`` must handle these first."""
        ahead = self._layer._ahead
        return ahead.end - ahead.start

    def prepare(self, epoch: int, suite: RecordSuite, client_secret: bytearray,
                server_secret: bytearray) -> None:
        """Derive both directions' keys of ``epoch`` (RFC 8446 section 7.3) and hold them.

        The two secrets are overwritten before returning: only the AEAD contexts stay.
        """
        try:
            self._layer.calcTLS1_3PendingState(suite.tls_suite, client_secret, server_secret,
                                               self._implementations)
        finally:
            client_secret[:] = bytes(len(client_secret))
            server_secret[:] = bytes(len(server_secret))
        self._pending_epoch = epoch

    @property
    def prepared_epoch(self) -> Optional[int]:
        return self._pending_epoch

    def switch_write(self, epoch: int) -> None:
        self._check_prepared(epoch)
        self._layer.changeWriteState()
        self.write_epoch = epoch
        self.records_sent = 0

    def switch_read(self, epoch: int) -> None:
        self._check_prepared(epoch)
        self._layer.changeReadState()
        self.read_epoch = epoch

    def _check_prepared(self, epoch: int) -> None:
        if self._pending_epoch != epoch:
            raise AssertionError(f"keys of epoch {epoch} were not prepared")

    # -- sending ----------------------------------------------------------------------
    def send_handshake(self, data: bytes) -> None:
        """One TwoPartyMessage, fragmented to records of at most 2^14 bytes."""
        for piece in fragment(data, MAX_FRAGMENT):
            self._send(Message(ContentType.handshake, bytearray(piece)))

    def send_application(self, data: bytes) -> None:
        for piece in fragment(data, MAX_FRAGMENT):
            self._send(Message(ContentType.application_data, bytearray(piece)))

    def send_alert(self, description: int, level: int = AlertLevel.fatal) -> None:
        self._send(Alert().create(description, level))

    def _send(self, msg: Any) -> None:
        for _ in self._layer.sendRecord(msg):
            pass  # a blocking socket never asks to wait
        if self.write_epoch is not None:
            self.records_sent += 1

    # -- receiving --------------------------------------------------------------------
    def recv(self) -> tuple[int, bytes]:
        """The next record's (content type, plaintext), from a blocking socket."""
        return _finish(self.recv_async())

    def recv_async(self) -> Generator[int, None, tuple[int, bytes]]:
        """Generator form of :meth:`recv`: yields 0 while a non-blocking socket has no
        data (tlslite-ng's convention), returns the record's (content type, plaintext).

        :raises ProtocolViolation: with the alert for a bad record.
        :raises PeerClosedAbruptly: the stream ended at a record boundary.
        :raises OSError: socket errors and timeouts, unchanged.
        """
        try:
            result: Any = None
            for result in self._layer.recvRecord():
                if result in (0, 1):
                    yield result
                    continue
                break
        except (ProtocolViolation, MLSTLSClosedError, OSError):
            raise
        except Exception as exc:
            for kind, alert, what in _TLSLITE_ERRORS:
                if isinstance(exc, kind):
                    detail = str(exc)
                    raise ProtocolViolation(alert, f"{what}: {detail}" if detail else what) \
                        from exc
            raise
        header, parser = result
        if getattr(header, "ssl2", False):
            raise ProtocolViolation(AlertDescription.unexpected_message, "SSLv2 record")
        data = bytes(parser.bytes[parser.index:])
        outer = self._layer._recordSocket.outer_type
        self.last_protected = self.read_epoch is not None and \
            outer == ContentType.application_data
        if self.read_epoch is not None and not self.last_protected and not (
                header.type == ContentType.alert and data[:1] == bytes([AlertLevel.fatal])):
            raise ProtocolViolation(AlertDescription.unexpected_message,
                                    f"unprotected {ContentType.toStr(header.type)} record "
                                    "after the keys were switched")
        return header.type, data

    @property
    def keyed(self) -> bool:
        """True once both directions are protected."""
        return self.write_epoch is not None and self.read_epoch is not None

    def shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
