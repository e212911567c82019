"""``python -m tlslite_mls {demo,server,client,keygen,bench,probe,decode}``, also
installed as the ``tlslite-mls`` command."""

from __future__ import annotations

import sys

USAGE = """usage: tlslite-mls COMMAND [options]   (or: python -m tlslite_mls ...)
       tlslite-mls --version

commands:
  demo      run an MLS-in-TLS connection on this machine and explain it
  server    echo server (TLS 1.3 with the MLS handshake extension)
  client    send standard input to a server, print what comes back
  keygen    make an MLS identity file, or export its public side to pin
  bench     benchmarks: bench mls, bench handshake
  probe     check someone else's server of either draft against the wire profile
  decode    print every message of a capture (pcap + key log), across MLS epochs
"""


def version_text() -> str:
    """``tlslite-mls VERSION`` and the versions of what it runs on."""
    import platform
    from importlib import metadata

    from . import __version__
    parts = []
    for dist in ("tlslite-ng", "cryptography"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} missing")
    parts.append(f"Python {platform.python_version()}")
    return f"tlslite-mls {__version__} ({', '.join(parts)})"


def console() -> None:
    """The ``tlslite-mls`` console script."""
    sys.exit(main(sys.argv[1:]))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(version_text())
        return 0
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
    console()
