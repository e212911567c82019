"""``bench records``: the JSON shape, and each side really ran its own ciphers (shape
only, not timings)."""

from __future__ import annotations

from helpers import bench_json


def test_bench_records_json():
    suites = ["TLS_AES_128_CCM_8_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"]
    out = bench_json("records", *[a for s in suites for a in ("--suite", s)], "--runs", "1",
                     "--mib", "0.05", "--tlslite-ng-mib", "0.02")
    assert set(out["suites"]) == set(suites) and out["record_bytes"] == 16384
    assert out["suites"][suites[0]]["version"] == "3.4"
    for row in out["suites"].values():
        assert row["tlslite-ng"]["cipher"] == "python" and row["ours"]["cipher"] == "openssl"
        for side in ("tlslite-ng", "ours"):
            assert set(row[side]) == {"mbps", "write_mbps", "read_mbps", "cipher"}
            assert row[side]["mbps"] > 0
        assert row["speedup"] > 0
