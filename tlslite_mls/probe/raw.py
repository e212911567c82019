"""Raw TLS records on a socket, for inputs no well-behaved connection would send."""

from __future__ import annotations

import socket


def record(ctype: int, body: bytes, version: bytes = b"\x03\x03") -> bytes:
    return bytes([ctype]) + version + len(body).to_bytes(2, "big") + body


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def read_plain_alert(sock: socket.socket) -> tuple[int, int]:
    """(level, description) of the plaintext alert record that comes back; ValueError
    saying what came instead."""
    header = recv_exactly(sock, 5)
    if len(header) < 5:
        raise ValueError("the connection closed without an alert" if not header
                         else f"a truncated record header {header!r}")
    if header[0] != 21 or header[1:3] != b"\x03\x03":
        raise ValueError(f"no plaintext alert record: header {header.hex()}")
    body = recv_exactly(sock, int.from_bytes(header[3:5], "big"))
    if len(body) != 2:
        raise ValueError(f"an alert record of {len(body)} bytes")
    return body[0], body[1]


class RecordingSocket:
    """A socket that keeps every byte it receives, to look at the peer's records."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = bytearray()

    def recv(self, n: int, *args: int) -> bytes:
        data = self._sock.recv(n, *args)
        self.received += data
        return data

    def recv_into(self, buf, n: int = 0, *args: int) -> int:  # type: ignore[no-untyped-def]
        got = self._sock.recv_into(buf, n, *args)
        self.received += bytes(memoryview(buf)[:got])
        return got

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._sock, name)


def records(data: bytes) -> list[tuple[int, bytes]]:
    """(content type, body) of each complete record in ``data``."""
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        out.append((data[i], bytes(data[i + 5:i + 5 + n])))
        i += 5 + n
    return out
