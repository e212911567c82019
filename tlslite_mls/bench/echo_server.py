"""An MLS echo server in its own process, and the client side of one connection,
for the load and memory benchmarks.

The server is what a deployment would run: one process, one thread per connection,
MLS required, echo until the client closes. It lives in a forked process so that its
resident memory (``/proc/<pid>/status``) and CPU time are its own, and it is steered
through a pipe (statistics, garbage collection, tracemalloc snapshots, stop). It also
stops by itself after ``max_seconds``, so a benchmark that dies cannot leave it behind.

The client side is one function per step (connect + handshake, one checked echo, an
epoch change carried by echo traffic), shared by both benchmarks so that they measure
the same exchange.
"""

from __future__ import annotations

import gc
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
    from ..cli import tls_settings
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
        self.accepted = 0
        self.handshakes = 0
        self.active = 0          # handshaken, not yet finished
        self.finished = 0        # connection threads done (ok or not)
        self.echo_messages = 0
        self.epoch_changes = 0
        self.errors = 0
        self.first_errors: list[str] = []

    def error(self, text: str) -> None:
        with self.lock:
            self.errors += 1
            if len(self.first_errors) < FIRST_ERRORS:
                self.first_errors.append(text)

    def snapshot(self) -> dict:
        with self.lock:
            return {k: (list(v) if isinstance(v, list) else v)
                    for k, v in vars(self).items() if k != "lock"}


class _Server:
    def __init__(self, listener: socket.socket, mls_key: bytes, store_url: Optional[str],
                 tickets: bool) -> None:
        from ..cli import throwaway_tls_identity
        from ..mls.credentials import Credential
        from ..tls import MLSServerSettings
        self.listener = listener
        self.store = None
        if store_url:
            from ..store import open_store
            self.store = open_store(store_url)
        self.mls = MLSServerSettings(mode="required", suites=[MLS_SUITE],
                                     credential=Credential.basic(SERVER_IDENTITY),
                                     signature_key=mls_key, store=self.store).validate()
        self.tls = throwaway_tls_identity()
        self.tls_settings = _tls_settings(tickets)
        self.stats = _Stats()
        self.stopping = threading.Event()
        self.threads: set[threading.Thread] = set()
        self.socks: set[socket.socket] = set()
        self.guard = threading.Lock()

    def accept_loop(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self.serve, args=(sock,), daemon=True)
            with self.guard:
                self.threads.add(t)
                self.socks.add(sock)
            with self.stats.lock:
                self.stats.accepted += 1
            t.start()

    def serve(self, sock: socket.socket) -> None:
        from ..tls import MLSTLSConnection
        st = self.stats
        handshaken = False
        conn = MLSTLSConnection(sock, mls_settings=self.mls)
        try:
            conn.handshakeServer(certChain=self.tls.chain, privateKey=self.tls.key,
                                 settings=self.tls_settings)
            if not conn.mls_negotiated:
                raise RuntimeError("MLS was not negotiated")
            handshaken = True
            with st.lock:
                st.handshakes += 1
                st.active += 1
            echoed = 0
            while True:
                data = conn.read()
                if not data:
                    break
                conn.write(data)
                echoed += 1
            with st.lock:
                st.echo_messages += echoed
                st.epoch_changes += conn.mls_epoch_changes
            conn.close()
        except Exception as exc:  # noqa: BLE001 - counted and reported, never fatal
            if not self.stopping.is_set():
                st.error(f"server: {type(exc).__name__}: {exc}")
        finally:
            sock.close()
            with st.lock:
                st.finished += 1
                if handshaken:
                    st.active -= 1
            with self.guard:
                self.threads.discard(threading.current_thread())
                self.socks.discard(sock)

    def info(self) -> dict:
        out = self.stats.snapshot()
        out["rss_kb"] = read_rss_kb(os.getpid())
        out["threads"] = threading.active_count()
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
        self.stopping.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.guard:
            socks, threads = list(self.socks), list(self.threads)
        for s in socks:  # wakes threads blocked in read()
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        end = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))


def _trace_diff(old: Any, new: Any, top: int) -> list[str]:
    """The ``top`` source lines whose live allocations grew most from ``old`` to ``new``."""
    lines = []
    for d in new.compare_to(old, "lineno")[:top]:
        frame = d.traceback[0]
        lines.append(f"{d.size_diff / 1024:+9.1f} KiB {d.count_diff:+7d} blocks  "
                     f"{frame.filename}:{frame.lineno}")
    return lines


def _server_main(listener: socket.socket, conn: Any, mls_key: bytes, store_url: Optional[str],
                 tickets: bool, trace: bool, max_seconds: float) -> None:
    if trace:
        import tracemalloc
        tracemalloc.start(1)
    server = _Server(listener, mls_key, store_url, tickets)
    acceptor = threading.Thread(target=server.accept_loop, daemon=True)
    acceptor.start()
    deadline = time.monotonic() + max_seconds
    snapshots: dict[str, Any] = {}
    conn.send({"ready": True, "pid": os.getpid()})
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
                 trace: bool = False, max_seconds: float = 600.0) -> None:
        from ..mls.crypto import get_cipher_suite
        mls_key, _ = get_cipher_suite(MLS_SUITE).generate_signature_key_pair()
        listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port: int = listener.getsockname()[1]
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_server_main, daemon=True,
                                   args=(listener, child, mls_key, store_url, tickets, trace,
                                         max_seconds))
        self.process.start()
        listener.close()
        child.close()
        if not self._conn.poll(60):
            self.kill()
            raise RuntimeError("the echo server did not start within 60 s")
        self.pid: int = self._conn.recv()["pid"]

    def call(self, cmd: str, arg: Any = None, timeout: float = 60.0) -> dict:
        self._conn.send((cmd, arg))
        if not self._conn.poll(timeout):
            raise RuntimeError(f"the echo server did not answer {cmd!r} within {timeout} s")
        return self._conn.recv()

    def rss_kb(self) -> int:
        return read_rss_kb(self.pid)

    def wait_finished(self, count: int, timeout: float = 30.0) -> dict:
        """Wait until ``count`` connection threads are done; their latest statistics."""
        end = time.monotonic() + timeout
        while True:
            info = self.call("info")
            if info["finished"] >= count or time.monotonic() > end:
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
