"""Several server processes on one listening address: one core each.

A Python server handshakes on one core (the GIL); a machine with more cores serves
more handshakes with more processes. :class:`WorkerPool` forks ``workers`` processes
that all accept on one address:

* with ``SO_REUSEPORT`` (Linux, the BSDs) each worker listens on a socket of its own,
  bound to the same address, and the kernel spreads new connections over them;
* elsewhere the pool listens once and every worker accepts on that socket (a
  pre-forked accept loop).

Each worker builds its server after the fork (``make_server(listener)``), so it opens
its own connection to the state store: the workers must share a store that several
processes can use (SQLite on one machine, Redis for a fleet; docs/profile.md section 7),
and the same ticket keys (made before the fork, so every worker has them). Then a
ticket issued by one worker resumes its MLS group on another, and a KeyPackage one
worker consumed is refused by all.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
from typing import Any, Callable, Optional

__all__ = ["WorkerPool", "default_workers", "REUSEPORT"]

#: Whether this platform has ``SO_REUSEPORT`` (each worker then gets its own listening
#: socket and the kernel spreads connections over them).
REUSEPORT = hasattr(socket, "SO_REUSEPORT")


def default_workers() -> int:
    """The number of CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _listen(address: tuple[str, int], backlog: int, reuseport: bool,
            listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    if listen:
        sock.listen(backlog)
    return sock


def _worker(make_server: Callable[[socket.socket], Any], shared: socket.socket,
            reuseport: bool, backlog: int, ready: Any) -> None:
    if reuseport:
        listener = _listen(shared.getsockname()[:2], backlog, True)
        shared.close()
    else:
        listener = shared
    listener.settimeout(0.2)  # the accept loop polls its stop flag
    server = make_server(listener)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    ready.set()
    try:
        server.serve_forever()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.shutdown()


class WorkerPool:
    """``workers`` processes serving one address.

    :param make_server: called in each worker with its listening socket; returns an
        object with ``serve_forever()`` and ``shutdown()`` (an ``MLSServer`` made with
        ``listener=``, say). It must open the state store itself.
    :param workers: processes (default: the number of CPUs).
    :param reuseport: one socket per worker with ``SO_REUSEPORT`` (default: where
        the platform has it), else one shared listening socket.
    """

    def __init__(self, address: tuple[str, int], make_server: Callable[[socket.socket], Any],
                 workers: Optional[int] = None, reuseport: Optional[bool] = None,
                 backlog: int = 128) -> None:
        if workers is None:
            workers = default_workers()
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, not {workers!r}")
        if "fork" not in multiprocessing.get_all_start_methods():
            raise ValueError("worker processes need fork(), which this platform lacks")
        self.workers = workers
        self.reuseport = REUSEPORT if reuseport is None else reuseport
        if self.reuseport and not REUSEPORT:
            raise ValueError("SO_REUSEPORT is not available on this platform")
        # With SO_REUSEPORT this socket only holds the address (it never listens, so
        # the kernel gives it no connection); without, it is the one every worker uses.
        self._shared = _listen(address, backlog, self.reuseport, listen=not self.reuseport)
        self._make_server = make_server
        self._backlog = backlog
        self.processes: list[Any] = []

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` every worker serves."""
        return self._shared.getsockname()[:2]

    def start(self, timeout: float = 60.0) -> "WorkerPool":
        """Fork the workers; returns once every one of them accepts connections.

        :raises RuntimeError: a worker ended or did not get ready in ``timeout``.
        """
        ctx = multiprocessing.get_context("fork")
        events = []
        for _ in range(self.workers):
            ready = ctx.Event()
            p = ctx.Process(target=_worker, args=(self._make_server, self._shared,
                                                  self.reuseport, self._backlog, ready),
                            daemon=True)
            p.start()
            self.processes.append(p)
            events.append(ready)
        deadline = time.monotonic() + timeout
        for p, ready in zip(self.processes, events):
            while not ready.wait(0.1):
                if not p.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"worker process {p.pid} did not start "
                                       f"(exit code {p.exitcode})")
        return self

    def wait(self) -> None:
        """Until every worker has ended (or KeyboardInterrupt)."""
        for p in self.processes:
            p.join()

    def stop(self, wait: float = 10.0) -> None:
        """Stop the workers: SIGTERM (each shuts its server down), then, for one still
        running after ``wait`` seconds, SIGKILL; the listening socket is closed."""
        for p in self.processes:
            if p.is_alive():
                p.terminate()
        for p in self.processes:
            p.join(wait)
            if p.is_alive():
                p.kill()
                p.join(wait)
        self._shared.close()

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

