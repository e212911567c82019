"""asyncio streams over MLS-keyed connections, both modes, no thread per connection.

``open_connection()`` and ``start_server()`` work like their ``asyncio`` namesakes and
take a :class:`~tlslite_mls.context.ClientContext` / ``ServerContext``::

    reader, writer = await tlslite_mls.aio.open_connection("example", 4433, context=ctx)
    writer.write(b"hello")
    print(await reader.read(100), writer.epoch, writer.exporter(b"label", b"", 32))

How it runs: each connection's protocol code is the same as the blocking API's
(``MLSSocket`` over the modes' own connection classes), on an in-memory socket. Their
generator forms (tlslite-ng's ``async_`` convention: yield 0 when more bytes are needed)
are driven by the event loop, which moves bytes between that memory socket and the TCP
stream. One reading task per connection handles the peer's records as they arrive, so
epoch changes complete while the application streams; ``on_epoch_change`` is called
from it before the new epoch's data reaches the reader.

The writer carries the MLS properties of :class:`~tlslite_mls.context.MLSSocket`
(``negotiated``, ``cipher_suite``, ``epoch``, ``peer_identity``, ``exporter()``,
``update()``, ``resumed``, ``session``, ``on_epoch_change``);
``writer.get_extra_info("mls_socket")`` returns the ``MLSSocket`` itself.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any, Awaitable, Callable, Iterator, Optional, Union

from .context import ClientContext, MLSSocket, ServerContext, _make_socket, delegated
from .serving import ServerLimits, describe_failure, peer_text

__all__ = ["open_connection", "start_server", "MLSStreamWriter", "ServerLimits"]

log = logging.getLogger("tlslite_mls.server")
client_log = logging.getLogger("tlslite_mls.connection")

# Application data the reader may hold before the connection stops reading the peer.
DEFAULT_LIMIT = 1 << 16
_READ_SIZE = 1 << 16


class _MemorySocket:
    """The socket the protocol code sees: bytes in from, and out to, the event loop.

    ``recv`` raises ``EAGAIN`` when nothing is buffered, which tlslite-ng's record layer
    turns into a "need more data" step; ``send`` never blocks.
    """

    family = socket.AF_UNIX  # no TCP options to set on it
    never_blocks = True  # sending never waits (see tls/post_handshake.py)

    def __init__(self, peername: Any, sockname: Any) -> None:
        self._in = bytearray()
        self._out = bytearray()
        self.eof = False
        self.closed = False
        self._peername = peername
        self._sockname = sockname

    def feed(self, data: bytes) -> None:
        self._in += data

    def take_output(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def recv(self, bufsize: int) -> bytes:
        if self._in:
            out = bytes(self._in[:bufsize])
            del self._in[:bufsize]
            return out
        if self.eof:
            return b""
        raise BlockingIOError(errno.EAGAIN, "no data from the peer yet")

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        data = self.recv(nbytes or len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def send(self, data: Any, flags: int = 0) -> int:
        if self.closed:
            raise BrokenPipeError(errno.EPIPE, "the connection is closed")
        self._out += data
        return len(data)

    def sendall(self, data: Any) -> None:
        self.send(data)

    def settimeout(self, value: Optional[float]) -> None:
        pass

    def gettimeout(self) -> Optional[float]:
        return None

    def setblocking(self, flag: bool) -> None:
        pass

    def setsockopt(self, *args: Any) -> None:
        pass

    def getpeername(self) -> Any:
        return self._peername

    def getsockname(self) -> Any:
        return self._sockname

    def fileno(self) -> int:
        return -1

    def shutdown(self, how: int) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


class _FlowControl:
    """What ``asyncio.StreamReader`` calls to pause and resume its transport."""

    def __init__(self) -> None:
        self.resumed = asyncio.Event()
        self.resumed.set()

    def pause_reading(self) -> None:
        self.resumed.clear()

    def resume_reading(self) -> None:
        self.resumed.set()


class _Connection:
    """One MLS connection driven by the event loop."""

    def __init__(self, conn: MLSSocket, mem: _MemorySocket, raw_reader: asyncio.StreamReader,
                 raw_writer: asyncio.StreamWriter, limit: int,
                 idle_timeout: Optional[float]) -> None:
        self.conn = conn
        self.mem = mem
        self.raw_reader = raw_reader
        self.raw_writer = raw_writer
        self.idle_timeout = idle_timeout
        self.flow = _FlowControl()
        self.reader = asyncio.StreamReader(limit=limit)
        self.reader.set_transport(self.flow)  # type: ignore[arg-type]
        self.pump: Optional[asyncio.Task] = None

    def flush(self) -> None:
        data = self.mem.take_output()
        if data and not self.raw_writer.is_closing():
            self.raw_writer.write(data)

    async def _fill(self, timeout: Optional[float]) -> None:
        try:
            data = await asyncio.wait_for(self.raw_reader.read(_READ_SIZE), timeout)
        except asyncio.TimeoutError:
            raise socket.timeout("timed out waiting for the peer") from None
        if data:
            self.mem.feed(data)
        else:
            self.mem.eof = True

    async def drive(self, steps: Iterator[Any], timeout: Optional[float] = None) -> Any:
        """Run a generator of the protocol code to its end, feeding it bytes."""
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                self.flush()
                return stop.value
            self.flush()
            if step == 1:
                await self.raw_writer.drain()
            else:
                await self._fill(timeout)

    async def handshake(self) -> None:
        try:
            await self.drive(self.conn._handshake_steps())
        except BaseException as exc:
            self.conn._handshake_failed(exc)
            raise
        self.conn._handshake_done()
        self.flush()

    def start(self) -> None:
        self.pump = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        """Read the peer's records as they arrive: data to the reader, epoch changes done."""
        try:
            while True:
                await self.flow.resumed.wait()
                data = await self.drive(self.conn._recv_steps(), self.idle_timeout)
                self.conn._check_epoch()
                if not data:
                    self.reader.feed_eof()
                    return
                self.reader.feed_data(data)
        except asyncio.CancelledError:
            self.reader.feed_eof()
            raise
        except Exception as exc:  # noqa: BLE001 - the application learns it from the reader
            (log if self.conn.server_side else client_log).warning(
                "connection with %s failed (%s): %s", peer_text(self.mem.getpeername()),
                self.conn.mode, describe_failure(exc))
            self.reader.set_exception(exc)
            self.flush()
            self.raw_writer.close()


