"""``python -m tlslite_mls bench hostile``: a good client's handshakes while the server
is under hostile load, against the same with no hostile traffic.

The server is ``python -m tlslite_mls server`` (extension mode, MLS preferred; with
``--mls-tls`` the MLS-TLS server) in its own process with its default limits
(handshake deadline 10 s, idle timeout 300 s, at most 1,000 connections). Each phase
starts a fresh server. Hostile traffic: ``--half-open`` connections that never send a
byte, each reopened as soon as the server drops it (so that many stay open all the
time), and a stream of ``--malformed`` ClientHellos on new connections from two
threads (declared lengths of 16 MiB, garbage, truncated hellos). While it runs, a good
client makes at least ``--handshakes`` handshakes one after another (each a new connection,
timed from connect to the end of the handshake, then one echo), and goes on until
the malformed stream has ended and ``--seconds`` have passed. Figures: handshake
latency p50/p99, the server's RSS (peak of samples every 0.1 s), and what the hostile
side saw (malformed hellos answered, half-open connections dropped by the server).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Optional, Sequence

from ..probe.raw import record
from .echo_server import read_rss_kb as rss_kib

RECORD = 1 << 14


def malformed_hellos(mls_tls: bool) -> list[bytes]:
    """First flights a server must refuse, of several kinds."""
    if mls_tls:
        oversized = b"\x00\x01\x00\x01\x00\x01\x00\x05\x00\x01\x00\x01\xbf\xff\xff\xff"
    else:
        oversized = b"\x01\xff\xff\xff\x03\x03"
    return [
        record(22, oversized + bytes(RECORD - len(oversized)), b"\x03\x01"),
        record(22, b"\x01\x00\x00\x30" + os.urandom(48), b"\x03\x01"),   # garbage body
        record(22, b"\x01\x00\x01\x00" + bytes(40), b"\x03\x01") + b"",  # truncated, then EOF
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]


class _Server:
    def __init__(self, mls_tls: bool) -> None:
        cmd = [sys.executable, "-m", "tlslite_mls", "server", "127.0.0.1:0"]
        if mls_tls:
            cmd.insert(4, "--mls-tls")
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError(f"server did not start: {line}")
        self.port = int(m.group(1))
        self.log_lines = 0
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for _ in self.proc.stderr:
            self.log_lines += 1

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class _HalfOpen(threading.Thread):
    """Keeps ``n`` connections open that never send; reopens those the server drops."""

    def __init__(self, port: int, n: int) -> None:
        super().__init__(daemon=True)
        self.port, self.n = port, n
        self.stop = threading.Event()
        self.dropped = 0
        self.open = 0

    def _connect(self, sel: selectors.BaseSelector) -> None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError:
            return
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        self.open += 1

    def run(self) -> None:
        sel = selectors.DefaultSelector()
        while not self.stop.is_set():
            while self.open < self.n and not self.stop.is_set():
                self._connect(sel)
            for key, _ in sel.select(0.1):
                s = key.fileobj
                try:
                    data = s.recv(4096)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    s.close()  # type: ignore[union-attr]
                    self.open -= 1
                    self.dropped += 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]


def _malformed_stream(port: int, hellos: list[bytes], count: int, answered: list) -> None:
    for i in range(count):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
                try:
                    s.sendall(hellos[i % len(hellos)])
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                got = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                if got[:1] == b"\x15":
                    answered.append(got[6] if len(got) >= 7 else None)
        except OSError:
            pass


def good_handshake(port: int, mls_tls: bool, timeout: float = 60) -> float:
    """One full handshake and an echo against 127.0.0.1:``port``, the good client the
    hostile traffic must not starve; returns the seconds the handshake took."""
    from ..mls.auth import AcceptAnyCredential
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if mls_tls:
            from ..mlstls import MLSTLSClient, MLSTLSClientSettings
            conn = MLSTLSClient(sock, MLSTLSClientSettings(auth_policy=AcceptAnyCredential(),
                                                           initial_update=False))
            conn.handshake()
        else:
            from ..cli.server import tls_settings
            from ..tls import MLSClientSettings, MLSTLSConnection
            from ..tls.post_handshake import UpdatePolicy
            conn = MLSTLSConnection(sock, mls_settings=MLSClientSettings(
                auth_policy=AcceptAnyCredential()))
            conn.mls_update_policy = UpdatePolicy(initial_update=False)
            conn.handshakeClientCert(settings=tls_settings())
            if not conn.mls_negotiated:
                raise RuntimeError("MLS not negotiated")
        took = time.perf_counter() - start
        conn.write(b"ping")
        echoed = bytes(conn.read())
        if echoed != b"ping":
            raise RuntimeError(f"echo came back as {echoed!r}")
        conn.close()
        return took
    finally:
        sock.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def phase(mls_tls: bool, handshakes: int, half_open: int, malformed: int,
          seconds: float = 0.0) -> dict:
    """One server, optional hostile traffic, ``handshakes`` timed good handshakes."""
    server = _Server(mls_tls)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak[0] = max(peak[0], rss_kib(server.proc.pid))
            except (OSError, RuntimeError):
                return
            time.sleep(0.1)

    holder: Optional[_HalfOpen] = None
    streams: list[threading.Thread] = []
    answered: list = []
    try:
        good_handshake(server.port, mls_tls)  # warm-up: imports, first keys
        rss_start = rss_kib(server.proc.pid)
        threading.Thread(target=sample, daemon=True).start()
        start = time.monotonic()
        if half_open:
            holder = _HalfOpen(server.port, half_open)
            holder.start()
            while holder.open < half_open and time.monotonic() - start < 30:
                time.sleep(0.05)
        if malformed:
            hellos = malformed_hellos(mls_tls)
            for share in (malformed // 2, malformed - malformed // 2):
                t = threading.Thread(target=_malformed_stream,
                                     args=(server.port, hellos, share, answered), daemon=True)
                t.start()
                streams.append(t)
        times = []  # at least ``handshakes`` in ``seconds``, and while the stream runs
        while len(times) < handshakes or any(t.is_alive() for t in streams) or \
                time.monotonic() - start < seconds:
            times.append(good_handshake(server.port, mls_tls))
        for t in streams:
            t.join(300)
        elapsed = time.monotonic() - start
        rss_end = rss_kib(server.proc.pid)
    finally:
        done.set()
        if holder is not None:
            holder.stop.set()
            holder.join(10)
        server.stop()
    return {
        "handshakes": len(times),
        "handshake_ms_p50": round(statistics.median(times) * 1000, 1),
        "handshake_ms_p99": round(_percentile(times, 0.99) * 1000, 1),
        "server_rss_mib_start": round(rss_start / 1024, 1),
        "server_rss_mib_peak": round(max(peak[0], rss_end) / 1024, 1),
        "server_rss_mib_end": round(rss_end / 1024, 1),
        "half_open_held": half_open,
        "half_open_dropped_by_server": holder.dropped if holder else 0,
        "malformed_sent": malformed,
        "malformed_answered_with_alert": len(answered),
        "seconds": round(elapsed, 1),
        "server_log_lines": server.log_lines,
    }


def run(mls_tls: bool = False, handshakes: int = 50, half_open: int = 300,
        malformed: int = 1000, seconds: float = 15.0) -> dict:
    quiet = phase(mls_tls, handshakes, 0, 0, seconds)
    hostile = phase(mls_tls, handshakes, half_open, malformed, seconds)
    return {"mode": "mls-tls" if mls_tls else "extension (MLS preferred)",
            "quiet": quiet, "hostile": hostile}


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench hostile",
                                description="A good client's handshake latency and the "
                                            "server's RSS under hostile load, against none.")
    p.add_argument("--handshakes", type=int, default=50, help="good handshakes per phase")
    p.add_argument("--half-open", type=int, default=300, help="half-open connections held")
    p.add_argument("--malformed", type=int, default=1000, help="malformed ClientHellos sent")
    p.add_argument("--seconds", type=float, default=15.0,
                   help="least time of each phase (default 15: longer than the server's "
                        "10 s handshake deadline, so half-open connections get dropped)")
    p.add_argument("--mls-tls", action="store_true", help="the MLS-TLS server instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv) if argv is not None else None)
    if args.handshakes < 1 or args.half_open < 0 or args.malformed < 0:
        p.error("--handshakes must be at least 1, the others at least 0")
    result = run(args.mls_tls, args.handshakes, args.half_open, args.malformed, args.seconds)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"mode: {result['mode']}")
    print(f"{'':34}{'no hostile traffic':>20}{'under hostile load':>20}")
    for key in result["quiet"]:
        print(f"{key:34}{result['quiet'][key]!s:>20}{result['hostile'][key]!s:>20}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
