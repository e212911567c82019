"""Serving many clients safely: timeouts, a connection cap, one log line per failure.

Every server the package ships (the echo servers of ``python -m tlslite_mls server``
in both modes, and :class:`tlslite_mls.tls.server.MLSServer`) accepts through
:class:`ConnectionServer`, so docs/profile.md section 9 holds the same way everywhere:

* a handshake must finish within ``handshake_timeout`` seconds in total. A socket
  timeout alone bounds each read, not the handshake: a peer sending one byte every
  few seconds would hold a thread for ever. One watchdog thread shuts down the
  sockets whose deadline has passed, which wakes the blocked read.
* after the handshake, a read that waits longer than ``idle_timeout`` ends the
  connection;
* at most ``max_connections`` connections are served at once; a peer over the cap
  is closed at once (and logged), the accept loop goes on, so good clients keep
  being served as soon as slots free up.

A handler may split a connection in two: the handshake, then what it returns (a
callable serving the established connection). The server runs that second part in a
new thread and lets the handshake's thread end. Why: a thread keeps what the
handshake left in it for as long as it lives -- glibc's per-thread cache of freed
blocks (about 50 KB after a TLS + MLS handshake) and the stack pages its deepest
call touched -- and an idle connection would hold that for hours. A thread that
ends gives both back (the C library cache returns to the shared heap, the stack is
released), so an idle connection holds only its own state.

Each failed connection is logged once, at warning level, with the peer address,
the mode and the alert or reason; log records never interleave (one ``logging``
call per line).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tlslite.constants import AlertDescription
from tlslite.errors import TLSAbruptCloseError, TLSLocalAlert, TLSRemoteAlert

__all__ = ["ServerLimits", "ConnectionServer", "Guard", "Handler", "Watchdog", "describe_failure",
           "short_identity", "peer_text", "DEFAULT_HANDSHAKE_TIMEOUT", "DEFAULT_IDLE_TIMEOUT",
           "DEFAULT_MAX_CONNECTIONS"]

log = logging.getLogger("tlslite_mls.server")

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 300.0
# Each connection costs one thread while it is open (about 90 KiB of server memory per
# idle extension-mode connection, `bench memory`).
DEFAULT_MAX_CONNECTIONS = 1000
# Identities longer than this are cut in log lines (they come from the peer).
IDENTITY_LOG_LIMIT = 64


@dataclass(frozen=True)
class ServerLimits:
    """What one server spends on its peers (docs/profile.md section 9).

    :ivar handshake_timeout: seconds a handshake may take in total, from accept.
    :ivar idle_timeout: seconds a read may wait after the handshake (``None``: for ever).
    :ivar max_connections: connections served at once; more are closed on accept.
    """

    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    idle_timeout: Optional[float] = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def validate(self) -> "ServerLimits":
        """Self, checked; ``ValueError`` names the bad field."""
        if not isinstance(self.handshake_timeout, (int, float)) or \
                not self.handshake_timeout > 0:
            raise ValueError(f"handshake_timeout must be positive seconds, "
                             f"not {self.handshake_timeout!r}")
        if self.idle_timeout is not None and (
                not isinstance(self.idle_timeout, (int, float)) or not self.idle_timeout > 0):
            raise ValueError(f"idle_timeout must be positive seconds or None, "
                             f"not {self.idle_timeout!r}")
        if not isinstance(self.max_connections, int) or self.max_connections < 1:
            raise ValueError(f"max_connections must be a positive integer, "
                             f"not {self.max_connections!r}")
        return self


# ----------------------------------------------------------------------------
# text for log lines
# ----------------------------------------------------------------------------
def short_identity(identity: Optional[bytes], limit: int = IDENTITY_LOG_LIMIT) -> str:
    """A peer identity for a log line: decoded, control characters escaped, cut."""
    if identity is None:
        return "-"
    text = bytes(identity).decode(errors="replace")
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(identity)} bytes)"
    return repr(text)


def peer_text(address: Any) -> str:
    """``host:port`` of a peer address (``[host]:port`` for IPv6)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address) or "-"


