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
    p = run("demo")
    assert p.returncode == 0, p.stderr
    assert "MISMATCH" not in p.stdout and "epoch" in p.stdout


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
