"""Smoke test of the handshake benchmark: tiny parameters, JSON shape, no errors.

The figures are not checked (benchmarks are not timed tests); what is checked is that
every implementation completes its handshakes (a failing handshake raises in the
client, which fails the run) and that the report holds what the issue asks for.
"""

from __future__ import annotations

import pytest

from helpers import bench_json


def test_handshake_bench_smoke():
    r = bench_json("handshake", "-n", "3", "--runs", "2", "--ssl-factor", "2")
    assert set(r["median_hs_per_s"]) == {"tlslite_mls", "tlslite-ng", "ssl"}
    assert all(v > 0 for v in r["median_hs_per_s"].values())
    assert r["handshakes_per_run"] == {"tlslite_mls": 3, "tlslite-ng": 3, "ssl": 6}
    assert all(len(v) == 2 for v in r["runs_hs_per_s"].values())
    for name in ("tlslite_mls/tlslite-ng", "ssl/tlslite_mls"):
        assert len(r["round_ratios"][name]) == 2 and r["ratios"][name] > 0
    assert r["mls_suite"] == "0x0001"
    floor = r["crypto_floor"]  # the operations one handshake performed, counted and timed
    ops = floor["operations"]
    assert ops["ed25519_sign"] >= 2 and ops["ed25519_verify"] >= 2 and ops["hmac"] > 20
    assert ops["hpke_seal"] == ops["hpke_open"] == 1  # the Welcome's group secrets
    assert set(floor["unit_us"]) == set(ops) and all(v > 0 for v in floor["unit_us"].values())
    assert floor["floor_ms"] > 0 and floor["ratio"] == pytest.approx(
        floor["cpu_ms_per_handshake"] / floor["floor_ms"], rel=0.01)


def test_handshake_bench_post_quantum_suites():
    """``--suite`` times each MLS suite as an entry of its own, with CPU ratios
    against the first (the issue's X-Wing-against-0x0001 figure)."""
    r = bench_json("handshake", "-n", "2", "--runs", "1", "--only", "tlslite_mls",
                   "--suite", "0x0001,0xF001,0xF00B")
    names = ["tlslite_mls 0x0001", "tlslite_mls 0xf001", "tlslite_mls 0xf00b"]
    assert list(r["median_hs_per_s"]) == names
    assert all(r["median_cpu_ms_per_hs"][n] > 0 for n in names)
    assert set(r["ratios"]) == {f"cpu {n}/tlslite_mls 0x0001" for n in names[1:]}
    assert r["mls_suites"] == ["0x0001", "0xf001", "0xf00b"]


def test_handshake_bench_refuses_unknown_suites():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "tlslite_mls", "bench", "handshake",
                          "--suite", "0x0001,0xF0FF"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "0xf0ff" in out.stderr


def test_mls_cycle_bench_post_quantum_suite_with_peer_suite():
    r = bench_json("mls", "--suite", "0xF001", "-n", "1", "--peers", "")
    assert r["suite"] == "0xf001" and r["peer_suite"] == "0xf001"
    assert r["median_s"]["tlslite_mls"] > 0
