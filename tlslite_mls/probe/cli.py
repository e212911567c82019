"""``python -m tlslite_mls probe HOST:PORT [--json] [--codepoints NAME=VALUE ...] [--mls-tls]``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

CODEPOINTS = ("extension_type", "handshake_type", "binding_extension_type",
              "client_hello_hash_extension_type")


def _codepoint(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or name not in CODEPOINTS:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE with NAME one of {', '.join(CODEPOINTS)}, got {text!r}")
    try:
        return name, int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    from ..cli.options import parse_address
    p = argparse.ArgumentParser(
        prog="python -m tlslite_mls probe",
        description="Check a server of either draft against docs/profile.md: one connection per "
                    "check, a table of expected and observed behaviour.")
    p.add_argument("address", type=parse_address, metavar="HOST:PORT")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--codepoints", type=_codepoint, nargs="+", default=[], metavar="NAME=VALUE",
                   help=f"code points the server uses instead of docs/profile.md's "
                        f"({', '.join(CODEPOINTS)})")
    p.add_argument("--mls-tls", action="store_true",
                   help="the server speaks MLS-TLS (draft-kohbrok-mls-tls) on this port")
    p.add_argument("--server-name", help="SNI to send (default: none)")
    p.add_argument("--timeout", type=float, default=15.0, help="per-connection timeout, s")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    host, port = args.address
    codepoints = dict(args.codepoints)
    if args.mls_tls:
        from .mlstls import MLSTLSProbe as Probe
    else:
        from .extension import ExtensionProbe as Probe
    from .extension import Target
    try:
        report = Probe(Target(host, port, args.server_name, args.timeout, codepoints)).run()
    except ValueError as exc:  # a code point the settings refuse
        raise SystemExit(f"probe: {exc}")
    print(report.to_json() if args.json else report.to_table(), end="" if not args.json else "\n")
    return 1 if report.failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
