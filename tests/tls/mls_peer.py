"""One side of MLS-in-TLS handshakes, as a process of its own.

``python mls_peer.py server|client PLAN.json [PORT]``. The plan (written by
test_processes.py) lists the runs and the key material; both sides read the same
plan, so they agree on what each connection should do without talking about it.

The server prints its port on the first stdout line, then serves one connection per
run. On each connection the client sends its MLS exporter and its view of the
session as one JSON line, the server answers with its own; each side then prints
one JSON line with what it saw, including whether the exporters matched. A run
that is expected to fail prints the error (type, alert description) instead.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tlslite.constants import CipherSuite  # noqa: E402
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert  # noqa: E402

from tlslite_mls.mls.credentials import Credential  # noqa: E402
from tlslite_mls.tls import MLSClientSettings, MLSServerSettings, MLSTLSConnection  # noqa: E402
from tlsutil import load_pki, tls13_settings  # noqa: E402

EXPORTER = (b"process test", b"ctx", 32)


def _tls_settings(run: dict, role: str) -> Any:
    if role == "server":
        # The HelloRetryRequest runs: the client offers a secp256r1 share, the
        # server takes only x25519.
        return tls13_settings(eccCurves=["x25519"] if run.get("hrr")
                              else ["x25519", "secp256r1"])
    s = tls13_settings(cipherNames=[run["tls_cipher"]],
                       eccCurves=["x25519", "secp256r1"])
    if run.get("hrr"):
        s.keyShares = ["secp256r1"]
    return s


def _identity(plan: dict, role: str) -> tuple[Credential, bytes]:
    side = plan[role]
    return Credential.x509([bytes.fromhex(c) for c in side["chain"]]), \
        bytes.fromhex(side["key"])


def _anchors(plan: dict, which: str) -> list[bytes]:
    return [plan[which].encode()]


def _facts(conn: MLSTLSConnection) -> dict:
    return {"mls": conn.mls_negotiated, "mls_suite": conn.mls_cipher_suite,
            "epoch": conn.mls_epoch,
            "local": (conn.mls_local_identity or b"").decode(),
            "peer": (conn.mls_peer_identity or b"").decode(),
            "tls_cipher": CipherSuite.ietfNames.get(conn.session.cipherSuite),
            "server_cert": conn.session.serverCertChain is not None,
            "exporter": conn.mls_exporter(*EXPORTER).hex() if conn.mls_negotiated else None}


def _error(exc: BaseException) -> dict:
    alert = None
    if isinstance(exc, (TLSLocalAlert, TLSRemoteAlert)):
        from tlslite.constants import AlertDescription
        alert = AlertDescription.toStr(exc.description)
    return {"error": type(exc).__name__, "alert": alert, "text": str(exc)[:300]}


def _read_line(conn: MLSTLSConnection) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.read()
        if not chunk:
            raise EOFError("connection closed before a full line")
        data += bytes(chunk)
    return data


def _exchange(conn: MLSTLSConnection, first: bool) -> dict:
    """Send our facts, receive the peer's (the client speaks first)."""
    mine = _facts(conn)
    if first:
        conn.write(json.dumps(mine).encode() + b"\n")
        theirs = json.loads(_read_line(conn))
    else:
        theirs = json.loads(_read_line(conn))
        conn.write(json.dumps(mine).encode() + b"\n")
    mine["peer_exporter_equal"] = mine["exporter"] is not None and \
        mine["exporter"] == theirs["exporter"]
    mine["peer_view"] = {k: theirs[k] for k in ("local", "peer", "mls_suite", "epoch")}
    return mine


def serve(plan: dict) -> None:
    cred, key = _identity(plan, "server")
    srv = socket.create_server(("127.0.0.1", 0))
    print(srv.getsockname()[1], flush=True)
    chain, tls_key = load_pki(plan["tls_pki"])
    for run in plan["runs"]:
        sock, _ = srv.accept()
        sock.settimeout(30)
        mls = MLSServerSettings(mode="required", suites=[plan["mls_suite"]], credential=cred,
                                signature_key=key, trust_anchors=_anchors(plan, "ca"),
                                send_certificates=run.get("certs", False))
        conn = MLSTLSConnection(sock, mls_settings=mls)
        try:
            conn.handshakeServer(certChain=chain, privateKey=tls_key,
                                 settings=_tls_settings(run, "server"))
            out = _exchange(conn, first=False)
            conn.close()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out = _error(exc)
        finally:
            sock.close()
        print(json.dumps({"run": run["name"], **out}), flush=True)
    srv.close()


def _count_hello_retry_requests() -> list:
    """A list that grows by one for every HelloRetryRequest the client parses."""
    from tlslite.constants import TLS_1_3_HRR
    from tlslite.messages import ServerHello
    seen: list = []
    parse = ServerHello.parse

    def spy(self: Any, parser: Any) -> Any:
        hello = parse(self, parser)
        if hello.random == TLS_1_3_HRR:
            seen.append(1)
        return hello
    ServerHello.parse = spy  # type: ignore[method-assign]
    return seen


def _count_sent_key_shares() -> list:
    """The number of key shares in each ClientHello the client writes (this process only)."""
    from tlslite.constants import ExtensionType
    from tlslite.messages import ClientHello
    seen: list = []
    write = ClientHello.write

    def spy(self: Any) -> Any:
        shares = self.getExtension(ExtensionType.key_share)
        seen.append(len(shares.client_shares) if shares is not None else None)
        return write(self)
    ClientHello.write = spy  # type: ignore[method-assign]
    return seen


def connect(plan: dict, port: int) -> None:
    cred, key = _identity(plan, "client")
    retries = _count_hello_retry_requests()
    shares = _count_sent_key_shares()
    for run in plan["runs"]:
        retries.clear()
        shares.clear()
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        # A required client sends no key share, so a server that takes MLS never asks
        # for one: the HelloRetryRequest run needs a client that may fall back.
        mode = "preferred" if run.get("hrr") else "required"
        mls = MLSClientSettings(mode=mode, suites=[plan["mls_suite"]], credential=cred,
                                signature_key=key,
                                trust_anchors=_anchors(plan, run.get("client_ca", "ca")),
                                send_certificates=run.get("certs", False))
        conn = MLSTLSConnection(sock, mls_settings=mls)
        try:
            conn.handshakeClientCert(settings=_tls_settings(run, "client"),
                                     serverName=run.get("server_name", plan["server_name"]))
            out = _exchange(conn, first=True)
            out["hello_retry_requests"] = len(retries)
            out["client_hello_key_shares"] = shares[0]
            conn.close()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            out = _error(exc)
        finally:
            sock.close()
        print(json.dumps({"run": run["name"], **out}), flush=True)


def main(argv: list[str]) -> None:
    with open(argv[1]) as f:
        plan = json.load(f)
    if argv[0] == "server":
        serve(plan)
    else:
        connect(plan, int(argv[2]))


if __name__ == "__main__":
    main(sys.argv[1:])
