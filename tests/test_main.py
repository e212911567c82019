"""The command line: ``python -m tlslite_mls demo`` and ``bench mls``."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT, require


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tlslite_mls", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_demo_runs_and_exporters_agree():
    """The TLS demo on the real engine, then the MLS core part."""
    p = run("demo")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "MLS negotiated     True" in out and "demo OK" in out
    assert "MLS epoch          client 1, server 1" in out
    assert "(equal)" in out and "identity as expected" in out and "TLS_AES" in out
    assert out.index("Part 1") < out.index("Part 2") < out.index("MLS core demo")
    assert "MISMATCH" not in out


def test_demo_core_only():
    p = run("demo", "--core")
    assert p.returncode == 0, p.stderr
    assert "MLS core demo" in p.stdout and "Part 1" not in p.stdout
    assert "MISMATCH" not in p.stdout


def test_bench_handshake_json_smoke():
    """The handshake benchmark runs end to end with tiny numbers (not a speed check)."""
    p = run("bench", "handshake", "-n", "2", "--runs", "1", "--ssl-factor", "1", "--json",
            timeout=120)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert set(result["median_hs_per_s"]) == {"tlslite_mls", "tlslite-ng", "ssl"}
    assert all(v > 0 for v in result["median_hs_per_s"].values())
    assert set(result["ratios"]) == {"tlslite_mls/tlslite-ng", "ssl/tlslite_mls"}
    assert "bench server" not in p.stderr  # no handshake failed on the server side


def test_bench_mls_json_has_every_implementation():
    from interop import mlsrs_available, tsmls_available
    require(mlsrs_available() and tsmls_available(), "both interop peers for the MLS benchmark")
    p = run("bench", "mls", "-n", "3", "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["suite"] == "0x0001"
    assert set(result["median_s"]) == {"tlslite_mls", "mls-rs", "ts-mls"}
    assert all(v > 0 for v in result["median_s"].values())


def test_unknown_command_fails_cleanly():
    p = run("frobnicate")
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = run("bench", "nothing")
    assert p.returncode == 2 and "usage" in p.stderr
