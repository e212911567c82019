"""``python -m tlslite_mls COMMAND ...``, also installed as the ``tlslite-mls`` command:
the command line of :mod:`tlslite_mls.cli`."""

from __future__ import annotations

import sys

from .cli import main, version_text

__all__ = ["main", "console", "version_text"]


def console() -> None:
    """The ``tlslite-mls`` console script."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console()
