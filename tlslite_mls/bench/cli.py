"""``python -m tlslite_mls bench [WHAT]``: dispatch to one benchmark."""

from __future__ import annotations

import sys
from typing import Sequence

BENCHMARKS = {
    "mls": "tlslite_mls.bench.mls_cycle",
    "handshake": "tlslite_mls.bench.handshake",
    "modes": "tlslite_mls.bench.modes",
    "load": "tlslite_mls.bench.load",
    "memory": "tlslite_mls.bench.memory",
    "sizes": "tlslite_mls.bench.sizes",
    "hostile": "tlslite_mls.bench.hostile",
    "throughput": "tlslite_mls.bench.throughput",
}
DEFAULT = "modes"


def main(argv: Sequence[str]) -> int:
    """With no name, the side-by-side summary of both modes."""
    argv = list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, DEFAULT)
    if argv[0] not in BENCHMARKS:
        print(f"usage: python -m tlslite_mls bench {{{','.join(BENCHMARKS)}}} [options]",
              file=sys.stderr)
        return 2
    import importlib
    return importlib.import_module(BENCHMARKS[argv[0]]).main(list(argv[1:]))
