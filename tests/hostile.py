"""Helpers of the hostile-peer tests: server processes of both modes, raw hellos, RSS."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from tlslite_mls.bench.echo_server import read_rss_kb
from tlslite_mls.bench.hostile import good_handshake
from tlslite_mls.probe.raw import record

PY = sys.executable
REPO = Path(__file__).resolve().parent.parent
DECODE_ERROR = 50
RECORD = 1 << 14


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


class Server:
    """``python -m tlslite_mls server [--mls-tls] ARGS 127.0.0.1:0``; its stderr lines."""

    def __init__(self, *args: str, mls_tls: bool = False) -> None:
        mode = ["--mls-tls"] if mls_tls else []
        self.proc = subprocess.Popen([PY, "-m", "tlslite_mls", "server", *mode, *args,
                                      "127.0.0.1:0"], env=env(), stderr=subprocess.PIPE,
                                     text=True, cwd=str(REPO))
        self.lines: list[str] = []
        self._queue: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._reader, daemon=True).start()
        first = self.line(60)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", first)
        assert m, first
        self.port = int(m.group(1))

    def _reader(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def line(self, timeout: float = 30) -> str:
        got = self._queue.get(timeout=timeout)
        if got is None:
            raise AssertionError(f"server exited with {self.proc.wait(5)}; "
                                 f"lines: {self.lines}")
        self.lines.append(got)
        return got

    def line_matching(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(0.1, deadline - time.monotonic()))
            if re.search(pattern, line):
                return line

    def rss_kib(self) -> int:
        return read_rss_kb(self.proc.pid)

    def connect(self, timeout: float = 10) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

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


def oversized_hello(mls_tls: bool) -> bytes:
    """The first record of a ClientHello that declares far more than 128 KiB."""
    if mls_tls:
        from tlslite_mls.codepoints import MLSTLSMessageType
        from tlslite_mls.twoparty.messages import DEFAULT_MLS_TLS_TYPES
        # TwoPartyMessage(mls10, client_hello, MLSMessage(mls10, key_package,
        # KeyPackage(mls10, suite 1, init_key<V> of 2^30-1 bytes ...)))
        head = (b"\x00\x01" + DEFAULT_MLS_TLS_TYPES[MLSTLSMessageType.CLIENT_HELLO]
                .to_bytes(2, "big") + b"\x00\x01\x00\x05" + b"\x00\x01\x00\x01"
                + b"\xbf\xff\xff\xff")
        return record(22, head + bytes(RECORD - len(head)))
    head = b"\x01\xff\xff\xff\x03\x03"  # ClientHello of 16 MiB - 1
    return record(22, head + bytes(RECORD - len(head)), b"\x03\x01")


def filler_records(n: int) -> bytes:
    return record(22, bytes(RECORD)) * n


def read_alert(sock: socket.socket, timeout: float = 10) -> Optional[int]:
    """The description of the plaintext alert the server answers with (None: none)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while len(data) < 7:
            chunk = sock.recv(7 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if len(data) == 7 and data[0] == 21:
        return data[6]
    return None


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True if the server ends the connection (EOF, reset, or an alert and EOF)."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except ConnectionError:
        return True
    except socket.timeout:
        return False


def good_client(port: int, mls_tls: bool, timeout: float = 30) -> float:
    """One full handshake and an echo; returns the seconds the handshake took."""
    return good_handshake(port, mls_tls, timeout)
