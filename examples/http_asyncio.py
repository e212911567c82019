"""HTTP/1.1 over MLS-keyed asyncio streams (tlslite_mls.aio), both modes.

Run: python examples/http_asyncio.py [extension|mls-tls] [clients]
A server answers GET / with the connection's epoch and exporter; concurrent clients
each send two requests on one connection, the second after an epoch change they start.
"""

from __future__ import annotations

import asyncio
import sys

from tlslite_mls import AcceptAnyCredential, ClientContext, ServerContext, aio

LABEL = b"example http"


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message: (head, body by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


async def handle(reader: asyncio.StreamReader, writer: aio.MLSStreamWriter) -> None:
    try:
        while True:
            head, _ = await read_message(reader)
            body = (f"epoch {writer.epoch} exporter "
                    f"{writer.exporter(LABEL, b'', 8).hex()}\n").encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass  # the client closed
    finally:
        writer.close()


async def client(port: int, ctx: ClientContext) -> bool:
    reader, writer = await aio.open_connection("127.0.0.1", port, context=ctx)
    ok = True
    for i in range(2):
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        head, body = await read_message(reader)
        mine = writer.exporter(LABEL, b"", 8).hex()
        ok = ok and head.startswith(b"HTTP/1.1 200") and body.decode().strip().endswith(mine)
        if i == 0:
            writer.update()  # an epoch change between the two requests
    ok = ok and writer.epoch == 3
    writer.close()
    await writer.wait_closed()
    return ok


async def main(mode: str = "extension", clients: int = 20) -> int:
    server = await aio.start_server(handle, "127.0.0.1", 0, context=ServerContext(mode=mode))
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = await asyncio.gather(*(client(port, ClientContext(
            mode=mode, auth_policy=AcceptAnyCredential())) for _ in range(int(clients))))
    ok = all(results)
    print(f"{len(results)} asyncio HTTP clients ({mode}): "
          f"{'asyncio http example OK' if ok else 'asyncio http example FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:])))
