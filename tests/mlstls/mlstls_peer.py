"""An MLS-TLS client in its own process: numbered data, epoch changes, cut, resumption.

    python mlstls_peer.py first  PORT SUITE STORE N    (ends with a cut: no close_notify)
    python mlstls_peer.py resume PORT SUITE STORE N    (resumes, then closes properly)

Sends N numbered messages; the server echoes them. The client starts an epoch change
when i % 4 == 2; the server (``--update-every 4``) after every 4th chunk, so the
two never cross. The first run ends with an epoch change of its
own in flight and then cuts the connection. Prints one JSON line of results.
"""

from __future__ import annotations

import json
import socket
import sys

from tlslite_mls.mls.auth import ExpectedIdentity
from tlslite_mls.mlstls import MLSTLSClient, MLSTLSClientSettings, UpdateInFlight
from tlslite_mls.store import open_store


def main(phase: str, port: int, suite: int, store: str, n: int) -> dict:
    settings = MLSTLSClientSettings(suites=[suite], auth_policy=ExpectedIdentity(b"probe-server"),
                                    store=open_store(store), session_key=b"peer",
                                    resume=phase == "resume")
    conn = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=60), settings)
    conn.handshake()
    out = {"resumed": conn.resumed, "start_epoch": conn.epoch,
           "record_suite": conn.record_cipher_suite, "peer": conn.peer_identity.decode()}
    started = 0
    for i in range(1, n + 1):
        msg = f"{phase}:{i}:".encode() + b"x" * (i % 7) * 100
        conn.write(msg)
        got = b""
        while len(got) < len(msg):
            got += conn.read()
        if got != msg:
            raise SystemExit(f"echo mismatch at {i}: {got[:40]!r}")
        if i % 4 == 2:
            try:
                conn.start_update()
                started += 1
            except UpdateInFlight:
                pass
    out.update(epoch=conn.epoch, epoch_changes=conn.epoch_changes, client_started=started,
               exporter=conn.exporter(b"test", b"", 16).hex())
    if phase == "first":
        conn.start_update()  # in flight when the connection breaks
        out["pending_at_cut"] = True
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.sock.close()
    else:
        conn.close()
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3], 0), sys.argv[4],
                          int(sys.argv[5]))), flush=True)
