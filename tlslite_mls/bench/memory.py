"""Server memory in the TLS extension mode after the handshake: per open MLS connection,
and growth over many handshake-update-close cycles (a leak check).

Both parts run against the echo server of ``echo_server`` (``tls.server.MLSServer`` in
one forked process, one thread per connection, MLS required, memory store unless
``--store``); the figures are
its ``VmRSS`` from ``/proc/<pid>/status``. The server runs a full garbage collection
before each sample: unreachable cycles are not a leak, and without it the samples
would move with the collector's schedule.

(a) Idle connections: after a few warm-up cycles (imports, caches), ``--idle``
    connections are opened one by one, each with one echo so that the client's
    automatic first epoch change is complete on both sides, and kept open.
    RSS per connection = (RSS with them open - RSS before) / count. It includes the
    connection's thread (stack pages touched), tlslite-ng's connection and record
    layer, and the MLS group of the current epoch. Closing them shows how much the
    process gives back; opening as many again shows whether what it kept is reused
    (allocator pools) or lost (the RSS would grow by as much again).
(b) Cycles, on a fresh server process: ``--cycles`` sequential cycles of connect,
    MLS handshake, one echo (completes the automatic epoch change), ``mls_update``,
    one echo (completes that change), close. The server is sampled after the cycle
    count reaches each tenth of the total, once its connection thread is done. The
    growth is from the first sample (cycle 1,000 of 10,000) to the last, in percent;
    the goal is at most 10%. What is alive by design during the run is shown with
    it: the store's entries (the KeyPackage replay cache keeps every KeyPackageRef
    for the KeyPackage's lifetime, one hour by default; with ``--tickets`` the groups
    tied to tickets stay for the store's state lifetime).

``--trace`` runs the cycle server under tracemalloc and prints the source lines whose
live allocations grew most between the first and the last sample (slow: tracemalloc
roughly halves the speed). Its RSS figures then include tracemalloc's own bookkeeping,
which grows with every live block, so the growth verdict only counts without it.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any, Optional, Sequence

from .echo_server import ClientSide, ServerProcess, echo, settle

GOAL_PERCENT = 10.0
WARMUP_CYCLES = 20


def _cycle(client: ClientSide, port: int, rng: random.Random) -> int:
    """One handshake-update-close cycle; epoch changes the client completed."""
    conn, sock = client.connect(port)
    try:
        echo(conn, rng)
        settle(conn, rng)
        conn.mls_update(wait=False)
        echo(conn, rng)
        settle(conn, rng)
        changes = conn.mls_epoch_changes
        conn.close()
        return changes
    finally:
        sock.close()


def _sample(server: ServerProcess) -> dict:
    info = server.wait_idle()
    server.call("gc")
    return {"rss_kb": server.rss_kb(), "store_entries": server.call("info")["store_entries"],
            "threads": info["threads"], "server_errors": info["errors"],
            "server_epoch_changes": info["epoch_changes"]}


def _open_idle(server: ServerProcess, client: ClientSide, count: int, rng: random.Random,
               into: list) -> dict:
    """Open ``count`` connections (kept in ``into``); the server's figures with them open."""
    for _ in range(count):
        conn, sock = client.connect(server.port)
        into.append((conn, sock))
        echo(conn, rng)
        settle(conn, rng)
    info = server.call("info")
    deadline = time.monotonic() + 30
    while info["active"] < count and time.monotonic() < deadline:
        time.sleep(0.05)
        info = server.call("info")
    server.call("gc")
    return {"rss_kb": server.rss_kb(), "active": info["active"], "threads": info["threads"]}


def _close_all(conns: list) -> None:
    for conn, sock in conns:
        conn.close()
        sock.close()
    conns.clear()


