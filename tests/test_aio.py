"""asyncio streams over both modes: many connections in one loop, epoch changes while
streaming, limits."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from tlslite_mls import AcceptAnyCredential, ClientContext, ServerContext, aio
from tlslite_mls.serving import ServerLimits

LABEL = b"aio test"
CONNECTIONS = 200
MESSAGES = 6


FINISHED: list = []


async def echo_with_updates(reader, writer):
    """Echo; the server starts an epoch change after the second message; ``X`` asks for
    the server's epoch and exporter."""
    count = 0
    while True:
        data = await reader.read(1 << 14)
        if not data:
            break
        if data == b"X":
            writer.write(b"%d:" % writer.epoch + writer.exporter(LABEL, b"", 16).hex().encode())
            continue
        writer.write(data)
        count += 1
        if count == 2:
            writer.update()
    writer.close()
    await writer.wait_closed()
    FINISHED.append(writer.epoch)


async def one_client(port: int, ctx: ClientContext, i: int) -> dict:
    changes: list = []
    reader, writer = await aio.open_connection("127.0.0.1", port, context=ctx,
                                               handshake_timeout=300)
    writer.on_epoch_change = lambda conn, epoch: changes.append(epoch)
    assert writer.negotiated and writer.epoch == 1
    for n in range(MESSAGES):
        msg = b"connection %d message %d " % (i, n) + bytes(200 * n)
        writer.write(msg)
        got = b""
        while len(got) < len(msg):
            got += await asyncio.wait_for(reader.read(1 << 16), 300)
        assert got == msg
        if n == 3:
            writer.update()
    writer.write(b"X")
    epoch, export = (await asyncio.wait_for(reader.read(100), 300)).split(b":")
    result = {"epoch": writer.epoch, "server_epoch": int(epoch), "changes": changes,
              "same_exporter": writer.exporter(LABEL, b"", 16).hex().encode() == export}
    writer.close()
    await writer.wait_closed()
    return result


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_200_concurrent_connections_with_epoch_changes_while_streaming(mode):
    server_ctx = ServerContext(mode=mode)
    client_ctx = ClientContext(mode=mode, auth_policy=AcceptAnyCredential())
    threads_before = threading.active_count()
    FINISHED.clear()

    async def main():
        server = await aio.start_server(echo_with_updates, "127.0.0.1", 0, context=server_ctx,
                                        limits=ServerLimits(handshake_timeout=300),
                                        backlog=CONNECTIONS)
        port = server.sockets[0].getsockname()[1]
        async with server:
            results = await asyncio.gather(*(one_client(port, client_ctx, i)
                                             for i in range(CONNECTIONS)))
            assert threading.active_count() == threads_before  # no thread per connection
            for _ in range(600):
                if len(FINISHED) == CONNECTIONS:
                    break
                await asyncio.sleep(0.1)
        assert FINISHED == [4] * CONNECTIONS  # every server side saw the end cleanly
        return results

    results = asyncio.run(main())
    assert len(results) == CONNECTIONS
    for r in results:
        # client's first update (2), the server's (3), the client's own (4)
        assert r["changes"] == [2, 3, 4] and r["epoch"] == r["server_epoch"] == 4
        assert r["same_exporter"]


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_a_silent_client_meets_the_handshake_deadline_and_is_logged(mode, caplog):
    async def main():
        server = await aio.start_server(lambda r, w: None, "127.0.0.1", 0,
                                        context=ServerContext(mode=mode),
                                        limits=ServerLimits(handshake_timeout=0.5))
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), 30) == b""  # closed by the server
            writer.close()

    with caplog.at_level(logging.WARNING, logger="tlslite_mls.server"):
        asyncio.run(main())
    assert any("handshake timeout (0.5 s)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_asyncio_client_against_a_blocking_context_server(mode):
    import socket
    from test_context import Served
    server_ctx = ServerContext(mode=mode)

    def handler(sock):
        conn = server_ctx.wrap_socket(sock)
        conn.sendall(conn.recv(100))
        conn.sendall(conn.recv(100))
        out = conn.epoch, conn.exporter(LABEL, b"", 32)
        conn.close()
        return out

    served = Served(handler)

    async def main():
        reader, writer = await aio.open_connection(
            *served.address, context=ClientContext(mode=mode, auth_policy=AcceptAnyCredential()))
        for msg in (b"one", b"two"):
            writer.write(msg)
            assert await reader.read(100) == msg
        assert await reader.read(100) == b""  # the server's close_notify
        out = writer.epoch, writer.exporter(LABEL, b"", 32)
        writer.close()
        await writer.wait_closed()
        return out

    assert asyncio.run(main()) == served.join()
    assert socket  # the blocking side used real sockets


def test_open_connection_and_start_server_refuse_the_wrong_context():
    async def main():
        with pytest.raises(TypeError, match="ClientContext"):
            await aio.open_connection("127.0.0.1", 1, context=ServerContext())
        with pytest.raises(TypeError, match="ServerContext"):
            await aio.start_server(lambda r, w: None, context=ClientContext(mls="off"))
    asyncio.run(main())


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_bulk_stream_with_updates_from_both_sides_keeps_every_byte(mode):
    """The writer keeps writing while both sides start epoch changes; the reading task
    completes them between records; every byte arrives once and in order."""
    chunks = [bytes([i % 251]) * 4000 for i in range(300)]
    total = sum(map(len, chunks))

    async def sink(reader, writer):
        got = bytearray()
        started = 0
        while len(got) < total:
            data = await reader.read(1 << 16)
            if not data:
                break
            got += data
            if len(got) > (started + 1) * total // 4 and started < 3:
                try:
                    writer.update()
                    started += 1
                except Exception:  # noqa: BLE001 - one still in flight: try later
                    pass
        writer.write(b"%d %d" % (len(got), hash(bytes(got)) & 0xFFFFFFFF))
        await writer.drain()
        await reader.read()  # until the client closes
        writer.close()

    async def main():
        server = await aio.start_server(sink, "127.0.0.1", 0, context=ServerContext(mode=mode))
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection(
                "127.0.0.1", port,
                context=ClientContext(mode=mode, auth_policy=AcceptAnyCredential()))
            changes: list = []
            writer.on_epoch_change = lambda c, e: changes.append(e)
            for i, chunk in enumerate(chunks):
                writer.write(chunk)
                if i % 60 == 30:
                    try:
                        writer.update()
                    except Exception:  # noqa: BLE001 - one in flight already
                        pass
                await writer.drain()
                await asyncio.sleep(0)
            reply = await asyncio.wait_for(reader.read(100), 120)
            writer.close()
            await writer.wait_closed()
            return reply, changes

    reply, changes = asyncio.run(main())
    expected = b"".join(chunks)
    assert reply == b"%d %d" % (total, hash(expected) & 0xFFFFFFFF)
    assert len(changes) >= 3 and changes == sorted(changes)


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_resumption_over_asyncio(mode):
    from tlslite_mls.store import open_store
    server_ctx = ServerContext(mode=mode, store=open_store("memory:"),
                               **({"tickets": True} if mode == "extension" else {}))
    client_ctx = ClientContext(mode=mode, auth_policy=AcceptAnyCredential(),
                               store=open_store("memory:"))

    async def echo(reader, writer):
        while data := await reader.read(100):
            writer.write(b"%d %s" % (writer.resumed, data))
        writer.close()

    async def exchange(port, session=None):
        reader, writer = await aio.open_connection("127.0.0.1", port, context=client_ctx,
                                                   session=session)
        writer.write(b"hi")
        reply = await asyncio.wait_for(reader.read(100), 60)
        out = reply, writer.resumed, writer.epoch, writer.session
        writer.close()
        await writer.wait_closed()
        return out

    async def main():
        server = await aio.start_server(echo, "127.0.0.1", 0, context=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            first = await exchange(port)
            second = await exchange(port, first[3])
        return first, second

    (reply1, resumed1, epoch1, _), (reply2, resumed2, epoch2, _) = asyncio.run(main())
    assert reply1 == b"0 hi" and not resumed1
    assert reply2 == b"1 hi" and resumed2 and epoch2 == epoch1 + 2
