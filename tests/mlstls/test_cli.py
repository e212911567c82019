"""The MLS-TLS command line: server and client processes, the demo, the benchmark."""

from __future__ import annotations

import io
import subprocess

import pytest

from mlstls_util import CLI, PY, REPO, ServerProcess, env
from tlslite_mls.mlstls.cli import bench_mls_tls, demo_mls_tls


def _client(port: int, data: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", CLI, "client", "--linger", "0.5", *args,
                           f"127.0.0.1:{port}"], input=data, capture_output=True, text=True,
                          timeout=60, env=env(), cwd=str(REPO))


def test_server_and_client_processes():
    server = ServerProcess("--count", "3", "--identity", "srv", "--update-every", "2")
    try:
        lines = "".join(f"line {i}\n" for i in range(30))
        r = _client(server.port, lines, "--expect-identity", "srv", "--update-every", "3")
        assert r.returncode == 0, r.stderr
        assert r.stdout == lines
        summary = r.stderr.strip().splitlines()
        assert len(summary) == 1, r.stderr
        assert summary[0].startswith("MLS-TLS (new session), MLS suite 0x0003 ")
        assert "epoch 1" in summary[0] and "peer identity 'srv'" in summary[0]
        assert "server credential: name 'srv' (name only, not verified)" in summary[0]
        assert "server: closed after" in server.line_matching(r"closed after|failed")

        r = _client(server.port, "x\n", "--suite", "7", "--expect-identity", "srv")
        assert r.returncode == 1 and "handshake failed" in r.stderr
        assert "handshake_failure" in r.stderr  # the server offers 3 and 1 (Ed25519 key)
        r = _client(server.port, "x\n", "--expect-identity", "other")
        assert r.returncode == 1 and "access_denied" in r.stderr
    finally:
        server.stop()


def test_unsupported_suite_is_a_configuration_error():
    r = subprocess.run([PY, "-m", CLI, "server", "--suite", "4", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=60, env=env(), cwd=str(REPO))
    assert r.returncode != 0 and "cannot be used in MLS-TLS mode" in r.stderr


def test_demo():
    out = io.StringIO()
    assert demo_mls_tls(out) == 0, out.getvalue()
    text = out.getvalue()
    assert "MLS-TLS demo OK" in text and "(equal)" in text
    assert "TLS_CHACHA20_POLY1305_SHA256" in text and "resumed" in text


def test_bench():
    result = bench_mls_tls(3)
    assert result["mode"] == "mls-tls" and result["handshakes"] == 3
    assert result["handshakes_per_s"] > 0 and result["epoch_changes_per_s"] > 0
    assert result["final_epoch"] == 4


@pytest.mark.parametrize("mode", [[], ["--mls-tls"]], ids=["extension", "mls-tls"])
def test_max_stored_groups_option(mode, tmp_path):
    """--max-stored-groups caps the --store of either mode's server; it needs a store."""
    from tlslite_mls.cli import build_parser, normalize
    from tlslite_mls.cli.mlstls import make_server_settings as mls_tls_server_settings
    from tlslite_mls.cli.server import make_server_settings
    make = mls_tls_server_settings if mode else make_server_settings
    args = normalize(build_parser().parse_args(["server", *mode, "--store",
                                                f"sqlite:///{tmp_path}/s.db",
                                                "--max-stored-groups", "5", "127.0.0.1:0"]))
    settings = make(args)
    assert settings.store.max_groups == 5
    settings.store.close()
    for extra, message in ((["--max-stored-groups", "5"], "--max-stored-groups needs --store"),
                           (["--store", "memory:", "--max-stored-groups", "0"],
                            "max_groups must be a positive number")):
        r = subprocess.run([PY, "-m", "tlslite_mls", "server", *mode, *extra, "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60, env=env(), cwd=str(REPO))
        assert r.returncode != 0 and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
