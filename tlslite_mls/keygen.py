"""``python -m tlslite_mls keygen``: make an identity file, or export its public side.

    keygen --suite 0x0001 --name server.example -o server.pem            (basic)
    keygen --suite 0x0001 --name server.example --ca-cert CA.pem --ca-key CA.key \\
           -o server.pem                                                 (x509)
    keygen --export-public server.pem -o server.pub                      (to pin)

The identity file holds the private key and is written readable by its owner only;
an existing file is never overwritten without ``--force``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .identity import (generate_identity, load_identity, public_identity_pem,
                       write_private_file)

__all__ = ["add_parser", "cmd_keygen"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``keygen`` subcommand on the main parser's subparsers."""
    k = sub.add_parser("keygen", help="make an MLS identity file, or export its public side",
                       description="Make an MLS identity file (signature key, credential, "
                                   "suite), or export its public side for peers to pin.")
    k.add_argument("--suite", type=lambda s: int(s, 0), default=0x0001,
                   help="MLS cipher suite the identity is for (default 0x0001, Ed25519)")
    k.add_argument("--name", help="identity name: the basic credential, or the x509 "
                                  "subjectAltName (DNS name, IP or e-mail address)")
    k.add_argument("--ca-cert", metavar="FILE",
                   help="PEM certificate of the issuing CA (then its chain up to the "
                        "root's child): makes an x509 credential")
    k.add_argument("--ca-key", metavar="FILE", help="PEM private key of --ca-cert")
    k.add_argument("--days", type=int, default=365,
                   help="validity of the x509 certificate in days (default 365)")
    k.add_argument("--export-public", metavar="IDENTITY_FILE",
                   help="write the public side (name, signature public key, suite) of "
                        "this identity file instead of making one")
    k.add_argument("-o", "--out", metavar="FILE",
                   help="output file (required for a new identity; default stdout for "
                        "--export-public)")
    k.add_argument("--force", action="store_true", help="overwrite an existing output file")
    return k


def _read(path: str, what: str) -> bytes:
    from .cli.errors import usage_error
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        usage_error(f"{path}: cannot read the {what}: {e.strerror or e}")


def cmd_keygen(args: argparse.Namespace) -> int:
    """Write the identity (or public identity) file; one line on stderr says what."""
    from .cli.errors import usage_error
    try:
        if args.export_public:
            if args.name or args.ca_cert or args.ca_key:
                usage_error("--export-public takes an identity file; --name and --ca-* "
                            "are for making one")
            pub = load_identity(args.export_public).public()
            data = public_identity_pem(pub)
            if args.out:
                write_private_file(args.out, data, args.force, mode=0o644)
            else:
                sys.stdout.write(data.decode())
            what = "public identity"
        else:
            if not args.name:
                usage_error("keygen needs --name (or --export-public FILE)")
            if not args.out:
                usage_error("keygen needs -o FILE: the identity holds a private key")
            if bool(args.ca_cert) != bool(args.ca_key):
                usage_error("--ca-cert and --ca-key go together")
            ca = (_read(args.ca_cert, "CA certificate"), _read(args.ca_key, "CA key")) \
                if args.ca_cert else (None, None)
            ident = generate_identity(args.suite, args.name, *ca, days=args.days)
            write_private_file(args.out, ident.to_pem(), args.force)
            pub, what = ident.public(), "identity"
    except ValueError as e:
        usage_error(str(e))
    print(f"keygen: wrote {args.out or 'stdout'}: MLS {what} "
          f"{(pub.identity or b'').decode(errors='replace')!r}, suite "
          f"0x{pub.cipher_suite or 0:04x}, key {pub.fingerprint}", file=sys.stderr, flush=True)
    return 0
