"""bench/modes.py: the handshake CPU of each mode beside its crypto floor (shape only)."""

from __future__ import annotations

import pytest

from tlslite_mls.bench import modes


def test_handshake_cpu_counts_both_sides_and_names_the_harness_apart():
    r = modes.handshake_cpu_and_floor(3, 1, 1)
    assert set(r) == {"extension_mode", "mls_tls"}
    for fig in r.values():
        ops = fig["operations"]
        assert ops["ed25519_sign"] >= 2 and ops["hpke_seal"] == ops["hpke_open"] == 1
        # a required client makes no x25519 share: the HPKE key pairs and the Welcome's
        assert ops["x25519"] == 3
        assert fig["floor_ms"] > 0 and fig["ratio"] == pytest.approx(
            fig["cpu_ms_per_handshake"] / fig["floor_ms"], rel=0.01)
        # the sides' threads are part of the process: never more than its CPU
        assert 0 < fig["cpu_ms_per_handshake"] <= fig["with_harness_ms"] * 1.05
