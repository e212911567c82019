"""``python -m tlslite_mls bench WHAT``: dispatch to one benchmark."""

from __future__ import annotations

import sys
from typing import Sequence

BENCHMARKS = {
    "mls": "tlslite_mls.bench.mls_cycle",
    "handshake": "tlslite_mls.bench.handshake",
}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(f"usage: python -m tlslite_mls bench {{{','.join(BENCHMARKS)}}} [options]",
              file=sys.stderr)
        return 2
    import importlib
    return importlib.import_module(BENCHMARKS[argv[0]]).main(list(argv[1:]))
