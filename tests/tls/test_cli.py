"""The command line: demo in-process, server and client as separate processes."""

from __future__ import annotations

import io
import re
import subprocess

from tlslite_mls.cli import main
from tlsutil import PY, env_with_repo, stop

RUN = "import sys; from tlslite_mls.cli import main; sys.exit(main(sys.argv[1:]))"


def test_demo(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "MLS negotiated     True" in out
    assert "(equal)" in out and "demo OK" in out
    assert "TLS_AES" in out


def _start_server(*args: str):
    p = subprocess.Popen([PY, "-c", RUN, "server", *args, "127.0.0.1:0"], env=env_with_repo(),
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    assert m, line
    return p, int(m.group(1))


def _client(port: int, data: str, *args: str):
    return subprocess.run([PY, "-c", RUN, "client", "--linger", "0.5", *args,
                           f"127.0.0.1:{port}"], input=data, capture_output=True, text=True,
                          timeout=60, env=env_with_repo())


def test_server_and_client_processes(pki):
    server, port = _start_server("--count", "3", "--identity", "srv",
                                 "--cert", pki.cert_path, "--key", pki.key_path)
    try:
        r = _client(port, "hello\nworld\n", "--expect-identity", "srv")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "hello\nworld\n"
        assert "TLS 1.3, MLS negotiated, MLS suite 0x0001" in r.stderr
        assert "epoch 1" in r.stderr and "peer identity 'srv'" in r.stderr
        r = _client(port, "plain\n", "--mls", "off", "--trust-anchor", pki.ca_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "plain\n" and "MLS not negotiated" in r.stderr
        assert "server certificate verified for '127.0.0.1' against 1 trust anchor" in r.stderr
        # the server offers suites 1, 3, 2
        r = _client(port, "x\n", "--mls", "required", "--suite", "3", "--expect-identity", "srv")
        assert r.returncode == 0 and "MLS suite 0x0003" in r.stderr, r.stderr
    finally:
        stop(server)
        server.stderr.close()


def test_required_client_against_mls_off_server():
    server, port = _start_server("--count", "1", "--mls", "off")
    try:
        r = _client(port, "x\n", "--mls", "required", "--accept-any-identity")
        assert r.returncode == 1
        assert "handshake failed" in r.stderr and "handshake_failure" in r.stderr
    finally:
        stop(server)
        server.stderr.close()


def test_client_must_say_how_to_authenticate_the_server():
    r = _client(9, "x\n")  # refused before connecting
    assert r.returncode != 0 and "--expect-identity" in r.stderr
