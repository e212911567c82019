"""The examples in examples/ run as they are documented, and the HTTP helpers serve
clients we did not write (curl, Python's ssl with http.client)."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import sys
import threading

import pytest

from helpers import ROOT, require
from tlslite_mls import ServerContext

EXAMPLES = ROOT / "examples"


def run_example(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_http_blocking_example(mode):
    out = run_example(str(EXAMPLES / "http_blocking.py"), mode)
    assert out.count("200 mode " + mode) == 3 and "http example OK" in out


@pytest.mark.parametrize("mode", ["extension", "mls-tls"])
def test_http_asyncio_example(mode):
    assert "asyncio http example OK" in run_example(str(EXAMPLES / "http_asyncio.py"), mode)


@pytest.fixture
def classic_http_server(tmp_path):
    """The example's handler behind MLSHTTPServer, extension mode, a test-CA certificate."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        from http_blocking import Handler
    finally:
        sys.path.remove(str(EXAMPLES))
    from tls.tlsutil import make_pki
    from tlslite_mls.http import MLSHTTPServer
    make_pki(tmp_path)
    ctx = ServerContext(certfile=tmp_path / "cert.pem", keyfile=tmp_path / "key.pem")
    server = MLSHTTPServer(("127.0.0.1", 0), Handler, context=ctx)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], tmp_path / "ca.pem"
    server.shutdown()
    server.server_close()


def test_python_ssl_http_client_gets_classic_tls_from_the_http_helper(classic_http_server):
    port, ca = classic_http_server
    conn = http.client.HTTPSConnection("localhost", port, timeout=60,
                                       context=ssl.create_default_context(cafile=str(ca)))
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200
    assert response.read().startswith(b"classic TLS 1.3, TLS_")
    conn.close()


def test_curl_gets_classic_tls_from_the_http_helper(classic_http_server):
    require(shutil.which("curl") is not None, "curl (apt-get install curl)")
    port, ca = classic_http_server
    proc = subprocess.run(["curl", "-sS", "--cacert", str(ca), "--tlsv1.3",
                           f"https://localhost:{port}/"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("classic TLS 1.3, TLS_")
