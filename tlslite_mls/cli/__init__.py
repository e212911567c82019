"""The command line, one module per command: ``python -m tlslite_mls`` / ``tlslite-mls``.

:mod:`.parser` builds the parser and checks options against the mode, :mod:`.server`
and :mod:`.client` run the extension mode, :mod:`.mlstls` MLS-TLS mode, :mod:`.demo`
the demo's first part; ``keygen``, ``bench``, ``probe``, ``decode`` and the full
``demo`` live in their own modules. Errors are one line (:mod:`.errors`): exit code 2
for a usage mistake, 1 at run time, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Optional, Sequence

from .errors import CLIError, report, usage_error
from .identities import open_cli_store, peer_authentication, validated
from .options import parse_address
from .output import pump_stdio
from .parser import DELEGATED, PROG, build_parser, normalize, parse
from .server import tls_settings
from ..tls.certificates import load_tls_identity, throwaway_tls_identity

__all__ = ["main", "version_text", "build_parser", "normalize", "usage_error", "parse_address", "tls_settings",
           "open_cli_store", "peer_authentication", "validated", "pump_stdio",
           "load_tls_identity", "throwaway_tls_identity"]


def version_text() -> str:
    """``tlslite-mls VERSION`` and the versions of what it runs on."""
    import platform
    from importlib import metadata

    from .. import __version__
    parts = []
    for dist in ("tlslite-ng", "cryptography"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} missing")
    parts.append(f"Python {platform.python_version()}")
    return f"tlslite-mls {__version__} ({', '.join(parts)})"


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in DELEGATED:
        module = importlib.import_module(DELEGATED[argv[0]][0])
        return int(module.main(argv[1:]) or 0)
    args = parse(argv)
    if args.command == "keygen":
        from ..keygen import cmd_keygen
        return cmd_keygen(args)
    from .output import setup_logging
    if args.command == "server":
        from ..serving import log_to_stderr
        log_to_stderr()
        setup_logging(args.verbose, "server: ")
        if args.mls_tls:
            from .mlstls import run_server
            return run_server(args)
        from .server import run as run_server
        return run_server(args)
    setup_logging(args.verbose, "client: ")
    if args.mls_tls:
        from .mlstls import run_client
        return run_client(args)
    from .client import run as run_client
    return run_client(args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; a :class:`CLIError` becomes its line on stderr and exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-V"], ["--version"]):
        print(version_text())
        return 0
    if argv and argv[0] not in DELEGATED and not argv[0].startswith("-") \
            and argv[0] not in ("server", "client", "keygen"):
        print(f"error: unknown command {argv[0]!r}; see '{PROG} --help'", file=sys.stderr)
        return 2
    try:
        return _dispatch(argv)
    except CLIError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return 130
