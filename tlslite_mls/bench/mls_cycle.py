"""The two-party MLS cycle, timed for our core and for the interop peers.

One cycle, with fresh members each time (as in a TLS handshake):
KeyPackage -> create group + Add + Welcome -> join -> commit with UpdatePath
-> process. Messages cross between the members as bytes, as on the wire.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Callable, Optional, Sequence

from ..mls.credentials import Credential
from ..mls.crypto import get_cipher_suite
from ..mls.group import Group
from ..mls.keypackage import create_key_package
from ..mls.proposals import Add, Proposal

LABEL = b"TLS shared secret"


def our_cycle_times(suite: int, n: int, warmup: int = 1) -> list[float]:
    """Seconds per cycle of our core, ``n`` cycles after ``warmup`` untimed ones."""
    cs = get_cipher_suite(suite)
    times = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        alice_sig, _ = cs.generate_signature_key_pair()
        bob_sig, _ = cs.generate_signature_key_pair()
        bob_kp = create_key_package(cs, Credential.basic(b"bob"), bob_sig)
        alice = Group.create(create_key_package(cs, Credential.basic(b"alice"), alice_sig))
        kp_wire = bob_kp.key_package.serialize()
        added = alice.commit(proposals=[Proposal.of(Add(type(bob_kp.key_package)
                                                          .deserialize(kp_wire)))], path=False)
        alice = added.group
        bob = Group.join(added.welcome.serialize(), bob_kp)
        update = alice.commit()
        bob = bob.process(update.message_bytes).group
        alice = update.group
        t1 = time.perf_counter()
        if i == 0 and alice.export_secret(LABEL, b"", 32) != bob.export_secret(LABEL, b"", 32):
            raise RuntimeError("our cycle: exporters differ")
        if i >= warmup:
            times.append(t1 - t0)
    return times


def _peer_timers() -> dict[str, Callable[[int, int], list[float]]]:
    try:
        from interop.bench import cycle_times
    except ImportError:
        return {}
    return {name: (lambda suite, n, name=name: cycle_times(name, suite, n))
            for name in ("mls-rs", "ts-mls")}


def run(suite: int = 1, n: int = 21, peers: Optional[Sequence[str]] = None,
        peer_suite: Optional[int] = None) -> dict:
    """Medians (seconds) for every implementation that can run here, and what could not.

    ``peer_suite``: the suite the peers run, when they lack ``suite`` itself (no peer
    has the draft's post-quantum suites; ts-mls has its own, e.g. 83 = X-Wing/Ed25519).
    """
    medians: dict[str, float] = {"tlslite_mls": statistics.median(our_cycle_times(suite, n))}
    missing: dict[str, str] = {}
    timers = _peer_timers()
    their_suite = suite if peer_suite is None else peer_suite
    for name in peers if peers is not None else ("mls-rs", "ts-mls"):
        timer = timers.get(name)
        if timer is None:
            missing[name] = "interop harness not importable (run from the repository root)"
            continue
        try:
            medians[name] = statistics.median(timer(their_suite, n))
        except Exception as e:  # a peer that is not installed or lacks the suite
            missing[name] = f"{type(e).__name__}: {e}"
    return {"suite": f"0x{suite:04x}", "peer_suite": f"0x{their_suite:04x}", "cycles": n,
            "median_s": medians, "unavailable": missing}


def report(result: dict, out=sys.stdout) -> None:
    medians = result["median_s"]
    ours = medians["tlslite_mls"]
    peer_suite = result.get("peer_suite", result["suite"])
    other = "" if peer_suite == result["suite"] else f" (the peers: suite {peer_suite})"
    print(f"two-party MLS cycle, suite {result['suite']}{other}, median of "
          f"{result['cycles']} cycles", file=out)
    for name, value in medians.items():
        ratio = "" if name == "tlslite_mls" else f"   ours is {value / ours:5.2f}x faster" \
            if value >= ours else f"   ours is {ours / value:5.2f}x slower"
        print(f"  {name:12s} {value * 1000:8.2f} ms{ratio}", file=out)
    for name, why in result["unavailable"].items():
        print(f"  {name:12s} not measured: {why}", file=out)


def main(argv: Sequence[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench mls",
                                description="Time the two-party MLS cycle of our core and the peers.")
    p.add_argument("--suite", type=lambda s: int(s, 0), default=1, help="MLS cipher suite (default 0x0001)")
    p.add_argument("-n", "--cycles", type=int, default=21, help="cycles per implementation (default 21)")
    p.add_argument("--peers", default="mls-rs,ts-mls", help="comma-separated peers, or '' for none")
    p.add_argument("--peer-suite", type=lambda s: int(s, 0), default=None,
                   help="suite the peers run instead of --suite (e.g. 83, ts-mls's "
                        "X-Wing/Ed25519 suite, beside our 0xF001)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.cycles < 1:
        p.error("--cycles must be at least 1")
    peers = [x for x in args.peers.split(",") if x]
    result = run(args.suite, args.cycles, peers, args.peer_suite)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0
