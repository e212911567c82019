"""``python -m tlslite_mls.mlstls.cli``: MLS-TLS mode's commands on their own.

``server``/``client`` are the main command line's with ``--mls-tls`` (see
:mod:`tlslite_mls.cli`); ``demo`` and ``bench [-n N] [--suite S]`` run
:mod:`tlslite_mls.mlstls.demo`. Nothing in the package imports this module, so the
main command line and this mode do not import each other.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from .demo import bench_mls_tls, demo_mls_tls, echo

__all__ = ["main", "demo_mls_tls", "bench_mls_tls", "echo"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; server and client take the main command line's options."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("server", "client"):
        from ..cli import main as cli_main
        return cli_main([args[0], "--mls-tls", *args[1:]])
    from ..cli.options import Parser, suite_id
    p = Parser(prog="python -m tlslite_mls.mlstls.cli",
               description="MLS-TLS mode (MLS replaces the TLS handshake); server and client "
                           "take the options of 'python -m tlslite_mls server|client "
                           "--mls-tls'")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("server", help="echo server (python -m tlslite_mls server --mls-tls)")
    sub.add_parser("client", help="stdin to the server, replies to stdout")
    sub.add_parser("demo", help="server and client on 127.0.0.1, with an account")
    b = sub.add_parser("bench", help="handshakes/s and epoch changes/s on loopback")
    b.add_argument("-n", type=int, default=20, help="handshakes and epoch changes to time "
                                                    "(default 20)")
    b.add_argument("--suite", type=suite_id, default=0x0003,
                   help="MLS cipher suite (default 0x0003)")
    parsed = p.parse_args(args)
    if parsed.command == "demo":
        return demo_mls_tls()
    result = bench_mls_tls(parsed.n, parsed.suite)
    for key, value in result.items():
        print(f"{key:22} {value}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