def describe_failure(exc: BaseException, guard: Optional["Guard"] = None) -> str:
    """One line: the alert sent or received, a timeout, or the error."""
    if guard is not None and guard.timed_out:
        return f"handshake timeout ({guard.limits.handshake_timeout:g} s)"
    if isinstance(exc, TLSLocalAlert):
        reason = getattr(exc, "reason", None) or getattr(exc, "message", None)
        name = AlertDescription.toStr(exc.description)
        return f"sent {name}" + (f": {reason}" if reason else "")
    if isinstance(exc, TLSRemoteAlert):
        return f"peer sent {AlertDescription.toStr(exc.description)}"
    timeout = isinstance(exc, socket.timeout) or isinstance(exc.__cause__, socket.timeout)
    if timeout and guard is not None:
        if guard.in_handshake:
            return f"handshake timeout ({guard.limits.handshake_timeout:g} s)"
        return f"idle timeout ({guard.limits.idle_timeout:g} s)"
    if isinstance(exc, TLSAbruptCloseError):
        return "the peer closed the connection without an alert"
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------
# deadlines
# ----------------------------------------------------------------------------
class _Deadline:
    __slots__ = ("sock", "fired", "cancelled")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fired = False
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Watchdog:
    """One thread that shuts down the sockets whose deadline passed.

    ``shutdown(SHUT_RDWR)`` wakes a thread blocked reading the socket (it reads the
    end of the stream), so that thread fails its handshake and ends.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._cond = threading.Condition()
        self._ids = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Start the thread (once; :meth:`arm` does it too)."""
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tlslite_mls watchdog",
                                                daemon=True)
                self._thread.start()

    def arm(self, sock: socket.socket, seconds: float) -> _Deadline:
        self.start()
        deadline = _Deadline(sock)
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._ids), deadline))
            self._cond.notify()
        return deadline

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, deadline = heapq.heappop(self._heap)
            deadline.fired = True
            try:
                deadline.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


_WATCHDOG = Watchdog()


class Guard:
    """The limits of one accepted connection; the handler calls :meth:`handshake_done`."""

    def __init__(self, sock: socket.socket, peer: str, limits: ServerLimits,
                 watchdog: Watchdog = _WATCHDOG) -> None:
        self.sock = sock
        self.peer = peer
        self.limits = limits
        self.in_handshake = True
        sock.settimeout(limits.handshake_timeout)
        self._deadline = watchdog.arm(sock, limits.handshake_timeout)

    @property
    def timed_out(self) -> bool:
        """True if the handshake deadline shut the socket down."""
        return self._deadline.fired

    def handshake_done(self) -> None:
        """From here on the idle timeout applies instead of the handshake deadline."""
        self._deadline.cancel()
        self.in_handshake = False
        if not self._deadline.fired:
            self.sock.settimeout(self.limits.idle_timeout)

    def close(self) -> None:
        self._deadline.cancel()


# ----------------------------------------------------------------------------
# the accept loop
# ----------------------------------------------------------------------------
# The second part of a connection (see the module docstring), or None when the
# handler served the whole connection itself.
Serve = Optional[Callable[[], None]]
Handler = Callable[[socket.socket, Guard], Serve]


