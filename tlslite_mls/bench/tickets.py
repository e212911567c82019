"""Time to seal and to open one TLS session ticket: tlslite-ng's own code beside ours.

``python -m tlslite_mls bench tickets [--json]``. Both sides run the real server
methods on a connection without a socket: sealing is ``_serverSendTickets`` with
``ticket_count=1`` (payload, key derivation, AEAD, NewSessionTicket), opening is
``_tryDecrypt`` of the ticket as a TLS 1.3 PSK identity (key derivation, AEAD, parse,
binder key). ``tlslite-ng`` is ``TLSConnection`` (its pure-Python AEADs), ``ours``
``MLSTLSConnection`` (OpenSSL, tls/ticket_seal.py). Each ticket is also opened by the
other side, so the figures are for interchangeable tickets.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Sequence

from tlslite import HandshakeSettings
from tlslite.constants import CipherSuite
from tlslite.extensions import PskIdentity
from tlslite.session import Session
from tlslite.tlsconnection import TLSConnection

from ..tls.connection import MLSTLSConnection

CIPHERS = ("aes256gcm", "aes128gcm", "chacha20-poly1305")


def _server(cls: type, cipher: str, key: bytes) -> tuple[Any, HandshakeSettings, list]:
    """A TLS 1.3 server connection of ``cls`` right after a handshake, without a socket;
    the messages it would send land in the returned list."""
    conn = cls(None)
    conn.version = (3, 4)
    session = Session()
    session.resumptionMasterSecret = bytearray(os.urandom(32))
    session.cipherSuite = CipherSuite.TLS_AES_128_GCM_SHA256
    conn.session = session
    sent: list = []
    conn._queue_message = sent.append
    conn._queue_flush = lambda: iter(())
    settings = HandshakeSettings()
    settings.ticketKeys, settings.ticketCipher, settings.ticket_count = [key], cipher, 1
    return conn, settings, sent


def _seal(conn: Any, settings: HandshakeSettings, sent: list) -> bytes:
    for _ in conn._serverSendTickets(settings):
        pass
    return bytes(sent.pop().ticket)


def _open(conn: Any, settings: HandshakeSettings, ticket: bytes) -> Any:
    match, payload = conn._tryDecrypt(settings, PskIdentity().create(bytearray(ticket), 0))
    if payload is None:
        raise AssertionError("a ticket did not open")
    return payload


def _time(fn: Callable[[], Any], rounds: int, batches: int = 5) -> float:
    """Median over ``batches`` of the mean CPU time (this thread's) of ``rounds`` calls,
    in microseconds."""
    times = []
    for _ in range(batches):
        start = time.thread_time()
        for _ in range(rounds):
            fn()
        times.append((time.thread_time() - start) / rounds * 1e6)
    return statistics.median(times)


def measure(cipher: str, rounds: int = 50) -> dict:
    key = os.urandom(32)
    sides = {"tlslite-ng": _server(TLSConnection, cipher, key),
             "ours": _server(MLSTLSConnection, cipher, key)}
    tickets = {name: _seal(*side) for name, side in sides.items()}
    # interchangeable: each opens the other's ticket
    _open(sides["ours"][0], sides["ours"][1], tickets["tlslite-ng"])
    _open(sides["tlslite-ng"][0], sides["tlslite-ng"][1], tickets["ours"])
    out: dict[str, Any] = {}
    for name, (conn, settings, sent) in sides.items():
        n = max(1, rounds // 10) if name == "tlslite-ng" else rounds
        out[name] = {"seal_us": round(_time(lambda: _seal(conn, settings, sent), n), 1),
                     "open_us": round(_time(lambda: _open(conn, settings, tickets[name]), n), 1)}
    out["seal_speedup"] = round(out["tlslite-ng"]["seal_us"] / out["ours"]["seal_us"], 1)
    out["open_speedup"] = round(out["tlslite-ng"]["open_us"] / out["ours"]["open_us"], 1)
    return out


def run(ciphers: Sequence[str] = CIPHERS, rounds: int = 50) -> dict:
    return {"ticket_cipher": {c: measure(c, rounds) for c in ciphers}}


def report(result: dict, out: Any = sys.stdout) -> None:
    print("one TLS 1.3 session ticket, CPU microseconds (median of 5 batches): "
          "seal = _serverSendTickets, open = _tryDecrypt", file=out)
    for cipher, m in result["ticket_cipher"].items():
        t, o = m["tlslite-ng"], m["ours"]
        print(f"  {cipher:18s} seal {t['seal_us']:8.1f} -> {o['seal_us']:6.1f} "
              f"({m['seal_speedup']}x)   open {t['open_us']:8.1f} -> {o['open_us']:6.1f} "
              f"({m['open_speedup']}x)", file=out)


def main(argv: Sequence[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench tickets",
                                description="Seal and open one TLS session ticket: "
                                            "tlslite-ng's pure Python beside OpenSSL.")
    p.add_argument("--cipher", action="append", choices=CIPHERS,
                   help="a ticket cipher (repeatable; default: all three)")
    p.add_argument("--rounds", type=int, default=50,
                   help="tickets per batch on our side (tlslite-ng: a tenth); default 50")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv))
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    result = run(args.cipher or CIPHERS, args.rounds)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0
