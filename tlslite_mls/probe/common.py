"""Helpers both batteries use: a round trip of data, error descriptions, closing."""

from __future__ import annotations

from typing import Any

from tlslite.constants import AlertDescription
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert

from .report import Check


def round_trip(conn: Any, data: bytes) -> tuple[bool, str]:
    """Send ``data``; an echo server sends it back (any reply counts as data intact only
    if it is the same bytes)."""
    conn.write(data)
    got = b""
    while len(got) < len(data):
        chunk = conn.read(max=len(data) - len(got))
        if not chunk:
            break
        got += bytes(chunk)
    return got == data, "data echoed intact" if got == data else f"reply {got[:40]!r}"


def describe(exc: BaseException) -> str:
    if isinstance(exc, TLSRemoteAlert):
        return f"received {AlertDescription.toStr(exc.description)} alert"
    if isinstance(exc, TLSLocalAlert):
        return f"we sent {AlertDescription.toStr(exc.description)}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - the server may be gone
        pass
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.close()
        except Exception:  # noqa: BLE001
            pass


def judge_resumption(check: Check, conn: Any, resumed: bool, before: int, after: int) -> None:
    """Resumed, at epoch N+2, and data goes through."""
    ok, echoed = round_trip(conn, b"probe after resumption\n")
    check.judge(resumed and after == before + 2 and ok,
                f"resumed {resumed}, epoch {before} -> {after}; {echoed}")
    close_quietly(conn)
