"""``python -m tlslite_mls decode CAPTURE --keylog FILE``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tlslite_mls decode",
        description="Every message of the captured connections of both modes, across MLS "
                    "epochs (where Wireshark stops at the first epoch change).")
    p.add_argument("capture", help="pcap or pcapng file")
    p.add_argument("--keylog", help="NSS key log (SSLKEYLOGFILE) of one of the peers")
    args = p.parse_args(argv)
    from .capture import read_streams
    from .records import decode, read_keylog
    keylog = read_keylog(args.keylog) if args.keylog else {}
    try:
        streams = read_streams(args.capture)
    except (OSError, ValueError) as exc:
        print(f"decode: cannot read {args.capture}: {exc}", file=sys.stderr)
        return 1
    if not decode(streams, keylog):
        print("decode: no TCP connection with data in the capture", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
