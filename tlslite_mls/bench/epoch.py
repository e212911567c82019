"""CPU of one epoch change, both sides together, in one process and one thread.

The socket figures of ``bench modes`` (epoch changes per second against a server
process) include the echo traffic that carries the markers, the round trips and the
scheduling of two processes. The goal of an epoch change is stated as CPU for both
sides together, so this measures exactly that: a connected pair of each mode on a
socket pair (handshake with the server on a thread), then every epoch change driven
from one thread, each side reading only what the other has already written:

* extension mode: the client's ``mls_update()`` and one 1-byte data record (the
  server handles messages only while it reads application data); the server's
  ``read()`` applies the commit, sends its marker and switches sending; the client's
  ``mls_wait()`` takes that marker, switches both directions and sends its own; the
  server's ``mls_wait()`` switches reading;
* MLS-TLS: ``start_update()`` and three ``pump_one()`` calls (commit, marker, marker).

Each change is checked (both sides at the new epoch in both directions). Beside the
CPU per change: its crypto floor, the operations one change performs counted and
timed as for handshakes (floor.py).
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import threading
import time
from typing import Any, Callable, Optional, Sequence

from . import handshake as _handshake

__all__ = ["extension_pair", "mls_tls_pair", "epoch_change_cpu_and_floor", "parse_runs"]


def _handshake_pair(serve: Callable[[socket.socket], Any],
                    connect: Callable[[socket.socket], Any]) -> tuple[Any, Any]:
    a, b = socket.socketpair()
    out: dict[str, Any] = {}

    def server_side() -> None:
        try:
            out["server"] = serve(b)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            out["error"] = exc
    thread = threading.Thread(target=server_side)
    thread.start()
    try:
        client = connect(a)
    finally:
        thread.join(30)
    if "error" in out:
        raise out["error"]
    return client, out["server"]


def extension_pair(mat: Any, suite: int) -> tuple[Any, Any, Callable[[], None]]:
    """A connected extension-mode (client, server) and a function doing one epoch change."""
    from tlslite import X509CertChain, parsePEMKey

    from ..tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection
    from ..tls.post_handshake import UpdatePolicy
    server_key, client_key = mat.mls_keys(suite)
    chain = X509CertChain()
    chain.parsePemList(mat.cert_pem)
    key = parsePEMKey(mat.key_pem, private=True)
    settings = _handshake._tlslite_settings()  # no ticket keys: nothing is stored
    ss = MLSServerSettings(mode="required", suites=[suite], credential=mat.mls_credential,
                           signature_key=server_key).validate()
    cs = MLSClientSettings(mode="required", suites=[suite],
                           expected_identity=_handshake.SERVER_IDENTITY,
                           credential=mat.mls_client_credential, signature_key=client_key)

    def serve(sock: socket.socket) -> Any:
        conn = MLSTLSConnection(sock, mls_settings=ss)
        conn.handshakeServer(certChain=chain, privateKey=key, settings=settings)
        return conn

    def connect(sock: socket.socket) -> Any:
        conn = MLSTLSConnection(sock, mls_settings=cs)
        conn.mls_update_policy = UpdatePolicy(initial_update=False, resumable=False)
        conn.handshakeClientCert(settings=settings)
        return conn

    client, server = _handshake_pair(serve, connect)

    def one() -> None:
        epoch = client.mls_sending_epoch
        client.mls_update()
        client.write(b".")
        if server.read(max=1) != b".":
            raise RuntimeError("extension mode: the data record did not arrive")
        client.mls_wait()
        server.mls_wait()
        _check(epoch + 1, client.mls_sending_epoch, client.mls_receiving_epoch,
               server.mls_sending_epoch, server.mls_receiving_epoch)
    return client, server, one


def mls_tls_pair(mat: Any, suite: int) -> tuple[Any, Any, Callable[[], None]]:
    """A connected MLS-TLS (client, server) and a function doing one epoch change."""
    from ..mlstls import (MLSTLSClient, MLSTLSClientSettings, MLSTLSServer,
                          MLSTLSServerSettings)
    server_key, client_key = mat.mls_keys(suite)
    ss = MLSTLSServerSettings(suites=[suite], credential=mat.mls_credential,
                              signature_key=server_key, resumable=False)
    cs = MLSTLSClientSettings(suites=[suite], expected_identity=_handshake.SERVER_IDENTITY,
                              credential=mat.mls_client_credential, signature_key=client_key,
                              initial_update=False)

    def serve(sock: socket.socket) -> Any:
        conn = MLSTLSServer(sock, ss)
        conn.handshake()
        return conn

    def connect(sock: socket.socket) -> Any:
        conn = MLSTLSClient(sock, cs)
        conn.handshake()
        return conn

    client, server = _handshake_pair(serve, connect)

    def one() -> None:
        epoch = client.sending_epoch
        client.start_update()
        for side in (server, client, server):  # commit, marker, marker
            if not side.pump_one():
                raise RuntimeError("MLS-TLS: the peer closed during an epoch change")
        _check(epoch + 1, client.sending_epoch, client.receiving_epoch,
               server.sending_epoch, server.receiving_epoch)
    return client, server, one


def _check(expected: int, *epochs: Any) -> None:
    if any(e != expected for e in epochs):
        raise RuntimeError(f"epoch change incomplete: epochs {epochs}, expected {expected}")


def _close(*conns: Any) -> None:
    for conn in conns:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the peer may have closed first
            pass


def epoch_change_cpu_and_floor(n: int, runs: int, suite: int = 1, mat: Any = None) -> dict:
    """Per mode: CPU ms per epoch change, both sides together (the median of ``runs``
    runs of ``n``), beside the crypto floor of the operations one change performs
    (only for suite 0x0001, whose primitives floor.py times)."""
    from .floor import count_operations, floor_report, unit_costs_us
    own = mat is None
    mat = mat if mat is not None else _handshake._Material((suite,))
    out = {}
    try:
        units = unit_costs_us() if suite == 1 else None
        for mode, make in (("extension_mode", extension_pair), ("mls_tls", mls_tls_pair)):
            client, server, one = make(mat, suite)
            try:
                ops = count_operations(one)  # also the warm-up
                cpu = []
                for _ in range(runs):
                    start = time.thread_time()
                    for _ in range(n):
                        one()
                    cpu.append((time.thread_time() - start) / n * 1000)
            finally:
                _close(client, server)
            median = statistics.median(cpu)
            out[mode] = floor_report(ops, units, median, per="epoch_change") \
                if units is not None else {"cpu_ms_per_epoch_change": round(median, 4),
                                           "operations": ops}
    finally:
        if own:
            mat.cleanup()
    return out


def parse_runs(argv: Optional[Sequence[str]], prog: str, description: str, n: int,
               runs: int, what: str) -> Any:
    """The options shared by ``bench epoch`` and ``bench modes``: -n, --runs, --suite,
    --json."""
    import argparse
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("-n", type=int, default=n, help=f"{what} per run (default {n})")
    p.add_argument("--runs", type=int, default=runs,
                   help=f"runs per mode; the median run is reported (default {runs})")
    p.add_argument("--suite", type=lambda s: int(s, 0), default=0x0001,
                   help="MLS cipher suite of both modes (default 0x0001)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    if args.n < 1 or args.runs < 1:
        p.error("-n and --runs must be at least 1")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_runs(argv, "python -m tlslite_mls bench epoch",
                      "CPU per epoch change, both sides together, beside its crypto floor "
                      "(both modes).", 200, 5, "epoch changes")
    result = epoch_change_cpu_and_floor(args.n, args.runs, args.suite)
    if args.json:
        print(json.dumps(result))
        return 0
    from .floor import describe
    print(f"Epoch change, both sides in one thread, MLS suite 0x{args.suite:04x}, "
          f"median of {args.runs} runs of {args.n}", file=sys.stdout)
    for mode, name in (("extension_mode", "extension mode"), ("mls_tls", "MLS-TLS")):
        fig = result[mode]
        line = describe(fig) if "floor_ms" in fig else \
            f"CPU per epoch change {fig['cpu_ms_per_epoch_change']:.3f} ms"
        print(f"  {name:15s} {line}")
    return 0
