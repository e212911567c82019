"""The main parser, and the checks that make every option work in the chosen mode or
be refused with a one-line reason (never silently ignored)."""

from __future__ import annotations

import argparse

from .errors import usage_error
from .options import Parser, add_client_options, add_server_options

__all__ = ["build_parser", "parse", "normalize", "DELEGATED", "PROG"]

PROG = "tlslite-mls"

# Commands whose parsers live in their own modules (``main(argv)`` each).
DELEGATED = {
    "demo": ("tlslite_mls.demo", "run an MLS-in-TLS connection in both modes on this "
                                 "machine and explain it"),
    "bench": ("tlslite_mls.bench.cli", "benchmarks (bench --help lists them)"),
    "probe": ("tlslite_mls.probe.cli", "check someone else's server of either draft against "
                                       "the wire profile"),
    "decode": ("tlslite_mls.decode.cli", "print every message of a capture (pcap + key log), "
                                         "across MLS epochs"),
}

# Options of one mode only: (attribute, option text).
_EXTENSION_ONLY = [("send_certificates", "--send-certificates"), ("cert", "--cert"),
                   ("key", "--key"), ("tickets", "--tickets"),
                   ("ticket_key_file", "--ticket-key-file"), ("http", "--http"),
                   ("alpn", "--alpn")]
_MLS_TLS_ONLY = [("no_initial_update", "--no-initial-update")]


def build_parser() -> argparse.ArgumentParser:
    """``server``, ``client``, ``keygen`` here; the others listed, run by their modules."""
    p = Parser(prog=PROG, description="TLS 1.3 keyed by MLS (RFC 9420): the TLS extension "
                                      "mode and MLS-TLS mode (--mls-tls)")
    p.add_argument("-V", "--version", action="store_true",
                   help="print the version (and those of tlslite-ng, cryptography, Python) "
                        "and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p.set_defaults(_subparsers=sub)
    add_server_options(sub.add_parser(
        "server", help="echo server of either mode",
        description="Echo server: TLS 1.3 with the MLS extension (classic TLS 1.3 for "
                    "clients without it), or MLS-TLS with --mls-tls. One line per connection "
                    "on stderr."))
    add_client_options(sub.add_parser(
        "client", help="send stdin to a server, print the replies",
        description="Send standard input to the server, write its replies to standard "
                    "output, one summary line on stderr (mode, suite, epoch, peer)."))
    from ..keygen import add_parser as add_keygen
    add_keygen(sub)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse and check ``argv``; an unknown option is named with its command's help."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = args._subparsers.choices.get(args.command, parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    del args._subparsers
    return normalize(args)


def _refuse(args: argparse.Namespace, options: list[tuple[str, str]], why: str) -> None:
    for attr, text in options:
        if getattr(args, attr, None):
            usage_error(f"{text} {why}")


def normalize(args: argparse.Namespace) -> argparse.Namespace:
    """Defaults that depend on the mode, and refusals of options the mode lacks."""
    if args.command not in ("server", "client"):
        return args
    if args.mls_tls:
        if args.mls not in (None, "required"):
            usage_error(f"--mls {args.mls} is an extension-mode setting: MLS-TLS always uses "
                        "MLS", "drop --mls, or drop --mls-tls")
        args.mls = "required"
        if getattr(args, "workers", None) not in (None, 1):
            usage_error("--workers is for the TLS extension mode; an MLS-TLS server runs in "
                        "one process")
        if getattr(args, "insecure", False):
            usage_error("--insecure concerns the classic TLS fallback of the extension mode; "
                        "MLS-TLS has no fallback")
        _refuse(args, _EXTENSION_ONLY, "is an extension-mode option (MLS-TLS has no TLS "
                                       "certificates, tickets or ALPN); drop it or --mls-tls")
        if args.command == "client":
            if args.resume and not args.session_key:
                usage_error("--mls-tls --resume needs --session-key NAME",
                            "give the name the session was kept under (with the same --store)")
    else:
        args.mls = args.mls or "preferred"
        _refuse(args, _MLS_TLS_ONLY, "is an MLS-TLS option; add --mls-tls or drop it")
        if args.command == "client" and (args.resume or args.session_key):
            if args.resume and not args.session_key:
                usage_error("--resume needs --session-key NAME",
                            "give the name the session was kept under (with the same --store)")
            if not args.store or args.store.startswith("memory:"):
                usage_error("--session-key keeps the session in --store, which must outlive "
                            "this run", "give --store sqlite:///PATH or redis://...")
            if args.mls == "off":
                usage_error("--session-key and --resume keep and resume an MLS group, and "
                            "--mls off has none", "drop them, or --mls")
        if args.command == "server" and args.mls == "off" and args.store:
            usage_error("--store keeps MLS groups, and --mls off has none", "drop --store")
    if args.update_every < 0 or args.exporter_length < 1:
        usage_error("--update-every must be 0 or more and -L 1 or more")
    return args
