"""Helpers of the MLS-TLS tests: server processes, their log lines, raw records."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Optional

PY = sys.executable
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = "tlslite_mls.mlstls.cli"


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), e.get("PYTHONPATH", "")]
                                      ).rstrip(os.pathsep)
    return e


class ServerProcess:
    """``python -m tlslite_mls.mlstls.cli server`` in its own process; its stderr lines."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([PY, "-m", CLI, "server", *args, "127.0.0.1:0"],
                                     env=env(), stderr=subprocess.PIPE, text=True,
                                     cwd=str(REPO))
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        first = self.line(60)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", first)
        assert m, first
        self.port = int(m.group(1))

    def _reader(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def line(self, timeout: float = 30) -> str:
        got = self._lines.get(timeout=timeout)
        if got is None:
            raise AssertionError(f"server exited with {self.proc.wait(5)}")
        return got

    def line_matching(self, pattern: str, timeout: float = 30) -> str:
        while True:
            line = self.line(timeout)
            if re.search(pattern, line):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


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
