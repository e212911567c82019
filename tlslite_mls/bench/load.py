"""Many concurrent MLS connections against one server: handshakes, epoch changes and
echo traffic per second, handshake latency, and errors (which must be none).

One server process (``echo_server``: ``tls.server.MLSServer``, one thread per
connection, MLS required, memory store unless ``--store``) and ``--clients`` client
threads spread over a few forked client processes (``--threads-per-process``), all on
127.0.0.1. From one start time on, every client thread loops until ``--seconds`` have
passed: connect, MLS handshake (timed from the TCP connect until ``handshakeClientCert``
returns), ``--messages`` echo messages of 1 to 2,048 random bytes, each read back whole
and compared, with ``--updates`` calls of ``mls_update(wait=False)`` spread among them
so that each epoch change completes inside ``read()`` while traffic flows, more echoes
only if a change is still in flight at the end, then close. A session started before
the deadline runs to its end, so the measured time is from the start to the end of the
last session.

Figures: handshakes/s (sessions whose handshake completed), epoch changes/s (changes
the clients completed in both directions, ``mls_epoch_changes``: the client's automatic
first update plus the explicit ones), echo messages/s (round trips), p50/p95 handshake
latency, and errors (client and server side, the first few verbatim). Everything stops
by itself: the clients at the deadline (every socket has a 30 s timeout, every join a
limit), the server when told or at its own time limit.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import random
import sys
import threading
import time
from typing import Any, Optional, Sequence

from .echo_server import FIRST_ERRORS, ClientSide, ServerProcess, ServerWorkers, echo, settle

JOIN_GRACE = 60.0  # seconds a session may run past the deadline before it counts as hung


def _session(client: ClientSide, port: int, rng: random.Random, messages: int,
             updates: int, out: dict) -> None:
    t0 = time.perf_counter()
    conn, sock = client.connect(port)
    out["latencies"].append(time.perf_counter() - t0)
    out["handshakes"] += 1
    try:
        update_at = [messages * (k + 1) // (updates + 1) for k in range(updates)]
        for i in range(messages):
            for _ in range(update_at.count(i)):
                out["messages"] += settle(conn, rng)
                conn.mls_update(wait=False)
                out["explicit_updates"] += 1
            echo(conn, rng)
            out["messages"] += 1
        out["messages"] += settle(conn, rng)
        out["epoch_changes"] += conn.mls_epoch_changes
        conn.close()
        out["sessions"] += 1
    finally:
        sock.close()


def _client_thread(port: int, start_at: float, end_at: float, messages: int, updates: int,
                   seed: int, out: dict, lock: threading.Lock) -> None:
    client = ClientSide.make()
    rng = random.Random(seed)
    mine = {"latencies": [], "handshakes": 0, "sessions": 0, "messages": 0,
            "explicit_updates": 0, "epoch_changes": 0}
    errors: list[str] = []
    n_errors = 0
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < end_at:
        try:
            _session(client, port, rng, messages, updates, mine)
        except Exception as exc:  # noqa: BLE001 - counted, first ones kept verbatim
            n_errors += 1
            if len(errors) < FIRST_ERRORS:
                errors.append(f"client: {type(exc).__name__}: {exc}")
            time.sleep(0.05)
    with lock:
        for k, v in mine.items():
            out[k] = out.get(k, 0 if k != "latencies" else []) + v
        out["errors"] = out.get("errors", 0) + n_errors
        out.setdefault("first_errors", []).extend(errors)
        out["last_end"] = max(out.get("last_end", 0.0), time.time())


def _client_process(port: int, threads: int, start_at: float, end_at: float, messages: int,
                    updates: int, seed: int, pipe: Any) -> None:
    out: dict = {"latencies": [], "errors": 0, "first_errors": []}
    lock = threading.Lock()
    workers = [threading.Thread(target=_client_thread, daemon=True,
                                args=(port, start_at, end_at, messages, updates,
                                      seed * 1000 + i, out, lock))
               for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(max(0.0, end_at + JOIN_GRACE - time.time()))
    with lock:
        hung = sum(t.is_alive() for t in workers)
        if hung:
            out["errors"] += hung
            out["first_errors"].append(f"client: {hung} thread(s) still running "
                                       f"{JOIN_GRACE:.0f} s after the deadline")
        pipe.send(out)
    pipe.close()


def _percentile(sorted_values: list[float], q: float) -> Optional[float]:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def run(clients: int = 50, seconds: float = 20.0, threads_per_process: int = 25,
        messages: int = 10, updates: int = 1, store_url: Optional[str] = None,
        workers: int = 1) -> dict:
    """``workers`` > 1: that many server processes on one port, sharing ``store_url``
    (default: a temporary SQLite file, so the KeyPackage replay cache is shared)."""
    import tempfile
    tmp = None
    if workers > 1:
        if store_url is None:
            tmp = tempfile.TemporaryDirectory(prefix="tlslite-mls-load-")
            store_url = f"sqlite:///{tmp.name}/store.db"
        server: Any = ServerWorkers(workers, store_url, seconds + JOIN_GRACE + 120)
    else:
        server = ServerProcess(store_url, max_seconds=seconds + JOIN_GRACE + 120)
    try:
        return _run(server, clients, seconds, threads_per_process, messages, updates,
                    store_url, workers)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(server: Any, clients: int, seconds: float, threads_per_process: int,
         messages: int, updates: int, store_url: Optional[str], workers: int) -> dict:
    ctx = multiprocessing.get_context("fork")
    n_proc = math.ceil(clients / threads_per_process)
    sizes = [clients // n_proc + (1 if i < clients % n_proc else 0) for i in range(n_proc)]
    start_at = time.time() + 1.0
    end_at = start_at + seconds
    cpu0 = server.call("info")["cpu_s"]
    procs, pipes = [], []
    total: dict = {"latencies": [], "handshakes": 0, "sessions": 0, "messages": 0,
                   "explicit_updates": 0, "epoch_changes": 0, "errors": 0,
                   "first_errors": [], "last_end": start_at}
    try:
        for i, size in enumerate(sizes):
            parent_end, child_end = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_client_process, daemon=True,
                            args=(server.port, size, start_at, end_at, messages, updates,
                                  i + 1, child_end))
            p.start()
            child_end.close()
            procs.append(p)
            pipes.append(parent_end)
        for i, (p, pipe) in enumerate(zip(procs, pipes)):
            wait = max(1.0, end_at + JOIN_GRACE + 15 - time.time())
            if pipe.poll(wait):
                got = pipe.recv()
                for k in ("latencies", "handshakes", "sessions", "messages",
                          "explicit_updates", "epoch_changes", "errors", "first_errors"):
                    total[k] += got.get(k, 0 if k not in ("latencies", "first_errors") else [])
                total["last_end"] = max(total["last_end"], got.get("last_end", 0.0))
            else:
                total["errors"] += sizes[i]
                total["first_errors"].append(f"client process {i} sent no result")
            p.join(5)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
        final = server.stop()
    wall = total["last_end"] - start_at
    lat = sorted(total["latencies"])
    server_errors = final.get("errors", 0) if final else 1
    first = total["first_errors"] + (final.get("first_errors", []) if final else
                                     ["server: no final statistics"])
    return {
        "clients": clients, "client_processes": n_proc, "seconds": seconds,
        "wall_s": wall, "messages_per_session": messages, "updates_per_session": updates,
        "store": store_url or "memory:", "mls_suite": "0x0001",
        "handshakes": total["handshakes"], "sessions_completed": total["sessions"],
        "handshakes_per_s": total["handshakes"] / wall if wall > 0 else 0.0,
        "epoch_changes": total["epoch_changes"],
        "explicit_updates": total["explicit_updates"],
        "updates_per_s": total["epoch_changes"] / wall if wall > 0 else 0.0,
        "echo_messages": total["messages"],
        "echo_messages_per_s": total["messages"] / wall if wall > 0 else 0.0,
        "handshake_latency_ms": {"p50": _ms(_percentile(lat, 50)),
                                 "p95": _ms(_percentile(lat, 95)),
                                 "p99": _ms(_percentile(lat, 99)),
                                 "max": _ms(lat[-1] if lat else None)},
        "server_workers": workers,
        "server_cpu_ms_per_handshake": (final["cpu_s"] - cpu0) * 1000 / total["handshakes"]
        if final and total["handshakes"] else None,
        "errors": total["errors"] + server_errors, "first_errors": first[:FIRST_ERRORS],
        "server": {"handshakes": final.get("handshakes"),
                   "epoch_changes": final.get("epoch_changes"),
                   "echo_messages": final.get("echo_messages"),
                   "cpu_s": final["cpu_s"] - cpu0 if final else None,
                   "rss_kb": final.get("rss_kb"), "errors": server_errors},
        "cpu_count": os.cpu_count(),
    }


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds * 1000.0


def report(r: dict, out: Any = sys.stdout) -> None:
    lat = r["handshake_latency_ms"]
    workers = r.get("server_workers", 1)
    against = "one server process" if workers == 1 else f"{workers} server processes"
    print(f"{r['clients']} concurrent MLS clients ({r['client_processes']} processes) against "
          f"{against}, {r['wall_s']:.1f} s, store {r['store']}", file=out)
    print(f"  handshakes      {r['handshakes_per_s']:8.1f} /s  ({r['handshakes']}; latency "
          f"p50 {lat['p50'] or 0:.0f} ms, p95 {lat['p95'] or 0:.0f} ms, "
          f"p99 {lat['p99'] or 0:.0f} ms)", file=out)
    print(f"  epoch changes   {r['updates_per_s']:8.1f} /s  ({r['epoch_changes']}, of which "
          f"{r['explicit_updates']} explicit mls_update)", file=out)
    print(f"  echo messages   {r['echo_messages_per_s']:8.1f} /s  ({r['echo_messages']})",
          file=out)
    srv = r["server"]
    if srv["cpu_s"] is not None:
        per = r.get("server_cpu_ms_per_handshake")
        print(f"  server CPU {srv['cpu_s']:.1f} s"
              + (f" ({per:.2f} ms per handshake)" if per else "")
              + f", RSS at the end {(srv['rss_kb'] or 0) / 1024:.1f} MiB", file=out)
    print(f"  errors {r['errors']}", file=out)
    for e in r["first_errors"]:
        print(f"    {e}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench load",
                                description="Concurrent MLS clients against one server: "
                                            "handshakes, epoch changes, echo traffic.")
    p.add_argument("--clients", type=int, default=50, help="client threads (default 50)")
    p.add_argument("--seconds", type=float, default=20.0,
                   help="time in which sessions start (default 20)")
    p.add_argument("--threads-per-process", type=int, default=25,
                   help="client threads per client process (default 25)")
    p.add_argument("--messages", type=int, default=10,
                   help="echo messages per session (default 10)")
    p.add_argument("--updates", type=int, default=1,
                   help="mls_update calls per session, among the messages (default 1)")
    p.add_argument("--store", help="state store URL for the server (default: memory; "
                   "with --workers, a temporary SQLite file)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes on the one port, SO_REUSEPORT (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv) if argv is not None else None)
    if args.workers < 1:
        p.error("--workers must be at least 1")
    if args.clients < 1 or args.threads_per_process < 1 or args.seconds <= 0:
        p.error("--clients and --threads-per-process must be at least 1, --seconds above 0")
    if args.messages < 1 or args.updates < 0:
        p.error("--messages must be at least 1 and --updates at least 0")
    result = run(args.clients, args.seconds, args.threads_per_process, args.messages,
                 args.updates, args.store, args.workers)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 1 if result["errors"] else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
