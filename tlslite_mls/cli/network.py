"""Sockets for the commands: listen and serve, connect; failures as one-line errors."""

from __future__ import annotations

import socket
from typing import Any, Callable

from ..serving import ConnectionServer, Handler
from .errors import connect_error, listen_error

__all__ = ["listen", "serve", "connect"]


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, or a one-line error (port in use, no such address)."""
    try:
        return socket.create_server((host, port), backlog=128)
    except OSError as exc:
        raise listen_error(exc, host, port) from None


def serve(srv: socket.socket, handler: Handler, mode: str,
          limits: Any, count: int) -> int:
    """Serve ``count`` connections (0: until interrupted), then close the listener."""
    server = ConnectionServer(srv, handler, mode=mode, limits=limits)
    try:
        server.serve(count=count)
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
    return 0


def connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection, or the one-line reason (refused, unknown host, ...)."""
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise connect_error(exc, host, port) from None
