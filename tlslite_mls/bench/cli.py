"""``python -m tlslite_mls bench [WHAT]``: dispatch to one benchmark."""

from __future__ import annotations

import sys
from typing import Sequence

BENCHMARKS = {
    "mls": "tlslite_mls.bench.mls_cycle",
    "handshake": "tlslite_mls.bench.handshake",
    "modes": "tlslite_mls.bench.modes",
    "epoch": "tlslite_mls.bench.epoch",
    "load": "tlslite_mls.bench.load",
    "memory": "tlslite_mls.bench.memory",
    "sizes": "tlslite_mls.bench.sizes",
    "hostile": "tlslite_mls.bench.hostile",
    "throughput": "tlslite_mls.bench.throughput",
    "tickets": "tlslite_mls.bench.tickets",
    "records": "tlslite_mls.bench.records",
}
DESCRIPTIONS = {
    "mls": "the two-party MLS cycle: our core, mls-rs and ts-mls",
    "handshake": "MLS handshakes/s against classic TLS 1.3 (tlslite-ng, Python ssl)",
    "modes": "handshakes/s and epoch changes/s of both modes side by side (the default)",
    "epoch": "CPU per epoch change, both sides together, beside its crypto floor",
    "load": "many concurrent clients with epoch changes against one server",
    "memory": "server memory per connection and over many connection cycles",
    "sizes": "KeyPackage, Welcome and commit sizes per MLS suite and credential",
    "hostile": "a good client's handshakes under half-open and malformed connections",
    "throughput": "bulk MB/s and CPU per MiB of both modes beside ssl and tlslite-ng",
    "tickets": "time to seal and open a session ticket, tlslite-ng's beside ours",
    "records": "record MB/s per cipher suite (CCM, CBC, 3DES), tlslite-ng's beside ours",
}
DEFAULT = "modes"
USAGE = f"usage: python -m tlslite_mls bench [{{{','.join(BENCHMARKS)}}}] [options]"


def help_text() -> str:
    """The full help: every benchmark and what it measures."""
    rows = "".join(f"  {name:11} {DESCRIPTIONS[name]}\n" for name in BENCHMARKS)
    return (f"{USAGE}\n\nbenchmarks (each takes --help for its options; without a name: "
            f"{DEFAULT}):\n{rows}")


def main(argv: Sequence[str]) -> int:
    """With no name, the side-by-side summary of both modes."""
    argv = list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, DEFAULT)
    if argv[0] in ("-h", "--help"):
        print(help_text(), end="")
        return 0
    if argv[0] not in BENCHMARKS:
        print(f"error: unknown benchmark {argv[0]!r}; {USAGE}", file=sys.stderr)
        return 2
    import importlib
    return importlib.import_module(BENCHMARKS[argv[0]]).main(list(argv[1:]))