def idle_part(server: ServerProcess, count: int) -> dict:
    """Part (a) on ``server``: open ``count`` connections, close them, open them again.

    The second opening shows whether what stayed after closing is reused (allocator
    pools and arenas kept by the process) or lost (then the RSS would grow again).
    """
    client = ClientSide.make()
    rng = random.Random(1)
    open_conns: list[tuple[Any, Any]] = []
    errors: list[str] = []
    before = with_open = after_close = reopen = {}
    try:
        for _ in range(WARMUP_CYCLES):
            _cycle(client, server.port, rng)
        before = _sample(server)
        with_open = _open_idle(server, client, count, rng, open_conns)
        _close_all(open_conns)
        after_close = _sample(server)
        reopen = _open_idle(server, client, count, rng, open_conns)
        _close_all(open_conns)
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        errors.append(f"client: {type(exc).__name__}: {exc}")
    finally:
        for conn, sock in open_conns:
            sock.close()
        final = server.stop()
    errors += final.get("first_errors", [])
    n_errors = len([e for e in errors if e.startswith("client")]) + final.get("errors", 0)
    per_conn = None
    if before and with_open:
        per_conn = (with_open["rss_kb"] - before["rss_kb"]) / count
    return {"connections": count, "rss_before_kb": before.get("rss_kb"),
            "rss_open_kb": with_open.get("rss_kb"), "kb_per_connection": per_conn,
            "rss_after_close_kb": after_close.get("rss_kb"),
            "rss_reopen_kb": reopen.get("rss_kb"),
            "active_seen": with_open.get("active"), "threads_open": with_open.get("threads"),
            "errors": n_errors, "first_errors": errors[:10]}


