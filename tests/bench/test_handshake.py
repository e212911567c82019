"""Smoke test of the handshake benchmark: tiny parameters, JSON shape, no errors.

The figures are not checked (benchmarks are not timed tests); what is checked is that
every implementation completes its handshakes (a failing handshake raises in the
client, which fails the run) and that the report holds what the issue asks for.
"""

from __future__ import annotations

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
