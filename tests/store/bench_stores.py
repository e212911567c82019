"""Throughput of the state stores: claims/s and save+load/s (a script, not a test).

    .venv/bin/python tests/store/bench_stores.py [--seconds 2] [--state-size 4096]
        [--redis-url redis://127.0.0.1:6390/0] [--processes 4]

Single-thread figures for every store, then the claim rate of several processes
hammering one SQLite file / one Redis. SQLite is shown with synchronous=FULL (the
default: durable across power loss) and NORMAL (durable across process crashes).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tlslite_mls.store import ABSENT, open_store  # noqa: E402


def _claims(store, seconds: float) -> float:
    expires = time.time() + 3600
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            store.claim_key_package(uuid.uuid4().bytes * 2, expires)
        n += 100
    return n / (time.perf_counter() - start)


def _save_load(store, seconds: float, size: int) -> float:
    state = os.urandom(size)
    key = uuid.uuid4().bytes
    store.save_group(key, state, revision=0, expected_revision=ABSENT)
    rev, n, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            store.save_group(key, state, revision=rev + 1, expected_revision=rev,
                             expires_at=time.time() + 3600)
            rev += 1
            assert store.load_group_record(key).revision == rev
        n += 50
    return n / (time.perf_counter() - start)


def _claim_worker(spec, options, seconds, start, results):
    store = open_store(spec, **options)
    start.wait()
    results.put(_claims(store, seconds))
    store.close()


def _parallel_claims(spec, options, seconds, processes) -> float:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claim_worker, args=(spec, options, seconds, start, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    start.set()
    total = sum(results.get(timeout=seconds * 10 + 60) for _ in procs)
    for p in procs:
        p.join()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--state-size", type=int, default=4096)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--redis-url", default=os.environ.get("TLSLITE_MLS_REDIS_URL",
                                                          "redis://127.0.0.1:6390/0"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="store-bench-")
    prefix = f"tlslite_mls_bench:{uuid.uuid4().hex}:".encode()
    targets = [
        ("memory", "memory:", {}),
        ("sqlite FULL", f"sqlite:{tmp}/full.db", {}),
        ("sqlite NORMAL", f"sqlite:{tmp}/normal.db", {"synchronous": "NORMAL"}),
        ("redis", args.redis_url, {"prefix": prefix}),
    ]
    print(f"state {args.state_size} bytes, {args.seconds:g} s per figure, pid {os.getpid()}")
    print(f"{'store':15s} {'claims/s':>10s} {'save+load/s':>12s} "
          f"{f'claims/s x{args.processes} procs':>22s}")
    for name, spec, options in targets:
        try:
            store = open_store(spec, **options)
            claims = _claims(store, args.seconds)
            rw = _save_load(store, args.seconds, args.state_size)
            store.close()
        except Exception as exc:  # e.g. no Redis running
            print(f"{name:15s} unavailable: {type(exc).__name__}: {exc}")
            continue
        par = "-" if name == "memory" else \
            f"{_parallel_claims(spec, options, args.seconds, args.processes):,.0f}"
        print(f"{name:15s} {claims:10,.0f} {rw:12,.0f} {par:>22s}")
    if any(n == "redis" for n, *_ in targets):
        try:
            import redis

            client = redis.Redis.from_url(args.redis_url)
            keys = list(client.scan_iter(match=prefix + b"*", count=5000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i:i + 1000])
            client.close()
        except Exception:
            pass


if __name__ == "__main__":
    main()
