"""``python -m tlslite_mls bench modes``: the two ways of putting MLS into TLS, side by side.

Handshakes per second for the TLS extension mode and for MLS-TLS, each on new TCP
connections to a server in another process, and epoch changes per second on one
long-lived connection of each mode. The extension mode's changes are all started by
the client and completed by echo traffic; MLS-TLS's alternate between client and
server, which costs an extra round trip for every other change.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any, Optional, Sequence

from . import handshake as _handshake


def extension_epoch_changes_per_s(n: int) -> float:
    """Epoch changes per second on one extension-mode connection to a server process.

    Each change is started by the client (``mls_update``) and completed by echo
    traffic, which carries the markers; it counts once both directions switched.
    """
    import random
    from .echo_server import ClientSide, ServerProcess, settle
    server = ServerProcess(max_seconds=300)
    rng = random.Random(1)
    try:
        conn, sock = ClientSide.make().connect(server.port)
        try:
            settle(conn, rng)  # the client's automatic first update
            start = time.perf_counter()
            for _ in range(n):
                conn.mls_update()
                settle(conn, rng)
            elapsed = time.perf_counter() - start
            conn.close()
        finally:
            sock.close()
    finally:
        server.stop()
    return n / elapsed


def run(n: int = 30, runs: int = 3, suite: int = 0x0001) -> dict:
    mat = _handshake._Material()
    try:
        rates, _ = _handshake.measure("tlslite_mls", n, runs, mat)
    finally:
        mat.cleanup()
    ext_updates = [extension_epoch_changes_per_s(n) for _ in range(runs)]
    from ..mlstls.cli import bench_mls_tls
    mls_tls = [bench_mls_tls(n, suite) for _ in range(runs)]
    return {
        "mls_suite": f"0x{suite:04x}",
        "extension_mode": {
            "handshakes_per_s": round(statistics.median(rates), 1),
            "epoch_changes_per_s": round(statistics.median(ext_updates), 1),
        },
        "mls_tls": {
            "handshakes_per_s": statistics.median(r["handshakes_per_s"] for r in mls_tls),
            "epoch_changes_per_s": statistics.median(r["epoch_changes_per_s"] for r in mls_tls),
            "record_suite": mls_tls[0]["record_suite"],
        },
        "runs": runs,
        "per_run": n,
    }


def report(result: dict, out: Any = sys.stdout) -> None:
    print(f"MLS in TLS, both modes, MLS suite {result['mls_suite']}, medians of "
          f"{result['runs']} runs of {result['per_run']}", file=out)
    for mode, figures in (("extension mode", result["extension_mode"]),
                          ("MLS-TLS", result["mls_tls"])):
        parts = [f"{figures['handshakes_per_s']:8.1f} handshakes/s"]
        if "epoch_changes_per_s" in figures:
            parts.append(f"{figures['epoch_changes_per_s']:8.1f} epoch changes/s")
        print(f"  {mode:16s} " + "   ".join(parts), file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench modes",
                                description="Handshakes/s and epoch changes/s of both modes.")
    p.add_argument("-n", type=int, default=30, help="handshakes and epoch changes per run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--suite", type=lambda s: int(s, 0), default=0x0001)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.n < 1 or args.runs < 1:
        p.error("-n and --runs must be at least 1")
    result = run(args.n, args.runs, args.suite)
    print(json.dumps(result)) if args.json else report(result)
    return 0
