"""Helpers of the MLS-TLS tests: server processes, their log lines, raw records."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from hostile import Server

PY = sys.executable
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = "tlslite_mls.mlstls.cli"


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), e.get("PYTHONPATH", "")]
                                      ).rstrip(os.pathsep)
    return e


class ServerProcess(Server):
    """``python -m tlslite_mls server --mls-tls`` in its own process; its stderr lines."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, mls_tls=True)


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
    """(level, description) of the plaintext alert record the server answers with."""
    header = recv_exactly(sock, 5)
    assert len(header) == 5 and header[0] == 21, f"no alert record: {header!r}"
    assert header[1:3] == b"\x03\x03", header
    body = recv_exactly(sock, int.from_bytes(header[3:5], "big"))
    assert len(body) == 2, body
    return body[0], body[1]
