"""``server --workers N``: the extension-mode server in N processes on one address
(:class:`tlslite_mls.workers.WorkerPool`); each worker builds its own settings (and
so its own store connection) after the fork, with the ticket keys made before it."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
from typing import Any, Callable

from ..serving import ConnectionServer, Handler
from .errors import listen_error, runtime_error

__all__ = ["start_pool", "wait_pool"]


class _WorkerServer:
    """A worker's ConnectionServer with the interface WorkerPool expects."""

    def __init__(self, server: ConnectionServer) -> None:
        self.server = server
        self._stop = threading.Event()

    def serve_forever(self) -> None:
        self.server.serve(stop=self._stop)

    def shutdown(self) -> None:
        self._stop.set()
        self.server.listener.close()


def start_pool(args: argparse.Namespace,
               make_handler: Callable[[], Handler],
               mode: str, limits: Any, workers: int) -> Any:
    """Start the workers; ``make_handler`` runs in each of them."""
    from ..workers import WorkerPool

    def make_server(listener: socket.socket) -> _WorkerServer:
        # In the worker: its process id on its log lines.
        for h in logging.getLogger("tlslite_mls").handlers:
            if getattr(h, "_tlslite_mls_cli", False):
                h.setFormatter(logging.Formatter(f"server[{os.getpid()}]: %(message)s"))
        return _WorkerServer(ConnectionServer(listener, make_handler(), mode=mode,
                                              limits=limits))
    host, port = args.address
    try:
        pool = WorkerPool((host, port), make_server, workers=workers)
        pool.start()
    except OSError as exc:
        raise listen_error(exc, host, port) from None
    except RuntimeError as exc:
        runtime_error(str(exc))
    return pool


def wait_pool(pool: Any) -> int:
    """Until SIGTERM or Ctrl-C; then stop the workers."""
    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # the workers are stopped below
    signal.signal(signal.SIGTERM, terminate)
    try:
        pool.wait()
    except KeyboardInterrupt:
        pass
    finally:
        pool.stop()
    return 0
