"""The command line: ``python -m tlslite_mls demo`` and ``bench mls``."""

from __future__ import annotations

import json
import re
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
    epochs = re.search(r"MLS epoch +1 after the handshake.* gives client (\d+), server (\d+)", out)
    assert epochs and epochs.group(1) == epochs.group(2) == "2"
    assert out.count("exporters equal") == 4 and "epoch 7 (= 5 + 2)" in out
    assert "(equal)" in out and "pinned signature key" in out and "TLS_AES" in out
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


def test_bench_without_a_name_compares_both_modes():
    p = run("bench", "-n", "3", "--runs", "1", "--json", timeout=300)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["extension_mode"]["handshakes_per_s"] > 0
    assert result["extension_mode"]["epoch_changes_per_s"] > 0
    assert result["mls_tls"]["handshakes_per_s"] > 0
    assert result["mls_tls"]["epoch_changes_per_s"] > 0
    for mode in ("extension_mode", "mls_tls"):  # CPU per handshake beside its crypto floor
        hs = result[mode]["handshake_cpu"]
        assert hs["operations"]["ed25519_sign"] >= 2 and hs["operations"]["hmac"] > 10
        assert hs["floor_ms"] > 0 and hs["cpu_ms_per_handshake"] > hs["floor_ms"] / 2
        assert hs["ratio"] > 0
        # CPU per epoch change, both sides together, beside its crypto floor
        ep = result[mode]["epoch_change_cpu"]
        assert ep["operations"]["ed25519_sign"] == 2 and ep["operations"]["hpke_seal"] == 1
        assert ep["floor_ms"] > 0 and ep["cpu_ms_per_epoch_change"] > ep["floor_ms"] / 2


def test_server_and_client_in_mls_tls_mode():
    """``server --mls-tls`` and ``client --mls-tls`` of the main command line."""
    server = subprocess.Popen([sys.executable, "-m", "tlslite_mls", "server", "--mls-tls",
                               "--identity", "srv", "--count", "1", "127.0.0.1:0"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        line = server.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line
        port = line.split("listening on 127.0.0.1:")[1].split(",")[0]
        client = subprocess.run([sys.executable, "-m", "tlslite_mls", "client", "--mls-tls",
                                 "--expect-identity", "srv", "--linger", "5",
                                 f"127.0.0.1:{port}"], cwd=ROOT, input="ping over MLS-TLS\n",
                                capture_output=True, text=True, timeout=60)
    finally:
        server.wait(timeout=30)
    assert client.returncode == 0, client.stderr
    assert client.stdout == "ping over MLS-TLS\n"
    assert client.stderr.startswith("MLS-TLS") and "'srv'" in client.stderr
