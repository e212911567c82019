"""Two-party cycle timings of the external peers, for ``python -m tlslite_mls bench mls``.

One cycle = KeyPackage -> create group + Add + Welcome -> join -> commit with
UpdatePath -> process, with fresh members each time, as in our TLS handshake.
mls-rs is timed in-process with ``time.perf_counter``; ts-mls is timed inside Node
by its driver, so the JSON-lines round trips are not charged to it.
"""

from __future__ import annotations

import statistics

from interop.mlsrs_peer import mlsrs_cycle_times
from interop.tsmls_peer import tsmls_cycle_times

PEERS = ("mls-rs", "ts-mls")


def cycle_times(peer_name: str, suite: int, n: int) -> list[float]:
    """Seconds per cycle, ``n`` cycles after one untimed warm-up cycle."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if peer_name == "mls-rs":
        return mlsrs_cycle_times(suite, n)
    if peer_name == "ts-mls":
        return tsmls_cycle_times(suite, n)
    raise ValueError(f"unknown peer {peer_name!r}; known: {', '.join(PEERS)}")


def summary(times: list[float]) -> str:
    """One line: median, min and max in milliseconds."""
    ms = [t * 1000 for t in times]
    return f"n={len(ms)} median {statistics.median(ms):.2f} ms (min {min(ms):.2f}, max {max(ms):.2f})"


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    for name in PEERS:
        print(f"{name:7s} suite 0x0001: {summary(cycle_times(name, 1, count))}")
