"""``python -m tlslite_mls bench modes``: the two ways of putting MLS into TLS, side by side.

Handshakes per second for the TLS extension mode and for MLS-TLS, each on new TCP
connections to a server in another process, and epoch changes per second on one
long-lived connection of each mode. Beside them, measured in this process: CPU per
handshake and CPU per epoch change (both sides together, :mod:`.epoch`), each with the
crypto floor of the operations it performs. The extension mode's changes are all started by
the client and completed by echo traffic; MLS-TLS's alternate between client and
server, which costs an extra round trip for every other change.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any, Callable, Optional, Sequence

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


def _timed(cpu: Optional[list], fn: Callable[..., Any], *args: Any) -> None:
    """``fn(*args)``, adding the calling thread's CPU seconds to ``cpu``."""
    start = time.thread_time()
    try:
        fn(*args)
    finally:
        if cpu is not None:
            cpu.append(time.thread_time() - start)


def _mls_tls_handshake(mat: Any, suite: int, cpu: Optional[list] = None
                       ) -> Callable[[], None]:
    """One MLS-TLS handshake over a socket pair, the server on a thread; each side's
    thread CPU (handshake and close) goes to ``cpu``."""
    import socket
    import threading

    from ..mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSServer,
                          MLSTLSServerSettings)
    server_key, client_key = mat.mls_keys(suite)
    ss = MLSTLSServerSettings(suites=[suite], credential=mat.mls_credential,
                              signature_key=server_key)
    cs = MLSTLSClientSettings(suites=[suite], expected_identity=_handshake.SERVER_IDENTITY,
                              credential=mat.mls_client_credential, signature_key=client_key,
                              initial_update=False)

    def side(conn: Any) -> None:
        conn.handshake()
        conn.close()

    def one() -> None:
        a, b = socket.socketpair()
        thread = threading.Thread(target=_timed, args=(cpu, side, MLSTLSServer(b, ss)))
        thread.start()
        _timed(cpu, side, MLSTLSClient(a, cs))
        thread.join(30)
    return one


def _extension_handshake(mat: Any, suite: int, cpu: Optional[list] = None
                         ) -> Callable[[], None]:
    """One extension-mode handshake over a socket pair, the server on a thread; each
    side's thread CPU (handshake, one byte of data, close) goes to ``cpu``."""
    import socket
    import threading
    serve = _handshake._server_handshake("tlslite_mls", mat, suite)
    connect = _handshake._client_handshake("tlslite_mls", mat, suite)

    def one() -> None:
        a, b = socket.socketpair()
        thread = threading.Thread(target=_timed, args=(cpu, serve, b))
        thread.start()
        _timed(cpu, connect, a)
        thread.join(30)
        a.close()
    return one


def handshake_cpu_and_floor(n: int, runs: int, suite: int) -> dict:
    """Per mode: CPU ms per handshake beside the crypto floor of the operations one
    handshake performs (floor.py; only for suite 0x0001, whose primitives it times).

    The CPU is what the two sides' threads spend in the handshake (client and server
    together, the median of ``runs`` runs of ``n``); ``with_harness_ms`` adds what
    the benchmark itself costs around it (a thread and a socket pair per handshake),
    the process's CPU over the same runs.
    """
    from .floor import count_operations, floor_report, unit_costs_us
    mat = _handshake._Material((suite,))
    out = {}
    try:
        units = unit_costs_us() if suite == 1 else None
        for mode, make in (("extension_mode", _extension_handshake),
                           ("mls_tls", _mls_tls_handshake)):
            sides: list[float] = []
            one = make(mat, suite, sides)
            ops = count_operations(one)  # also the warm-up
            cpu, process = [], []
            for _ in range(runs):
                sides.clear()
                start = time.process_time()
                for _ in range(n):
                    one()
                process.append((time.process_time() - start) / n * 1000)
                cpu.append(sum(sides) / n * 1000)
            median = statistics.median(cpu)
            figures = floor_report(ops, units, median) if units is not None \
                else {"cpu_ms_per_handshake": round(median, 4), "operations": ops}
            figures["with_harness_ms"] = round(statistics.median(process), 4)
            out[mode] = figures
    finally:
        mat.cleanup()
    return out


def run(n: int = 30, runs: int = 3, suite: int = 0x0001) -> dict:
    mat = _handshake._Material()
    try:
        rates, _ = _handshake.measure("tlslite_mls", n, runs, mat)
    finally:
        mat.cleanup()
    floors = handshake_cpu_and_floor(n, runs, suite)
    from .epoch import epoch_change_cpu_and_floor
    epochs = epoch_change_cpu_and_floor(max(n, 50), runs, suite)
    ext_updates = [extension_epoch_changes_per_s(n) for _ in range(runs)]
    from ..mlstls.demo import bench_mls_tls
    mls_tls = [bench_mls_tls(n, suite) for _ in range(runs)]
    return {
        "mls_suite": f"0x{suite:04x}",
        "extension_mode": {
            "handshakes_per_s": round(statistics.median(rates), 1),
            "epoch_changes_per_s": round(statistics.median(ext_updates), 1),
            "handshake_cpu": floors["extension_mode"],
            "epoch_change_cpu": epochs["extension_mode"],
        },
        "mls_tls": {
            "handshakes_per_s": statistics.median(r["handshakes_per_s"] for r in mls_tls),
            "epoch_changes_per_s": statistics.median(r["epoch_changes_per_s"] for r in mls_tls),
            "record_suite": mls_tls[0]["record_suite"],
            "handshake_cpu": floors["mls_tls"],
            "epoch_change_cpu": epochs["mls_tls"],
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
        hs = figures.get("handshake_cpu")
        if hs and "floor_ms" in hs:
            from .floor import describe
            print(f"  {'':16s} in one process: {describe(hs)} "
                  f"({hs['with_harness_ms']:.3f} ms with the benchmark's thread and "
                  f"socket pair)", file=out)
        elif hs:
            print(f"  {'':16s} in one process: CPU per handshake "
                  f"{hs['cpu_ms_per_handshake']:.3f} ms ({hs['with_harness_ms']:.3f} ms "
                  f"with the benchmark's thread and socket pair)", file=out)
        ep = figures.get("epoch_change_cpu")
        if ep and "floor_ms" in ep:
            from .floor import describe
            print(f"  {'':16s} both sides, one thread: {describe(ep)}", file=out)
        elif ep:
            print(f"  {'':16s} both sides, one thread: CPU per epoch change "
                  f"{ep['cpu_ms_per_epoch_change']:.3f} ms", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .epoch import parse_runs
    args = parse_runs(argv, "python -m tlslite_mls bench modes",
                      "Handshakes/s and epoch changes/s of both modes.", 30, 3,
                      "handshakes and epoch changes")
    result = run(args.n, args.runs, args.suite)
    print(json.dumps(result)) if args.json else report(result)
    return 0
