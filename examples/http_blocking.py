"""HTTP/1.1 over an MLS-keyed connection with http.client and http.server, both modes.

Run: python examples/http_blocking.py [extension|mls-tls]
A server on 127.0.0.1 answers GET / with what the connection negotiated; the client
prints the response and checks that both sides derived the same exporter value.
"""

from __future__ import annotations

import http.server
import sys
import threading

from tlslite_mls import AcceptAnyCredential, ClientContext, ServerContext
from tlslite_mls.http import MLSHTTPConnection, MLSHTTPServer

LABEL = b"example http"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: several requests on one MLS connection

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        conn = self.request  # the MLSSocket
        if conn.negotiated:
            body = (f"mode {conn.mode}, MLS negotiated True, epoch {conn.epoch}, "
                    f"exporter {conn.exporter(LABEL, b'', 8).hex()}\n").encode()
        else:  # a classic TLS 1.3 client (browser, curl) of an extension-mode server
            body = f"classic TLS 1.3, {conn.tls_cipher_suite}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main(mode: str = "extension") -> int:
    server = MLSHTTPServer(("127.0.0.1", 0), Handler, context=ServerContext(mode=mode))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client_ctx = ClientContext(mode=mode, auth_policy=AcceptAnyCredential())
    conn = MLSHTTPConnection("127.0.0.1", server.server_address[1], context=client_ctx,
                             timeout=60)
    ok = True
    for _ in range(3):  # the client's first epoch change happens between requests
        conn.request("GET", "/")
        response = conn.getresponse()
        text = response.read().decode()
        mine = conn.mls.exporter(LABEL, b"", 8).hex()
        print(f"{response.status} {text.strip()} | client epoch {conn.mls.epoch}, "
              f"exporter {mine}")
        ok = ok and response.status == 200 and text.strip().endswith(mine)
    conn.close()
    server.shutdown()
    server.server_close()
    print("http example OK" if ok else "http example FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