def _of_connection(name: str) -> Any:
    return delegated("_conn", name)


class MLSStreamWriter:
    """``asyncio.StreamWriter``'s interface over an MLS connection, plus its MLS API."""

    def __init__(self, stream: _Connection) -> None:
        self._stream = stream
        self._conn = stream.conn
        self._closing = False

    # -- StreamWriter ------------------------------------------------------------------
    def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Queue ``data`` as application data (protected into records at once); call
        :meth:`drain` for flow control, as with ``asyncio.StreamWriter``."""
        if self._closing:
            raise ConnectionError("the writer is closed")
        self._conn.send(data)
        self._stream.flush()

    def writelines(self, lines: Any) -> None:
        """Write the concatenation of ``lines``."""
        self.write(b"".join(lines))

    def can_write_eof(self) -> bool:
        """False: half-closing would bypass close_notify; use :meth:`close`."""
        return False

    async def drain(self) -> None:
        """Wait until the TCP stream's write buffer is below its high-water mark."""
        await self._stream.raw_writer.drain()

    def is_closing(self) -> bool:
        """Whether :meth:`close` was called or the TCP stream is closing."""
        return self._closing or self._stream.raw_writer.is_closing()

    def close(self) -> None:
        """close_notify, then close the TCP stream."""
        if self._closing:
            return
        self._closing = True
        try:
            self._conn._close()
        except Exception:  # noqa: BLE001 - a broken connection still closes
            pass
        self._stream.flush()
        self._stream.raw_writer.close()
        if self._stream.pump is not None:
            self._stream.pump.cancel()

    async def wait_closed(self) -> None:
        """Wait until the TCP stream is closed."""
        try:
            await self._stream.raw_writer.wait_closed()
        except (ConnectionError, OSError):
            pass
        if self._stream.pump is not None:
            try:
                await self._stream.pump
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - reported by the reader
                pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The TCP transport's extra info, plus ``"mls_socket"``: the connection object
        with the MLS API underneath."""
        if name == "mls_socket":
            return self._conn
        return self._stream.raw_writer.get_extra_info(name, default)

    @property
    def transport(self) -> asyncio.BaseTransport:
        """The TCP stream's transport (its bytes are records, not application data)."""
        return self._stream.raw_writer.transport

    # -- MLS ---------------------------------------------------------------------------
    def update(self) -> None:
        """Start an epoch change; it completes as the peer's records arrive."""
        self._conn.update()
        self._stream.flush()

    def exporter(self, label: Union[bytes, str], context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (RFC 9420 section 8.5)."""
        return self._conn.exporter(label, context, length)

    @property
    def on_epoch_change(self) -> Any:
        """Called with the new epoch number whenever the connection's epoch changes, so
        that values derived with :meth:`exporter` can be renewed; ``None`` for none."""
        return self._conn.on_epoch_change

    @on_epoch_change.setter
    def on_epoch_change(self, callback: Any) -> None:
        self._conn.on_epoch_change = callback

    negotiated = _of_connection("negotiated")
    cipher_suite = _of_connection("cipher_suite")
    epoch = _of_connection("epoch")
    peer_identity = _of_connection("peer_identity")
    local_identity = _of_connection("local_identity")
    resumed = _of_connection("resumed")
    session = _of_connection("session")
    tls_cipher_suite = _of_connection("tls_cipher_suite")
    mode = _of_connection("mode")

    def __repr__(self) -> str:
        return f"<MLSStreamWriter {self._conn!r}>"


async def _wrap(context: Union[ClientContext, ServerContext], raw_reader: asyncio.StreamReader,
                raw_writer: asyncio.StreamWriter, server_hostname: Optional[str], session: Any,
                handshake_timeout: Optional[float], idle_timeout: Optional[float],
                limit: int) -> tuple[asyncio.StreamReader, MLSStreamWriter]:
    mem = _MemorySocket(raw_writer.get_extra_info("peername"),
                        raw_writer.get_extra_info("sockname"))
    conn = _make_socket(context, mem, server_hostname, session)  # type: ignore[arg-type]
    stream = _Connection(conn, mem, raw_reader, raw_writer, limit, idle_timeout)
    try:
        await asyncio.wait_for(stream.handshake(), handshake_timeout)
    except asyncio.TimeoutError:
        raw_writer.close()
        raise socket.timeout(f"handshake timeout ({handshake_timeout:g} s)") from None
    except BaseException:
        stream.flush()  # the alert, if one was made
        raw_writer.close()
        raise
    stream.start()
    return stream.reader, MLSStreamWriter(stream)


async def open_connection(host: Optional[str] = None, port: Optional[int] = None, *,
                          context: ClientContext, server_hostname: Optional[str] = None,
                          session: Any = None, limit: int = DEFAULT_LIMIT,
                          handshake_timeout: Optional[float] = 30.0,
                          idle_timeout: Optional[float] = None, **kwargs: Any
                          ) -> tuple[asyncio.StreamReader, MLSStreamWriter]:
    """Connect, run the handshake, return ``(reader, writer)``.

    :param server_hostname: the server's name (SNI; for MLS-TLS the name an x509
        credential must carry); default ``host``.
    :param session: ``writer.session`` of an earlier connection, to resume its group.
    :param handshake_timeout: seconds for the handshake; :param idle_timeout: seconds the
        reading task waits for the peer after it (``None``: for ever).
    :param kwargs: go to ``asyncio.open_connection`` (``sock=``, ``local_addr=``, ...).
    """
    if not isinstance(context, ClientContext):
        raise TypeError("open_connection needs a ClientContext")
    raw_reader, raw_writer = await asyncio.open_connection(host, port, **kwargs)
    name = server_hostname if server_hostname is not None else host
    return await _wrap(context, raw_reader, raw_writer, name, session, handshake_timeout,
                       idle_timeout, limit)


ConnectedCallback = Callable[[asyncio.StreamReader, MLSStreamWriter], Optional[Awaitable[None]]]


async def start_server(client_connected_cb: ConnectedCallback, host: Any = None,
                       port: Optional[int] = None, *, context: ServerContext,
                       limits: ServerLimits = ServerLimits(), limit: int = DEFAULT_LIMIT,
                       **kwargs: Any) -> asyncio.AbstractServer:
    """Serve: each accepted connection runs its handshake, then ``client_connected_cb``.

    ``limits`` are the servers' limits (:class:`~tlslite_mls.serving.ServerLimits`):
    handshake deadline, idle timeout of the reading task, connections at once (more
    are closed on accept). A failed connection is logged once at warning level on
    ``tlslite_mls.server`` and never reaches the callback.
    """
    if not isinstance(context, ServerContext):
        raise TypeError("start_server needs a ServerContext")
    limits = limits.validate()
    active = 0

    async def accepted(raw_reader: asyncio.StreamReader,
                       raw_writer: asyncio.StreamWriter) -> None:
        nonlocal active
        peer = peer_text(raw_writer.get_extra_info("peername"))
        if active >= limits.max_connections:
            log.warning("connection from %s refused (%s): %d connections open, the limit",
                        peer, context.mode, active)
            raw_writer.close()
            return
        active += 1
        try:
            try:
                reader, writer = await _wrap(context, raw_reader, raw_writer, None, None,
                                             limits.handshake_timeout, limits.idle_timeout,
                                             limit)
            except Exception as exc:  # noqa: BLE001 - one failed client must not stop the server
                log.warning("connection from %s failed (%s): %s", peer, context.mode,
                            describe_failure(exc))
                return
            result = client_connected_cb(reader, writer)
            if asyncio.iscoroutine(result):
                await result
        finally:
            active -= 1

    return await asyncio.start_server(accepted, host, port, **kwargs)

