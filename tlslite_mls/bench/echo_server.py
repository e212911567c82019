"""An MLS echo server in its own process, and the client side of one connection,
for the load and memory benchmarks.

The server is what a deployment would run: the package's ``tls.server.MLSServer`` (one
thread per connection), MLS required, echoing until the client closes. It lives in a
forked process so that its resident memory (``/proc/<pid>/status``) and CPU time are
its own, and it is steered through a pipe (statistics, garbage collection, tracemalloc
snapshots, stop). It also stops by itself after ``max_seconds``, so a benchmark that
dies cannot leave it behind.

The client side is one function per step (connect + handshake, one checked echo, an
epoch change carried by echo traffic), shared by both benchmarks so that they measure
the same exchange.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import random
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Optional

SERVER_IDENTITY = b"bench-server"
MLS_SUITE = 0x0001
FIRST_ERRORS = 10  # error messages kept verbatim; the rest are only counted


def read_rss_kb(pid: int) -> int:
    """VmRSS of a process in kB, from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _tls_settings(tickets: bool) -> Any:
    from ..cli.server import tls_settings
    s = tls_settings()
    if tickets:
        s.ticketKeys = [os.urandom(32)]
    return s


# ----------------------------------------------------------------------------
# server process
# ----------------------------------------------------------------------------
class _Stats:
    """Counters of the server process, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handshakes = 0
        self.active = 0          # in the handler (handshake done, not yet closed)
        self.echo_messages = 0
        self.epoch_changes = 0   # completed in both directions, summed at each close
        self.first_errors: list[str] = []  # the count is MLSServer.errors

    def note(self, text: str) -> None:
        with self.lock:
            if len(self.first_errors) < FIRST_ERRORS:
                self.first_errors.append(text)

    def snapshot(self) -> dict:
        with self.lock:
            return {k: (list(v) if isinstance(v, list) else v)
                    for k, v in vars(self).items() if k != "lock"}


class _ErrorLog(logging.Handler):
    """Keeps the reasons ``MLSServer`` logs for connections that failed."""

    def __init__(self, stats: _Stats) -> None:
        super().__init__(logging.DEBUG)
        self.stats = stats

    def emit(self, record: logging.LogRecord) -> None:
        self.stats.note(f"server: {record.getMessage()}")


class _Server:
    """``tls.server.MLSServer`` (the server the package ships) with a counting echo handler."""

    def __init__(self, mls_key: bytes, store_url: Optional[str], tickets: bool,
                 port: int = 0, reuseport: bool = False) -> None:
        from ..tls.certificates import throwaway_tls_identity
        from ..mls.credentials import Credential
        from ..tls import MLSServerSettings
        from ..tls import server as tls_server
        self.store = None
        if store_url:
            from ..store import open_store
            self.store = open_store(store_url)
        mls = MLSServerSettings(mode="required", suites=[MLS_SUITE],
                                credential=Credential.basic(SERVER_IDENTITY),
                                signature_key=mls_key, store=self.store).validate()
        tls = throwaway_tls_identity()
        self.stats = _Stats()
        logger = logging.getLogger(tls_server.__name__)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(_ErrorLog(self.stats))
        listener = None
        if reuseport:  # one of several worker processes on one port
            from ..workers import _listen
            listener = _listen(("127.0.0.1", port), 512, True)
        self.server = tls_server.MLSServer(("127.0.0.1", port), tls.chain, tls.key, mls,
                                           settings=_tls_settings(tickets),
                                           handler=self.handle, backlog=512,
                                           listener=listener)
        self.port: int = self.server.address[1]
        self.base_threads = threading.active_count()

    def start(self) -> None:
        self.server.start()
        self.base_threads += 1  # the acceptor

    def handle(self, conn: Any) -> None:
        st = self.stats
        with st.lock:
            st.handshakes += 1
            st.active += 1
        echoed = 0
        try:
            if not conn.mls_negotiated:
                raise RuntimeError("MLS was not negotiated")
            while True:
                data = conn.read()
                if not data:
                    break
                conn.write(data)
                echoed += 1
        finally:
            with st.lock:
                st.active -= 1
                st.echo_messages += echoed
                st.epoch_changes += conn.mls_epoch_changes

    def info(self) -> dict:
        out = self.stats.snapshot()
        out["errors"] = self.server.errors
        out["connection_threads"] = threading.active_count() - self.base_threads
        out["threads"] = threading.active_count()
        out["rss_kb"] = read_rss_kb(os.getpid())
        out["cpu_s"] = time.process_time()
        store = self.store
        if store is None:
            from ..twoparty.config import default_store
            store = default_store()
        try:
            out["store_entries"] = len(store)
        except TypeError:
            out["store_entries"] = None
        return out

    def stop(self, timeout: float) -> None:
        self.server.shutdown(wait=timeout)


def _trace_diff(old: Any, new: Any, top: int) -> list[str]:
    """The ``top`` source lines whose live allocations grew most from ``old`` to ``new``."""
    lines = []
    for d in new.compare_to(old, "lineno")[:top]:
        frame = d.traceback[0]
        lines.append(f"{d.size_diff / 1024:+9.1f} KiB {d.count_diff:+7d} blocks  "
                     f"{frame.filename}:{frame.lineno}")
    return lines


def _server_main(conn: Any, mls_key: bytes, store_url: Optional[str], tickets: bool,
                 trace: bool, max_seconds: float, port: int = 0,
                 reuseport: bool = False) -> None:
    if trace:
        import tracemalloc
        tracemalloc.start(1)
    server = _Server(mls_key, store_url, tickets, port, reuseport)
    server.start()
    deadline = time.monotonic() + max_seconds
    snapshots: dict[str, Any] = {}
    conn.send({"ready": True, "pid": os.getpid(), "port": server.port})
    try:
        while time.monotonic() < deadline:
            if not conn.poll(0.2):
                continue
            cmd, arg = conn.recv()
            if cmd == "info":
                conn.send(server.info())
            elif cmd == "gc":
                gc.collect()
                conn.send({"ok": True})
            elif cmd == "snapshot" and trace:
                import tracemalloc
                gc.collect()
                snapshots[arg] = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__)])
                conn.send({"ok": True})
            elif cmd == "diff" and trace:
                old, new, top = arg
                conn.send({"diff": _trace_diff(snapshots[old], snapshots[new], top)})
            elif cmd == "stop":
                server.stop(timeout=float(arg))
                conn.send(server.info())
                return
            else:
                conn.send({"error": f"unknown command {cmd!r}"})
        print("bench echo server: time limit reached, stopping", file=sys.stderr)
        server.stop(timeout=2.0)
    except (EOFError, BrokenPipeError):  # the benchmark process is gone
        server.stop(timeout=2.0)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        server.stop(timeout=2.0)


class ServerProcess:
    """Handle of the forked echo server: its port, its pid, and its control pipe."""

    def __init__(self, store_url: Optional[str] = None, tickets: bool = False,
                 trace: bool = False, max_seconds: float = 600.0, port: int = 0,
                 reuseport: bool = False, mls_key: Optional[bytes] = None) -> None:
        from ..mls.crypto import get_cipher_suite
        if mls_key is None:
            mls_key, _ = get_cipher_suite(MLS_SUITE).generate_signature_key_pair()
        self.mls_key = mls_key
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_server_main, daemon=True,
                                   args=(child, mls_key, store_url, tickets, trace,
                                         max_seconds, port, reuseport))
        self.process.start()
        child.close()
        if not self._conn.poll(60):
            self.kill()
            raise RuntimeError("the echo server did not start within 60 s")
        hello = self._conn.recv()
        self.pid: int = hello["pid"]
        self.port: int = hello["port"]

    def call(self, cmd: str, arg: Any = None, timeout: float = 60.0) -> dict:
        self._conn.send((cmd, arg))
        if not self._conn.poll(timeout):
            raise RuntimeError(f"the echo server did not answer {cmd!r} within {timeout} s")
        return self._conn.recv()

    def rss_kb(self) -> int:
        return read_rss_kb(self.pid)

    def wait_idle(self, timeout: float = 30.0) -> dict:
        """Wait until no connection thread is left; the latest statistics."""
        end = time.monotonic() + timeout
        while True:
            info = self.call("info")
            if info["connection_threads"] <= 0 or time.monotonic() > end:
                return info
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> dict:
        """Final statistics (``{}`` if the server could not answer any more)."""
        try:
            info = self.call("stop", timeout, timeout=timeout + 10)
        except (OSError, EOFError, RuntimeError):
            info = {}
        self.process.join(5)
        self.kill()
        return info

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


class ServerWorkers:
    """``workers`` echo server processes on one port (``SO_REUSEPORT``), one identity,
    one store; ``call("info")`` and ``stop()`` sum their statistics."""

    _SUMMED = ("handshakes", "active", "echo_messages", "epoch_changes", "errors",
               "connection_threads", "rss_kb", "cpu_s")

    def __init__(self, workers: int, store_url: Optional[str], max_seconds: float) -> None:
        from ..workers import REUSEPORT
        if not REUSEPORT:
            raise RuntimeError("bench load --workers needs SO_REUSEPORT")
        first = ServerProcess(store_url, max_seconds=max_seconds, reuseport=True)
        self.processes = [first] + [
            ServerProcess(store_url, max_seconds=max_seconds, port=first.port,
                          reuseport=True, mls_key=first.mls_key) for _ in range(workers - 1)]
        self.port = first.port

    def _sum(self, infos: list[dict]) -> dict:
        if not all(infos):
            return {}
        out: dict = {k: sum(i.get(k) or 0 for i in infos) for k in self._SUMMED}
        out["first_errors"] = [e for i in infos for e in i.get("first_errors", [])]
        return out

    def call(self, cmd: str, arg: Any = None, timeout: float = 60.0) -> dict:
        return self._sum([p.call(cmd, arg, timeout) for p in self.processes])

    def stop(self, timeout: float = 10.0) -> dict:
        return self._sum([p.stop(timeout) for p in self.processes])


# ----------------------------------------------------------------------------
# client side of one connection
# ----------------------------------------------------------------------------
class EchoMismatch(RuntimeError):
    """The server sent back something else than what was written."""


@dataclass
class ClientSide:
    """One client's settings; build once per thread or process and reuse."""

    settings: Any
    tls_settings: Any

    @classmethod
    def make(cls) -> "ClientSide":
        from ..tls import MLSClientSettings
        return cls(MLSClientSettings(mode="required", suites=[MLS_SUITE],
                                     expected_identity=SERVER_IDENTITY),
                   _tls_settings(False))

    def connect(self, port: int, timeout: float = 30.0) -> tuple[Any, socket.socket]:
        """TCP connect and MLS handshake; the client's first epoch change is then in flight."""
        from ..tls import MLSTLSConnection
        from ..tls.post_handshake import UpdatePolicy
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = MLSTLSConnection(sock, mls_settings=self.settings)
            # This client never resumes: keeping its groups would only fill its own store.
            conn.mls_update_policy = UpdatePolicy(resumable=False)
            conn.handshakeClientCert(settings=self.tls_settings)
            if not conn.mls_negotiated:
                raise RuntimeError("MLS was not negotiated")
        except BaseException:
            sock.close()
            raise
        return conn, sock


def echo(conn: Any, rng: random.Random, max_size: int = 2048) -> int:
    """Write a random message, read it back whole and compare; its size."""
    data = rng.randbytes(rng.randint(1, max_size))
    conn.write(data)
    got = bytearray()
    while len(got) < len(data):
        part = conn.read(max=len(data) - len(got))
        if not part:
            raise EchoMismatch(f"connection closed after {len(got)} of {len(data)} bytes")
        got += part
    if got != data:
        raise EchoMismatch(f"echo of {len(data)} bytes came back different")
    return len(data)


def settle(conn: Any, rng: random.Random, limit: int = 20) -> int:
    """Echo until no epoch change is in flight (at most ``limit`` messages); messages sent.

    The epoch switch happens inside ``read()``, so traffic is what completes a change.
    """
    n = 0
    while conn.mls_update_in_flight:
        if n >= limit:
            raise RuntimeError(f"epoch change still in flight after {limit} echo messages")
        echo(conn, rng)
        n += 1
    return n