class ConnectionServer:
    """Accept on ``listener`` and run ``handler(sock, guard)`` for each connection.

    The handler runs the handshake, calls ``guard.handshake_done()``, serves, and
    raises on failure; the failure is then logged once here. The socket is closed
    after the handler returns. A handler that returns a callable instead of serving
    hands the established connection over: the callable runs in a new thread (or,
    one connection at a time with ``serve(count=...)``, in this one), its failure is
    logged the same way, and the socket is closed after it returns.

    :param mode: how log lines name the protocol (``"TLS extension mode, MLS
        preferred"``, ``"MLS-TLS"``).
    :param logger: where the lines go (default ``tlslite_mls.server``).
    """

    def __init__(self, listener: socket.socket, handler: Handler, *, mode: str,
                 limits: Optional[ServerLimits] = None,
                 logger: logging.Logger = log) -> None:
        self.listener = listener
        self.handler = handler
        self.mode = mode
        self.limits = (limits or ServerLimits()).validate()
        self.log = logger
        self.active = 0
        self.errors = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        # Started now, so it is part of the server's threads before any connection.
        _WATCHDOG.start()

    def serve(self, count: int = 0, stop: Optional[threading.Event] = None) -> None:
        """Accept until ``stop`` is set; ``count`` > 0: that many connections, one at
        a time (each still under the handshake deadline), then return."""
        served = 0
        while (count == 0 or served < count) and not (stop is not None and stop.is_set()):
            try:
                sock, address = self.listener.accept()
            except socket.timeout:
                continue  # a listener timeout lets ``stop`` be polled
            except OSError:
                if stop is not None and stop.is_set():
                    return
                raise
            served += 1
            if count:
                self._run(sock, address)
                continue
            with self._lock:
                over = self.active >= self.limits.max_connections
                if over:
                    self.refused += 1
                else:
                    self.active += 1
            if over:
                self.log.warning("connection from %s refused (%s): %d connections open, "
                                 "the cap", peer_text(address), self.mode,
                                 self.limits.max_connections)
                _close(sock)
                continue
            t = threading.Thread(target=self._run_counted, args=(sock, address), daemon=True)
            with self._lock:
                self._threads.add(t)
            t.start()

    def join(self, wait: float = 5.0) -> None:
        """Wait up to ``wait`` seconds for each running connection."""
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(wait)

    def _run_counted(self, sock: socket.socket, address: Any) -> None:
        handed_over = False
        try:
            handed_over = self._run(sock, address, threaded=True)
        finally:
            with self._lock:
                if not handed_over:
                    self.active -= 1
                self._threads.discard(threading.current_thread())

    def _run(self, sock: socket.socket, address: Any, threaded: bool = False) -> bool:
        """Handshake (and serve); True if the rest was handed to a new thread, which
        then owns the socket and the connection's place under the cap."""
        guard: Optional[Guard] = None
        rest: Serve = None
        try:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            guard = Guard(sock, peer_text(address), self.limits)
            rest = self.handler(sock, guard)
            if rest is not None and threaded:
                t = threading.Thread(target=self._run_rest, args=(rest, sock, address, guard),
                                     daemon=True)
                with self._lock:
                    self._threads.add(t)
                try:
                    t.start()
                except BaseException:
                    with self._lock:
                        self._threads.discard(t)
                    raise
                return True
        except Exception as exc:  # noqa: BLE001 - one failed client must not stop the server
            rest = None
            self._failed(exc, address, guard)
        finally:
            if rest is None:
                self._closed(sock, guard)
        if rest is not None:  # one connection at a time: serve it here
            self._serve_rest(rest, sock, address, guard)
        return False

    def _run_rest(self, rest: Callable[[], None], sock: socket.socket, address: Any,
                  guard: Guard) -> None:
        try:
            self._serve_rest(rest, sock, address, guard)
        finally:
            with self._lock:
                self.active -= 1
                self._threads.discard(threading.current_thread())

    def _serve_rest(self, rest: Callable[[], None], sock: socket.socket, address: Any,
                    guard: Guard) -> None:
        try:
            rest()
        except Exception as exc:  # noqa: BLE001 - as in _run
            self._failed(exc, address, guard)
        finally:
            self._closed(sock, guard)

    def _failed(self, exc: BaseException, address: Any, guard: Optional[Guard]) -> None:
        with self._lock:
            self.errors += 1
        self.log.warning("connection from %s failed (%s): %s", peer_text(address),
                         self.mode, describe_failure(exc, guard))

    @staticmethod
    def _closed(sock: socket.socket, guard: Optional[Guard]) -> None:
        if guard is not None:
            guard.close()
        _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def add_limit_arguments(parser: Any) -> None:
    """``--handshake-timeout``, ``--idle-timeout``, ``--max-connections``."""
    parser.add_argument("--handshake-timeout", type=float, default=DEFAULT_HANDSHAKE_TIMEOUT,
                        metavar="S", help="seconds a handshake may take in total "
                        f"(default {DEFAULT_HANDSHAKE_TIMEOUT:g})")
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                        metavar="S", help="seconds a connection may stay silent after the "
                        f"handshake (default {DEFAULT_IDLE_TIMEOUT:g}; 0: no limit)")
    parser.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
                        metavar="N", help="connections served at once; more are closed "
                        f"on accept (default {DEFAULT_MAX_CONNECTIONS})")


def limits_from_args(args: Any) -> ServerLimits:
    """ServerLimits from the options of :func:`add_limit_arguments` (``SystemExit``
    with the reason for a bad value)."""
    idle = getattr(args, "idle_timeout", DEFAULT_IDLE_TIMEOUT)
    try:
        return ServerLimits(
            handshake_timeout=getattr(args, "handshake_timeout", DEFAULT_HANDSHAKE_TIMEOUT),
            idle_timeout=idle if idle else None,
            max_connections=getattr(args, "max_connections", DEFAULT_MAX_CONNECTIONS),
        ).validate()
    except ValueError as exc:
        raise SystemExit(f"bad limit: {exc}") from None


def log_to_stderr(prefix: str = "server: ") -> None:
    """Send the package's INFO and above to stderr, one line per record, ``prefix``
    first (the command line's servers; applications configure logging themselves)."""
    import sys
    root = logging.getLogger("tlslite_mls")
    if any(getattr(h, "_tlslite_mls_cli", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    handler._tlslite_mls_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def limits_text(limits: ServerLimits) -> str:
    """The limits for a "listening" line."""
    idle = f"{limits.idle_timeout:g} s" if limits.idle_timeout else "none"
    return (f"handshake timeout {limits.handshake_timeout:g} s, idle timeout {idle}, "
            f"at most {limits.max_connections} connections")
