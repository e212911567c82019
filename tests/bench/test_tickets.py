"""``bench tickets``: the JSON shape, and both sides really sealed and opened a ticket
(shape only, not timings)."""

from __future__ import annotations

from helpers import bench_json


def test_bench_tickets_json():
    out = bench_json("tickets", "--cipher", "aes128gcm", "--cipher", "chacha20-poly1305",
                     "--rounds", "2")
    assert set(out["ticket_cipher"]) == {"aes128gcm", "chacha20-poly1305"}
    for m in out["ticket_cipher"].values():
        for side in ("tlslite-ng", "ours"):
            assert set(m[side]) == {"seal_us", "open_us"} and m[side]["seal_us"] > 0
        assert m["seal_speedup"] > 0 and m["open_speedup"] > 0
