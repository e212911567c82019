"""A concurrent TLS extension mode server: one thread per connection.

Several server processes may serve one address (``--workers N``, or behind a load
balancer, or each on its own port) when they share a state store (``--store redis://...``) and ticket keys:
a ticket issued by one resumes its MLS group on another, and a KeyPackage that one
consumed is refused by every other (docs/profile.md section 7).

    python -m tlslite_mls server --cert c.pem --key k.pem --tickets \\
        --store redis://127.0.0.1:6379/0 --ticket-key-file keys.hex 0.0.0.0:4433

(``python -m tlslite_mls.tls.server`` is the same command, kept for old scripts.)

The default handler echoes what it reads; applications pass their own
``handler(conn)``, which owns the connection until it returns.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from typing import Any, Callable, Optional

from tlslite import HandshakeSettings

from .connection import MLSTLSConnection
from .post_handshake import UpdatePolicy
from ..serving import ConnectionServer, Guard, ServerLimits
from .settings import MLSMode, MLSServerSettings

log = logging.getLogger(__name__)

Handler = Callable[[MLSTLSConnection], None]

__all__ = ["MLSServer", "echo_handler", "main"]


def echo_handler(conn: MLSTLSConnection) -> None:
    """Echo until the peer closes."""
    while True:
        data = conn.read()
        if not data:
            return
        conn.write(data)


class MLSServer:
    """Accepts connections on ``address`` and serves each in its own thread.

    :param cert_chain, private_key: the TLS certificate, needed for clients that
        fall back to classic TLS 1.3.
    :param mls_settings: :class:`MLSServerSettings`; its ``store`` holds groups and the
        KeyPackage replay cache.
    :param settings: tlslite-ng ``HandshakeSettings`` (``ticketKeys`` enable resumption).
    :param update_policy: post-handshake :class:`UpdatePolicy` of every connection.
    :param limits: handshake timeout, idle timeout and connection cap
        (:class:`~tlslite_mls.serving.ServerLimits`; defaults 10 s, 300 s, 1000).
    :param timeout: the idle timeout alone (kept for older callers; ``limits`` wins).
    :param listener: a listening socket to accept on instead of binding ``address``
        (a worker of :class:`~tlslite_mls.workers.WorkerPool`).
    :ivar connection_class: the class each connection is made of (a subclass of
        :class:`MLSTLSConnection`).
    """

    connection_class: type = MLSTLSConnection

    def __init__(self, address: tuple[str, int], cert_chain: Any, private_key: Any,
                 mls_settings: MLSServerSettings, settings: Optional[HandshakeSettings] = None,
                 handler: Handler = echo_handler, update_policy: Optional[UpdatePolicy] = None,
                 backlog: int = 128, timeout: Optional[float] = None,
                 limits: Optional[ServerLimits] = None,
                 listener: Optional[socket.socket] = None) -> None:
        self.cert_chain = cert_chain
        self.private_key = private_key
        self.mls_settings = mls_settings
        self.settings = settings
        self.handler = handler
        self.update_policy = update_policy
        if limits is None:
            limits = ServerLimits() if timeout is None else ServerLimits(idle_timeout=timeout)
        self.limits = limits.validate()
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if listener is None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(backlog)
        self._sock = listener
        self._sock.settimeout(0.2)  # lets the accept loop see shutdown()
        mode = MLSMode(mls_settings.mode).value if mls_settings is not None else "off"
        self._server = ConnectionServer(self._sock, self._serve,
                                        mode=f"TLS extension mode, MLS {mode}",
                                        limits=self.limits, logger=log)
        self._acceptor: Optional[threading.Thread] = None

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the server listens on (port 0 at construction picks a
        free one; read it here)."""
        return self._sock.getsockname()

    @property
    def errors(self) -> int:
        """Connections that failed (handshake or handler)."""
        return self._server.errors

    @property
    def refused(self) -> int:
        """Connections closed on accept because the cap was reached."""
        return self._server.refused

    def serve_forever(self) -> None:
        """Accept until :meth:`shutdown`."""
        self._server.serve(stop=self._stop)

    def start(self) -> "MLSServer":
        """Serve in a background thread; returns self."""
        self._acceptor = threading.Thread(target=self.serve_forever, daemon=True)
        self._acceptor.start()
        return self

    def shutdown(self, wait: float = 5.0) -> None:
        """Stop accepting, close the listening socket and wait up to ``wait`` seconds
        for running connections to end."""
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(wait)
        self._sock.close()
        self._server.join(wait)

    def _serve(self, sock: socket.socket, guard: Guard) -> Callable[[], None]:
        """The handshake here; the handler in the thread that the returned callable
        runs in (the handshake's thread then ends and gives back what it kept)."""
        conn = self.connection_class(sock)
        if self.update_policy is not None:
            conn.mls_update_policy = self.update_policy
        try:
            conn.handshakeServerMLS(self.mls_settings, certChain=self.cert_chain,
                                    privateKey=self.private_key, settings=self.settings)
            guard.handshake_done()
        except BaseException:
            _close_quietly(conn)
            raise
        with self._lock:
            self.connections += 1

        def serve() -> None:
            try:
                self.handler(conn)
            finally:
                _close_quietly(conn)
        return serve


def _close_quietly(conn: MLSTLSConnection) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - already failed or gone
        pass


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m tlslite_mls.tls.server``: the ``server`` command of the main command
    line (same options, same one-line errors), so there is one server command to learn."""
    from ..cli import main as cli_main
    return cli_main(["server", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
