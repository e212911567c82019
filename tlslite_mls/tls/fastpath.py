"""A fast path for protected TLS 1.3 records, in both modes.

tlslite-ng reads a record with three ``recv`` calls (one byte, four bytes, the body),
through about ten nested generators, builds the nonce with a 13-step generator and
copies the record several times; that is most of the cost of a 16 KiB record, the
AEAD itself being a small part. :class:`FastRecordLayer` keeps tlslite-ng's record
layer for everything and takes over only the common case:

* receiving a TLS 1.3 ``application_data`` record (every protected record, whatever
  its inner type: data, handshake, alert) under an OpenSSL AEAD (``accel.py``): the
  socket is read into one reusable buffer, the header with one call and the rest of
  the record with ``recv_into`` (tlslite-ng makes three calls; reading ahead past the
  record would hide data from ``select()``); the header is parsed in place, the
  nonce is the integer IV XOR the sequence number, and the AEAD opens a memoryview
  of the buffer;
* sending such a record: one seal, one header, one send.

Anything else (plaintext records, a change_cipher_spec, an unknown first byte, a
wrong version or size, early data, the end of the stream) goes to tlslite-ng's own
code, which finds the bytes already read ahead: its ``RecordSocket`` reads through
:class:`ReadAhead`, which hands out buffered bytes before it reads the socket. So
both paths see one stream, and every refusal keeps tlslite-ng's exception.

``fast_records = False`` on a layer turns the fast path off (the tests compare both).
"""

from __future__ import annotations

import errno
from typing import Any, Iterator

from tlslite.constants import ContentType
from tlslite.errors import (TLSAbruptCloseError, TLSBadRecordMAC, TLSRecordOverflow,
                            TLSUnexpectedMessage)
from tlslite.messages import RecordHeader3
from tlslite.utils.codec import Parser

from .accel import OpenSSLAEAD, OpenSSLRecordLayer

__all__ = ["FastRecordLayer", "FastReadMixin", "ReadAhead"]

_HEADER = 5
_TAG = 16  # the longest AEAD tag: a record no longer than it takes the slow path
_APPLICATION_DATA = ContentType.application_data
_CCS = ContentType.change_cipher_spec
# the largest TLS 1.3 record (RFC 8446 section 5.2): header + 2^14 + 256
_MAX_RECORD = _HEADER + (1 << 14) + 256
_BUFFER = 2 * _MAX_RECORD
_WOULD_BLOCK = (errno.EWOULDBLOCK, errno.EAGAIN)


