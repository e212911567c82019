"""Record protection per cipher suite: tlslite-ng's pure-Python ciphers beside ours.

``python -m tlslite_mls bench records [--suite NAME ...] [--json]``. For each suite
two record layers without a socket, one writing, one reading, key a connection
state the way a handshake does (``calcPendingStates`` for TLS 1.2, with
encrypt-then-MAC where the suite has a MAC, ``calcTLS1_3PendingState`` for TLS 1.3);
the writer protects 16 KiB records of application data, the reader takes them back.
``tlslite-ng`` is tlslite-ng's ``RecordLayer`` with its pure-Python ciphers (what our
connections ran for these suites before accel.py replaced every cipher), ``ours`` is
``OpenSSLRecordLayer``: the same record code, OpenSSL's ciphers. Figures are medians
over ``--runs`` rounds of MB/s through both ends (write plus read of the same bytes);
the speedup is the median of the rounds' own ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any, Sequence

from tlslite.constants import CipherSuite
from tlslite.messages import ApplicationData
from tlslite.recordlayer import RecordLayer

from ..tls.accel import OpenSSLRecordLayer

# suite -> protocol version
SUITES = {
    "TLS_AES_128_CCM_SHA256": (3, 4),
    "TLS_AES_128_CCM_8_SHA256": (3, 4),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM": (3, 3),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": (3, 3),
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": (3, 3),
    "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA": (3, 3),
}
RECORD = 16384
MB = 1e6
IMPLEMENTATIONS = {"tlslite-ng": RecordLayer, "ours": OpenSSLRecordLayer}


class _Pipe:
    """What the writer sends, for the reader to receive (a socket stand-in)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def send(self, data: Any) -> int:
        self.buf += data
        return len(data)

    def recv(self, size: int) -> bytearray:
        out = self.buf[:size]
        del self.buf[:size]
        return out


def _ends(cls: type, suite: int, version: tuple) -> tuple[Any, Any]:
    """(writer, reader) of ``cls`` sharing fresh keys for ``suite``."""
    pipe = _Pipe()
    secrets = [bytearray(os.urandom(48)) for _ in range(3)]
    ends = []
    for client in (True, False):
        layer = cls(pipe)
        layer.client = client
        layer.version = version
        if version >= (3, 4):
            layer.tls13record = True
            layer.calcTLS1_3PendingState(suite, secrets[0][:32], secrets[1][:32], ["python"])
        else:
            layer.encryptThenMAC = True
            layer.calcPendingStates(suite, secrets[0], secrets[1][:32], secrets[2][:32],
                                    ["python"])
        ends.append(layer)
    ends[0].changeWriteState()
    ends[1].changeReadState()
    return ends[0], ends[1]


def measure(impl: str, suite_name: str, nbytes: int) -> dict:
    """MB/s of ``impl`` for ``suite_name`` over ``nbytes`` of records (one round)."""
    writer, reader = _ends(IMPLEMENTATIONS[impl], getattr(CipherSuite, suite_name),
                           SUITES[suite_name])
    count = max(1, nbytes // RECORD)
    payload = os.urandom(RECORD)
    start = time.perf_counter()
    for _ in range(count):  # a message per record, as a connection makes (TLS 1.3 appends to it)
        for _ in writer.sendRecord(ApplicationData().create(bytearray(payload))):
            pass
    wrote = time.perf_counter()
    for _ in range(count):
        for result in reader.recvRecord():
            if result not in (0, 1):
                break
        if result[1].bytes != payload:
            raise AssertionError(f"{impl} {suite_name}: a record came back different")
    read = time.perf_counter()
    total = count * RECORD
    return {"mbps": total / (read - start) / MB, "write_mbps": total / (wrote - start) / MB,
            "read_mbps": total / (read - wrote) / MB,
            "cipher": writer._writeState.encContext.implementation}


def run(suites: Sequence[str], mib: float = 8, tlslite_ng_mib: float = 0.125,
        runs: int = 3) -> dict:
    sizes = {"ours": int(mib * (1 << 20)), "tlslite-ng": int(tlslite_ng_mib * (1 << 20))}
    rounds: dict = {s: {i: [] for i in IMPLEMENTATIONS} for s in suites}
    for _ in range(runs):  # rounds take turns, so load from elsewhere hits both alike
        for suite in suites:
            for impl in IMPLEMENTATIONS:
                rounds[suite][impl].append(measure(impl, suite, sizes[impl]))
    out: dict = {"record_bytes": RECORD, "runs": runs, "bytes": sizes, "suites": {}}
    for suite, by_impl in rounds.items():
        row: dict = {"version": ".".join(map(str, SUITES[suite]))}
        for impl, results in by_impl.items():
            row[impl] = {k: statistics.median(r[k] for r in results)
                         for k in ("mbps", "write_mbps", "read_mbps")}
            row[impl]["cipher"] = results[0]["cipher"]
        row["speedup"] = statistics.median(
            o["mbps"] / t["mbps"] for o, t in zip(by_impl["ours"], by_impl["tlslite-ng"]))
        out["suites"][suite] = row
    return out


def report(result: dict, out: Any = sys.stdout) -> None:
    print(f"record protection, {result['record_bytes']} B records, MB/s through writer and "
          f"reader (median of {result['runs']} rounds)", file=out)
    print(f"{'suite':42} {'tlslite-ng':>11} {'ours':>9} {'speedup':>8}", file=out)
    for suite, row in result["suites"].items():
        print(f"{suite:42} {row['tlslite-ng']['mbps']:11.2f} {row['ours']['mbps']:9.1f} "
              f"{row['speedup']:7.0f}x", file=out)


def main(argv: Sequence[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench records",
                                description="Record protection per cipher suite: "
                                            "tlslite-ng's pure-Python ciphers beside ours.")
    p.add_argument("--suite", action="append", choices=list(SUITES),
                   help="a cipher suite (repeatable; default: all)")
    p.add_argument("--mib", type=float, default=8, help="MiB per round, ours (default 8)")
    p.add_argument("--tlslite-ng-mib", type=float, default=0.125,
                   help="MiB per round, tlslite-ng (default 0.125)")
    p.add_argument("--runs", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv))
    if args.runs < 1 or args.mib <= 0 or args.tlslite_ng_mib <= 0:
        p.error("--runs must be at least 1 and the sizes positive")
    result = run(args.suite or list(SUITES), args.mib, args.tlslite_ng_mib, args.runs)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0
