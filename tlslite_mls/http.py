"""HTTP/1.1 over MLS-keyed connections with the standard library's ``http`` modules.

tlslite-ng's ``HTTPTLSConnection`` and socketserver mixin are written for its own
``TLSConnection``; these two classes do the same for a context of this package, in
either mode::

    conn = MLSHTTPConnection("example", 8443, context=ClientContext(...))
    conn.request("GET", "/"); print(conn.getresponse().read(), conn.mls.epoch)

    server = MLSHTTPServer(("", 8443), MyHandler, context=ServerContext(...))
    server.serve_forever()   # handlers see the connection as self.request

A handler reads MLS facts from ``self.request`` (an ``MLSSocket``: ``negotiated``,
``epoch``, ``peer_identity``, ``exporter()``...).
"""

from __future__ import annotations

import http.client
import http.server
import logging
import socket
from typing import Any, Optional

from .context import ClientContext, MLSSocket, ServerContext
from .serving import describe_failure, peer_text

__all__ = ["MLSHTTPConnection", "MLSHTTPServer"]

log = logging.getLogger("tlslite_mls.server")


class MLSHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose socket is wrapped by a :class:`ClientContext`.

    :ivar mls: the :class:`~tlslite_mls.context.MLSSocket` once connected.
    """

    default_port = 443

    def __init__(self, host: str, port: Optional[int] = None, *, context: ClientContext,
                 server_hostname: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self.context = context
        self.server_hostname = server_hostname
        self.mls: Optional[MLSSocket] = None

    def connect(self) -> None:
        super().connect()
        name = self.server_hostname or (self._tunnel_host or self.host)
        self.sock = self.mls = self.context.wrap_socket(self.sock, server_hostname=name)


class MLSHTTPServer(http.server.ThreadingHTTPServer):
    """``http.server.ThreadingHTTPServer`` that runs each connection's handshake (in its
    own thread, not in the accept loop) with a :class:`ServerContext`. A failed
    handshake is one warning line on ``tlslite_mls.server``."""

    def __init__(self, server_address: Any, handler: Any, *, context: ServerContext,
                 handshake_timeout: float = 10.0, bind_and_activate: bool = True) -> None:
        self.context = context
        self.handshake_timeout = handshake_timeout
        super().__init__(server_address, handler, bind_and_activate)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(self.handshake_timeout)
        try:
            conn = self.context.wrap_socket(request)
        except Exception as exc:  # noqa: BLE001 - one bad client must not stop the server
            log.warning("connection from %s failed (%s): %s", peer_text(client_address),
                        self.context.mode, describe_failure(exc))
            return
        request.settimeout(None)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def shutdown_request(self, request: Any) -> None:
        # close_notify goes out in finish_request; the TCP socket just closes here.
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close_request(request)