class ReadAhead:
    """A socket as tlslite-ng's ``RecordSocket`` uses it, with a read-ahead buffer.

    ``recv`` returns buffered bytes first; every other attribute is the socket's.
    The buffer is dropped whenever it runs empty, so an idle connection carries none.
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf: Any = None
        self.view: Any = None
        self.start = 0
        self.end = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    def recv(self, n: int, *flags: Any) -> bytes:
        have = self.end - self.start
        if not have:
            return self.sock.recv(n, *flags)
        n = min(n, have)
        data = bytes(self.view[self.start:self.start + n])
        self.start += n
        return data

    def release(self) -> None:
        """Drop the (empty) buffer; the next fill allocates one again."""
        self.buf = self.view = None
        self.start = self.end = 0

    def fill(self, need: int) -> bool:
        """At least ``need`` bytes buffered; False at the end of the stream.

        The socket is never read beyond ``need``: bytes of a next record would sit
        here while ``select()`` on the socket says nothing is there, and every loop
        that waits with ``select()`` (the command line's clients, asyncio
        integrations) would stall. With nothing buffered the socket is read with
        ``recv``: an idle connection waits there, and a buffer would be resident for
        as long as it waits. The reusable buffer comes when a record does not fit.

        :raises BlockingIOError: a non-blocking socket has nothing more now.
        """
        have = self.end - self.start
        if have >= need:
            return True
        sock = self.sock
        # tlslite-ng's BufferedSocket (extension mode) reads ahead on its own: its
        # bytes come first, then its socket is read directly
        pending = getattr(sock, "_read_buffer", None)
        raw = getattr(sock, "socket", sock)
        if self.buf is None:
            if pending:
                first = bytes(pending)
                del pending[:]
            else:
                first = raw.recv(need)
                if not first:
                    return False
            self.buf = bytearray(first)
            self.view = memoryview(self.buf)
            self.start, self.end = 0, len(first)
            return self.fill(need)
        extra = len(pending) if pending else 0
        if self.start + max(need, have + extra) > len(self.buf) or \
                len(self.buf) - self.end < extra:
            rest = bytes(self.view[self.start:self.end])  # copied: the ranges may overlap
            if len(self.buf) < _BUFFER:
                self.buf = bytearray(_BUFFER)
                self.view = memoryview(self.buf)
            self.buf[:have] = rest
            self.start, self.end = 0, have
        if extra:
            self.buf[self.end:self.end + extra] = pending
            self.end += extra
            del pending[:]
        while self.end - self.start < need:
            got = raw.recv_into(self.view[self.end:], need - (self.end - self.start))
            if not got:
                return False
            self.end += got
        return True


def _fill(ahead: ReadAhead, need: int) -> Iterator[Any]:
    """``ahead.fill(need)`` in tlslite-ng's generator convention: 0 while a
    non-blocking socket has nothing, then (as the return value) its result."""
    while True:
        try:
            return ahead.fill(need)
        except OSError as exc:
            if not isinstance(exc, BlockingIOError) and exc.errno not in _WOULD_BLOCK:
                raise
            yield 0


class FastRecordLayer(OpenSSLRecordLayer):
    """``OpenSSLRecordLayer`` with the fast path of the module docstring."""

    fast_records = True

    def __init__(self, sock: Any) -> None:
        OpenSSLRecordLayer.__init__(self, sock)
        self._ahead = ReadAhead(sock)
        self._recordSocket.sock = self._ahead

    @staticmethod
    def _iv_of(state: Any) -> int:
        """The state's IV as an integer, kept on the state itself: it goes with that
        state's key (a cache on the layer kept a replaced state, key included, alive
        until the next record, and alternated between the read and write states)."""
        iv = state.__dict__.get("fast_iv")
        if iv is None:
            iv = state.fast_iv = int.from_bytes(state.fixedNonce, "big")
        return iv

    # -- receiving --------------------------------------------------------------------
    def recvRecord(self) -> Iterator[Any]:  # noqa: N802 (tlslite-ng's name)
        state = self._readState
        if not self.fast_records or type(state.encContext) is not OpenSSLAEAD \
                or self.early_data_ok or not self._is_tls13_plus():
            return OpenSSLRecordLayer.recvRecord(self)
        return self._recv_fast(state)

    def _recv_fast(self, state: Any) -> Iterator[Any]:
        ahead = self._ahead
        more = yield from _fill(ahead, _HEADER)
        if more:
            buf, start = ahead.buf, ahead.start
            length = (buf[start + 3] << 8) | buf[start + 4]
            fast = buf[start] == _APPLICATION_DATA and buf[start + 1] == 3 \
                and buf[start + 2] == 3 and _TAG < length <= self.recv_record_limit + 256
        if not more or not fast:
            # tlslite-ng's code reads the same bytes and refuses (or passes) them
            yield from OpenSSLRecordLayer.recvRecord(self)
            return
        more = yield from _fill(ahead, _HEADER + length)
        if not more:
            yield from OpenSSLRecordLayer.recvRecord(self)  # truncated: tlslite-ng's error
            return
        start = ahead.start
        view = ahead.view
        ahead.start = start + _HEADER + length
        self._fast_received()
        aad = bytes(view[start:start + _HEADER])
        sealed = view[start + _HEADER:start + _HEADER + length]
        seq = state.seqnum
        state.seqnum = seq + 1
        nonce = (self._iv_of(state) ^ seq).to_bytes(12, "big")
        plain = state.encContext.open_view(nonce, sealed, aad)
        del sealed, view
        if ahead.start == ahead.end:
            ahead.release()  # nothing read ahead: an idle connection keeps no buffer
        if plain is None:
            raise TLSBadRecordMAC("Invalid tag, decryption failure")
        limit = self.recv_record_limit
        if len(plain) > limit + 1:
            raise TLSRecordOverflow()
        content_type = plain[-1]
        if not content_type:  # padded: the type is the last non-zero byte
            plain = plain.rstrip(b"\0")
            if not plain:
                raise TLSUnexpectedMessage("Malformed record layer inner plaintext"
                                           " - content type missing")
            content_type = plain[-1]
        data = bytearray(memoryview(plain)[:-1])
        if len(data) > limit:
            raise TLSRecordOverflow()
        yield RecordHeader3().create((3, 4), content_type, len(data)), Parser(data)

    def _fast_received(self) -> None:
        """A protected record was taken off the stream by the fast path (subclass hook)."""

    # -- sending ----------------------------------------------------------------------
    def sendRecord(self, msg: Any) -> Iterator[Any]:  # noqa: N802
        state = self._writeState
        content_type = msg.contentType
        if not self.fast_records or type(state.encContext) is not OpenSSLAEAD \
                or content_type == _CCS or not self._is_tls13_plus() \
                or self._recordSocket.version != (3, 3):
            return OpenSSLRecordLayer.sendRecord(self, msg)
        return self._send_fast(state, msg, content_type)

    def _send_fast(self, state: Any, msg: Any, content_type: int) -> Iterator[Any]:
        data = msg.write()
        data.append(content_type)
        if self.padding_cb:
            data += bytearray(self.padding_cb(len(data), content_type,
                                              self.send_record_limit - len(data) - 1))
        out_len = len(data) + state.encContext.tagLength  # 8 for AES-CCM_8
        header = bytes((_APPLICATION_DATA, 3, 3, out_len >> 8, out_len & 0xFF))
        seq = state.seqnum
        state.seqnum = seq + 1
        nonce = (self._iv_of(state) ^ seq).to_bytes(12, "big")
        record = header + state.encContext.seal_bytes(nonce, data, header)
        sock = self._ahead.sock
        try:
            sent = sock.send(record)
        except OSError as exc:
            if exc.errno not in _WOULD_BLOCK and not isinstance(exc, BlockingIOError):
                raise
            sent = 0
        if sent != len(record):
            yield from self._recordSocket._sockSendAll(record[sent:])



class FastReadMixin:
    """``read()`` of a ``TLSConnection`` for the common case: one protected record of
    application data, handed out as it is.

    The record comes through the connection's own ``_getNextRecordFromSocket`` (its
    checks and alerts stay), but not through the generators above it. Whenever
    anything else could matter (buffered data, a partial handshake message, a
    ``min`` above one byte, a pending MLS update: :meth:`_fast_read_allowed`) the
    usual ``read()`` runs; and a record that turns out not to be application data
    (a handshake message, an alert, an empty record) is kept and handed to the usual
    ``read()`` as the next record from the socket (:meth:`_fast_take_stashed`).
    """

    _fast_stash: Any = None

    def _fast_read_allowed(self) -> bool:
        """Subclass hook: False while per-record work (an update to start) is due."""
        return True

    def _fast_take_message(self, header: Any, parser: Any) -> bool:
        """Subclass hook: handle a record that is not application data here (a whole
        message of the subclass's own, which the usual ``read()`` would only pass
        through to it); True when it did, and the fast read goes on to the next record."""
        return False

    def _fast_take_stashed(self) -> Any:
        stashed, self._fast_stash = self._fast_stash, None
        return stashed

    def read(self, max: Any = None, min: int = 1) -> Any:  # noqa: A002
        base = super()
        if self.closed or self._readBuffer or min > 1 or self.version <= (3, 3) \
                or not self._recordLayer.fast_records \
                or not self._defragmenter.is_empty() or not self._fast_read_allowed():
            return base.read(max, min)  # type: ignore[misc]
        while True:
            try:
                result: Any = None
                for result in self._getNextRecordFromSocket():
                    if result not in (0, 1):
                        break
                header, parser = result
                data = parser.bytes
                if header.type == _APPLICATION_DATA and data and not parser.index:
                    break
                taken = self._fast_take_message(header, parser)
            except TLSAbruptCloseError:
                if not self.ignoreAbruptClose:
                    self._shutdown(False)
                    raise
                self._shutdown(True)
                return b""
            except BaseException:
                self._shutdown(False)
                raise
            if not taken:
                self._fast_stash = result
                return base.read(max, min)  # type: ignore[misc]
            if self.closed or self._readBuffer or not self._fast_read_allowed():
                return base.read(max, min)  # type: ignore[misc]
        if max is not None and len(data) > max:
            self._readBuffer = data[max:]
            data = data[:max]
        return bytes(data)
