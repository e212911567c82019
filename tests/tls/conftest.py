"""Fixtures of the TLS tests: the PKI, OpenSSL servers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import require  # noqa: E402
from tlsutil import free_port, make_pki, stop, wait_port  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def pki_in_system_store(pki, monkeypatch):
    """The pki's CA as the system trust store (``SSL_CERT_FILE``), for clients that fall
    back to classic TLS while their MLS options name no trust anchors."""
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_path)


@pytest.fixture
def openssl_server(pki, tmp_path):
    """Starts ``openssl s_server -rev`` on 127.0.0.1: ``start(*extra, cert=, key=,
    version=)`` returns (port, log file); the certificate is ``pki``'s unless given,
    the version TLS 1.3 (``-tls1_3``)."""
    require(shutil.which("openssl") is not None, "openssl")
    procs = []

    def start(*extra: str, cert: str = pki.cert_path, key: str = pki.key_path,
              version: str = "-tls1_3"):
        port = free_port()
        log = open(tmp_path / f"s_server-{port}.log", "w+")
        p = subprocess.Popen(["openssl", "s_server", version, "-accept", f"127.0.0.1:{port}",
                              "-key", key, "-cert", cert, "-rev", *extra],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        wait_port(port, p)
        return port, log
    yield start
    for p in procs:
        stop(p)
