"""One-line errors for the command line: what went wrong, then what to do.

Exit code 2 for a mistake in the options or in a file they name (usage), 1 for a
failure at run time (network, peer). Commands raise :class:`CLIError` (or call
:func:`usage_error`); :func:`explain` turns the exceptions the network and the
protocol raise into the same kind of line, so no traceback reaches the user.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import NoReturn, Optional

__all__ = ["CLIError", "USAGE", "RUNTIME", "usage_error", "runtime_error", "explain",
           "report"]

USAGE = 2
RUNTIME = 1


class CLIError(Exception):
    """A failure the command line reports in one line (``message; hint``)."""

    def __init__(self, message: str, hint: str = "", code: int = RUNTIME) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def line(self) -> str:
        """``error: MESSAGE; HINT``, the one line on stderr."""
        return f"error: {self.message}" + (f"; {self.hint}" if self.hint else "")


def usage_error(message: str, hint: str = "") -> NoReturn:
    """A mistake in the options or in a file they name: exit code 2."""
    raise CLIError(message, hint, USAGE)


def runtime_error(message: str, hint: str = "") -> NoReturn:
    """A failure while running (network, peer): exit code 1."""
    raise CLIError(message, hint, RUNTIME)


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_error(exc: OSError, host: str, port: int) -> CLIError:
    """Why ``connect`` to ``host:port`` failed, and what to try."""
    where = _where(host, port)
    if isinstance(exc, socket.gaierror):
        return CLIError(f"unknown host {host!r} ({exc.strerror or exc})",
                        "check the name, or give an IP address")
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return CLIError(f"connection to {where} refused",
                        "is the server running and listening on that port?")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return CLIError(f"no answer from {where} in time", "check the address, or raise "
                        "--timeout")
    return CLIError(f"cannot connect to {where}: {exc.strerror or exc}",
                    "check the address and the network")


def listen_error(exc: OSError, host: str, port: int) -> CLIError:
    """Why a server could not listen on ``host:port``, and what to try."""
    where = _where(host, port)
    if exc.errno == errno.EADDRINUSE:
        return CLIError(f"cannot listen on {where}: the port is in use",
                        "pick another port (or :0 for any free one), or stop the program "
                        "using it")
    if exc.errno == errno.EACCES:
        return CLIError(f"cannot listen on {where}: permission denied",
                        "ports below 1024 need privileges; pick a port of 1024 or more")
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return CLIError(f"cannot listen on {where}: no such local address "
                        f"({exc.strerror or exc})",
                        "give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0")
    return CLIError(f"cannot listen on {where}: {exc.strerror or exc}")


def explain(exc: BaseException) -> str:
    """A short text for an exception raised by the protocol code."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text or text == name:
        return name
    return text if "alert" in name.lower() or name.startswith("TLS") else f"{name}: {text}"


def report(exc: CLIError, out: Optional[object] = None) -> int:
    """Print the line, return the exit code."""
    print(exc.line(), file=out or sys.stderr, flush=True)
    return exc.code