def cycles_part(server: ServerProcess, cycles: int, trace: bool, max_seconds: float,
                progress: Any = None) -> dict:
    """Part (b) on ``server`` (started with ``trace`` when tracemalloc is wanted)."""
    client = ClientSide.make()
    rng = random.Random(2)
    points = sorted({max(1, cycles * i // 10) for i in range(1, 11)})
    samples: list[dict] = []
    errors: list[str] = []
    n_errors = 0
    done = changes = 0
    start = time.monotonic()
    diff: list[str] = []
    try:
        for _ in range(WARMUP_CYCLES):
            _cycle(client, server.port, rng)
        s = _sample(server)
        samples.append({"cycle": 0, **s})
        for target in points:
            while done < target:
                if time.monotonic() - start > max_seconds:
                    raise TimeoutError(f"time limit of {max_seconds:.0f} s reached after "
                                       f"{done} cycles")
                try:
                    changes += _cycle(client, server.port, rng)
                except (OSError, RuntimeError) as exc:
                    n_errors += 1
                    if len(errors) < 10:
                        errors.append(f"client: cycle {done + 1}: {type(exc).__name__}: {exc}")
                done += 1
            s = _sample(server)
            samples.append({"cycle": done, "seconds": round(time.monotonic() - start, 1),
                            **s})
            if trace and target in (points[0], points[-1]):
                server.call("snapshot", target)
            if progress is not None:
                print(f"  cycle {done:6d}: server RSS {s['rss_kb'] / 1024:7.1f} MiB, "
                      f"store entries {s['store_entries']}, {time.monotonic() - start:6.1f} s",
                      file=progress, flush=True)
        if trace and len(points) > 1:
            diff = server.call("diff", (points[0], points[-1], 15), timeout=300)["diff"]
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        n_errors += 1
        errors.append(f"client: {type(exc).__name__}: {exc}")
    finally:
        final = server.stop()
    elapsed = time.monotonic() - start
    n_errors += final.get("errors", 0)
    errors += final.get("first_errors", [])
    measured = [s for s in samples if s["cycle"] > 0]
    growth = None
    if len(measured) >= 2:
        base, last = measured[0]["rss_kb"], measured[-1]["rss_kb"]
        growth = (last - base) / base * 100.0
    return {"cycles": done, "seconds": elapsed, "cycles_per_s": done / elapsed if elapsed else 0,
            "client_epoch_changes": changes,
            "server_epoch_changes": final["epoch_changes"] - samples[0]["server_epoch_changes"]
            if final and samples else None,
            "samples": samples,
            "growth_from_cycle": measured[0]["cycle"] if measured else None,
            "growth_percent": growth,
            "goal_percent": GOAL_PERCENT,
            "within_goal": growth is not None and growth <= GOAL_PERCENT and not trace,
            "traced": trace,
            "tracemalloc_top_growth": diff,
            "errors": n_errors, "first_errors": errors[:10]}


def report(result: dict, out: Any = sys.stdout) -> None:
    a, b = result.get("idle"), result.get("cycles")
    if a:
        mib = {k: f"{a[k] / 1024:.1f} MiB" if a[k] is not None else "-"
               for k in ("rss_before_kb", "rss_open_kb", "rss_after_close_kb", "rss_reopen_kb")}
        per = f"{a['kb_per_connection']:.1f}" if a["kb_per_connection"] is not None else "-"
        print(f"(a) {a['connections']} idle MLS connections, server RSS {mib['rss_before_kb']} "
              f"-> {mib['rss_open_kb']} ({per} KiB per connection); after closing them "
              f"{mib['rss_after_close_kb']}, with {a['connections']} open again "
              f"{mib['rss_reopen_kb']}; errors {a['errors']}", file=out)
    if b:
        print(f"(b) {b['cycles']} handshake-update-close cycles in {b['seconds']:.0f} s "
              f"({b['cycles_per_s']:.1f}/s), epoch changes client {b['client_epoch_changes']}, "
              f"server {b['server_epoch_changes']}; errors {b['errors']}", file=out)
        for s in b["samples"]:
            print(f"    cycle {s['cycle']:6d}: RSS {s['rss_kb'] / 1024:7.1f} MiB, "
                  f"store entries {s['store_entries']}, threads {s['threads']}", file=out)
        if b["growth_percent"] is not None:
            verdict = "not judged under tracemalloc" if b["traced"] else \
                "met" if b["within_goal"] else "NOT met"
            print(f"    growth cycle {b['growth_from_cycle']} -> {b['cycles']}: "
                  f"{b['growth_percent']:+.1f}% (goal <= {GOAL_PERCENT:.0f}%: {verdict})",
                  file=out)
        for line in b["tracemalloc_top_growth"]:
            print(f"    {line}", file=out)
    for part in (a, b):
        for e in (part or {}).get("first_errors", []):
            print(f"  error: {e}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench memory",
                                description="Server RSS per idle MLS connection, and its "
                                            "growth over many handshake-update-close cycles.")
    p.add_argument("--idle", type=int, default=200,
                   help="idle MLS connections for part (a) (default 200; 0 skips it)")
    p.add_argument("--cycles", type=int, default=10000,
                   help="sequential cycles for part (b) (default 10000; 0 skips it; "
                        "several minutes on a small machine)")
    p.add_argument("--store", help="state store URL for the server (default: memory)")
    p.add_argument("--tickets", action="store_true",
                   help="the server issues session tickets (groups are kept for resumption)")
    p.add_argument("--trace", action="store_true",
                   help="tracemalloc in the cycle server: which lines grew (slow; the "
                        "RSS then includes tracemalloc's own memory)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="time limit of part (b) (default 60 + 0.1 s per cycle)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv) if argv is not None else None)
    if args.idle < 0 or args.cycles < 0:
        p.error("--idle and --cycles must be at least 0")
    max_seconds = args.max_seconds or 60 + 0.1 * args.cycles
    result: dict = {"mls_suite": "0x0001", "store": args.store or "memory:",
                    "tickets": args.tickets, "cpu_count": os.cpu_count()}
    # Both servers are forked before any client work, so that neither inherits the
    # memory of the other part's clients.
    idle_server = ServerProcess(args.store, args.tickets, max_seconds=300 + args.idle * 2.0) \
        if args.idle else None
    try:
        cycle_server = ServerProcess(args.store, args.tickets, args.trace,
                                     max_seconds=300 + args.idle * 2.0 + max_seconds) \
            if args.cycles else None
    except BaseException:
        if idle_server is not None:
            idle_server.kill()
        raise
    try:
        if idle_server is not None:
            result["idle"] = idle_part(idle_server, args.idle)
        if cycle_server is not None:
            result["cycles"] = cycles_part(cycle_server, args.cycles, args.trace, max_seconds,
                                           None if args.json else sys.stderr)
    finally:
        for srv in (idle_server, cycle_server):
            if srv is not None:
                srv.kill()
    result["errors"] = sum(result[k]["errors"] for k in ("idle", "cycles") if k in result)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 1 if result["errors"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
