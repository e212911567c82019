"""Helpers of the MLS-TLS tests: server processes, their log lines, raw records."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from hostile import Server

PY = sys.executable
REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CLI = "tlslite_mls.mlstls.cli"


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), e.get("PYTHONPATH", "")]
                                      ).rstrip(os.pathsep)
    return e


class ServerProcess(Server):
    """``python -m tlslite_mls server --mls-tls`` in its own process; its stderr lines."""

    def __init__(self, *args: str) -> None:
        super().__init__(*args, mls_tls=True)


from tlslite_mls.probe.raw import read_plain_alert, record, recv_exactly  # noqa: E402,F401
