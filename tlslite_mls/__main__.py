"""``python -m tlslite_mls {demo,server,client,bench,probe,decode}``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m tlslite_mls COMMAND [options]

commands:
  demo      run an MLS-in-TLS connection on this machine and explain it
  server    echo server (TLS 1.3 with the MLS handshake extension)
  client    send standard input to a server, print what comes back
  keygen    make an MLS identity file, or export its public side to pin
  bench     benchmarks: bench mls, bench handshake
  probe     check someone else's server of either draft against the wire profile
  decode    print every message of a capture (pcap + key log), across MLS epochs
"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        from .bench.cli import main as bench_main
        return bench_main(rest)
    if command == "demo":
        from .demo import main as demo_main
        return demo_main(rest)
    if command == "decode":
        from .decode.cli import main as decode_main
        return decode_main(rest)
    if command == "probe":
        from .probe.cli import main as probe_main
        return probe_main(rest)
    if command in ("server", "client", "keygen"):
        from .cli import main as cli_main
        return cli_main(argv)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
