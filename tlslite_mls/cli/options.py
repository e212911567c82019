"""The options the commands share, their types, and a parser whose errors are one line.

Every option has help text and works in both modes unless its help says which mode it
belongs to; :mod:`tlslite_mls.cli.checks` refuses the ones that do not apply.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from ..serving import add_limit_arguments
from .errors import USAGE

__all__ = ["Parser", "parse_address", "suite_id", "add_common", "add_client_auth",
           "add_server_auth", "add_pin", "add_output_options",
           "add_server_options", "add_client_options"]


class Parser(argparse.ArgumentParser):
    """``argparse`` with one-line errors: ``error: MESSAGE; see PROG --help`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        """One line and exit code 2, instead of argparse's usage block."""
        print(f"error: {message}; see '{self.prog} --help'", file=sys.stderr, flush=True)
        raise SystemExit(USAGE)


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``); an empty host is 127.0.0.1; the port 0..65535."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} out of range (0 to 65535; 0 lets a "
                                         "server pick a free one)")
    return host.strip("[]") or "127.0.0.1", int(port)


def suite_id(text: str) -> int:
    """An MLS cipher suite id (``0x0001`` or ``1``) this package implements."""
    from ..mls.crypto import supported_cipher_suites
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a cipher suite id: {text!r} "
                                         "(e.g. 0x0001)") from None
    known = supported_cipher_suites()
    if value not in known:
        raise argparse.ArgumentTypeError(
            f"unknown MLS cipher suite 0x{value:04x} (known: "
            + ", ".join(f"0x{s:04x}" for s in known) + ")")
    return value


def add_common(p: argparse.ArgumentParser) -> None:
    """Identity, mode and output options of both server and client."""
    p.add_argument("--mls-tls", action="store_true",
                   help="MLS-TLS mode on a dedicated port: MLS replaces the TLS handshake "
                        "(default: TLS 1.3 with the MLS extension)")
    p.add_argument("--mls", choices=["off", "preferred", "required"], default=None,
                   help="extension mode: whether MLS is off, preferred (default) or "
                        "required; MLS-TLS always uses MLS")
    p.add_argument("--suite", type=suite_id, action="append",
                   help="MLS cipher suite id, repeatable, preferred first")
    p.add_argument("--identity", metavar="NAME",
                   help="basic MLS credential with this name (a new key every run; see "
                        "--identity-file)")
    p.add_argument("--identity-file", metavar="FILE",
                   help="MLS identity file (key, credential, suite) made by 'keygen'")
    p.add_argument("--mls-cert", metavar="FILE",
                   help="PEM certificate chain for an x509 MLS credential")
    p.add_argument("--mls-key", metavar="FILE", help="PEM private key of --mls-cert")
    p.add_argument("--send-certificates", action="store_true",
                   help="extension mode: also send TLS certificate messages when MLS is "
                        "negotiated")
    p.add_argument("--store", default=None, metavar="SPEC",
                   help="state store: memory:, sqlite:///PATH or redis://...; one that "
                        "cannot be opened ends the command")
    p.add_argument("--max-stored-groups", type=int, default=None, metavar="N",
                   help="groups the --store keeps for resumption at most, the least "
                        "recently written evicted first (default 100000)")
    p.add_argument("--update-every", type=int, default=0, metavar="N",
                   help="start an MLS epoch change after every N chunks of data (0: never)")
    p.add_argument("--alpn", action="append", metavar="PROTOCOL",
                   help="extension mode: offer/accept this ALPN protocol, repeatable "
                        "(MLS-TLS has no ALPN)")
    add_output_options(p)


def add_output_options(p: argparse.ArgumentParser) -> None:
    """Key log, exporter value and logging."""
    p.add_argument("--keylog", metavar="FILE",
                   help="NSS key log file (default $SSLKEYLOGFILE)")
    p.add_argument("-l", "--exporter-label", metavar="LABEL",
                   help="print the exporter value for LABEL after the handshake (the MLS "
                        "exporter when MLS was negotiated, else TLS 1.3's)")
    p.add_argument("-L", "--exporter-length", type=int, default=20, metavar="LENGTH",
                   help="length in bytes of the -l exporter value (default 20)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log what the package does on stderr (logger 'tlslite_mls'); "
                        "-vv for debug detail")


def add_pin(p: argparse.ArgumentParser, peer: str) -> None:
    """``--pin`` (alias ``--expect-key``): keys the ``peer`` must hold."""
    p.add_argument("--pin", "--expect-key", dest="pin", action="append", metavar="FILE",
                   help=f"accept only a {peer} holding this key: a public identity file "
                        "('keygen --export-public'), repeatable")


def add_server_auth(p: argparse.ArgumentParser) -> None:
    """How a server judges clients."""
    p.add_argument("--trust-anchor", metavar="FILE",
                   help="PEM CA certificates: clients need an x509 MLS credential chaining "
                        "to them (and carrying --expect-identity, if given)")
    p.add_argument("--expect-identity", metavar="NAME",
                   help="accept only clients with this name (alone: a name check only)")
    add_pin(p, "client")


def add_client_auth(p: argparse.ArgumentParser) -> None:
    """How a client judges the server (MLS credential, and classic fallback's certificate)."""
    p.add_argument("--trust-anchor", metavar="FILE",
                   help="PEM CA certificates: for an x509 server MLS credential, and for the "
                        "server's TLS certificate on classic fallback (default: the system "
                        "trust store)")
    p.add_argument("--server-name", metavar="NAME",
                   help="server name (SNI, and the name its certificate or x509 credential "
                        "must carry; default: the host dialled)")
    p.add_argument("--expect-identity", metavar="NAME",
                   help="the server's name (alone: a name check only, not verified; with "
                        "--pin or --trust-anchor: checked as well)")
    p.add_argument("--accept-any-identity", action="store_true",
                   help="accept any server MLS credential (unauthenticated; for tests)")
    p.add_argument("--insecure", action="store_true",
                   help="extension mode: do not verify the server's TLS certificate when "
                        "falling back to classic TLS (unauthenticated; said in the summary "
                        "line)")
    add_pin(p, "server")


def add_server_options(p: argparse.ArgumentParser) -> None:
    """``server``: everything it takes."""
    add_common(p)
    p.add_argument("--cert", metavar="FILE",
                   help="extension mode: PEM TLS certificate chain for classic-TLS clients "
                        "(default: a throw-away self-signed one)")
    p.add_argument("--key", metavar="FILE", help="extension mode: PEM TLS private key of "
                                                 "--cert")
    p.add_argument("--tickets", action="store_true",
                   help="extension mode: issue TLS session tickets so clients can --resume "
                        "(the ticket key lives as long as the process; see "
                        "--ticket-key-file)")
    p.add_argument("--ticket-key-file", metavar="FILE",
                   help="extension mode: read the ticket key from FILE, or make one there "
                        "(owner-only), so tickets outlive a restart; implies --tickets")
    add_server_auth(p)
    p.add_argument("--count", type=int, default=0, metavar="N",
                   help="serve this many connections, one at a time, then exit (0: forever)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="extension mode: worker processes on the one address, sharing "
                        "--store (default: the number of CPUs with an sqlite: or redis: "
                        "store, else 1)")
    p.add_argument("--http", action="store_true",
                   help="extension mode: instead of echoing, answer each connection's first "
                        "HTTP request with a page saying what was negotiated")
    add_limit_arguments(p)
    p.add_argument("address", type=parse_address, metavar="HOST:PORT",
                   help="where to listen (port 0: any free port, printed)")


def add_client_options(p: argparse.ArgumentParser) -> None:
    """``client``: everything it takes."""
    add_common(p)
    add_client_auth(p)
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="connect and handshake timeout in seconds (default 30)")
    p.add_argument("--linger", type=float, default=2.0, metavar="S",
                   help="seconds to wait for replies after stdin ends (default 2)")
    p.add_argument("--session-key", metavar="NAME",
                   help="keep the session in --store (sqlite: or redis:) under this name for "
                        "a later --resume (extension mode: the TLS session with its tickets "
                        "and the MLS group; MLS-TLS: the MLS group)")
    p.add_argument("--resume", action="store_true",
                   help="resume the session kept under --session-key (extension mode: the "
                        "server must issue tickets, e.g. --tickets)")
    p.add_argument("--no-initial-update", action="store_true",
                   help="MLS-TLS: skip the client's epoch change right after the handshake")
    p.add_argument("address", type=parse_address, metavar="HOST:PORT",
                   help="the server to connect to")


