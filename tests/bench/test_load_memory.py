"""Smoke tests of the load and memory benchmarks: tiny parameters, JSON shape, no errors.

They check that the benchmarks run end to end and stop by themselves; the figures are
not checked (benchmarks are not timed tests).
"""

from __future__ import annotations

from helpers import bench_json as _bench


def test_load_smoke():
    r = _bench("load", "--clients", "4", "--threads-per-process", "2", "--seconds", "1",
               "--messages", "3")
    assert r["errors"] == 0, r["first_errors"]
    assert r["client_processes"] == 2
    assert r["handshakes"] >= 4 and r["sessions_completed"] == r["handshakes"]
    # every session: the client's automatic first update and one explicit mls_update
    assert r["explicit_updates"] == r["handshakes"]
    assert r["epoch_changes"] == 2 * r["handshakes"]
    assert r["echo_messages"] >= 3 * r["handshakes"]
    assert r["server"]["handshakes"] == r["handshakes"]
    for key in ("handshakes_per_s", "updates_per_s", "echo_messages_per_s"):
        assert r[key] > 0
    assert 0 < r["handshake_latency_ms"]["p50"] <= r["handshake_latency_ms"]["p95"]


def test_memory_smoke():
    r = _bench("memory", "--idle", "3", "--cycles", "10")
    assert r["errors"] == 0
    idle, cycles = r["idle"], r["cycles"]
    assert idle["connections"] == idle["active_seen"] == 3
    assert idle["rss_open_kb"] > 0 and idle["kb_per_connection"] is not None
    assert cycles["cycles"] == 10
    assert cycles["client_epoch_changes"] == cycles["server_epoch_changes"] == 20
    assert [s["cycle"] for s in cycles["samples"]] == list(range(11))
    assert cycles["growth_from_cycle"] == 1 and cycles["growth_percent"] is not None


def test_load_workers_smoke():
    """``--workers 2``: two server processes on one port, one temporary SQLite store;
    both serve (their summed counts match the clients'), no errors."""
    r = _bench("load", "--clients", "6", "--threads-per-process", "3", "--seconds", "2",
               "--messages", "2", "--workers", "2", timeout=300)
    assert r["errors"] == 0, r["first_errors"]
    assert r["server_workers"] == 2 and r["store"].startswith("sqlite:")
    assert r["handshakes"] >= 6 and r["server"]["handshakes"] == r["handshakes"]
    assert r["server_cpu_ms_per_handshake"] > 0
    lat = r["handshake_latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
