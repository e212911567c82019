"""Our MLS-capable client as a separate process, for classic servers.

Prints one JSON object: the negotiated version, whether MLS was negotiated,
the extension types of every ServerHello/HRR received, the reply, or the error.
Runs inside a network namespace too (gnutls-serv listens on every address).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tlslite.messages import ServerHello  # noqa: E402

from tlslite_mls.tls import MLSTLSConnection  # noqa: E402
from tlsutil import SERVER_IDENTITY, client_mls, tls13_settings  # noqa: E402


def load_anchors_file(path: str) -> list:
    from cryptography import x509
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--mode", default="preferred")
    ap.add_argument("--key-shares", default="x25519")
    ap.add_argument("--identity-size", type=int, default=0,
                    help="basic identity of this many bytes (makes a big ClientHello)")
    ap.add_argument("--line", default="hello")
    ap.add_argument("--ca", help="PEM CA certificates the server's TLS certificate must chain to")
    ap.add_argument("--server-name", help="SNI and the name checked (default: the host)")
    args = ap.parse_args()


    seen: list = []
    orig = ServerHello.parse

    def spy(self, p):  # type: ignore[no-untyped-def]
        r = orig(self, p)
        seen.append([e.extType for e in r.extensions or []])
        return r
    ServerHello.parse = spy

    # Names a server identity; the classic servers it meets never get that far.
    # Their TLS certificate is checked against --ca.
    opts: dict = {"mode": args.mode}
    if args.ca:
        opts["trust_anchors"] = load_anchors_file(args.ca)
        opts["expected_identity"] = SERVER_IDENTITY
    if args.identity_size:
        from tlslite_mls.mls.credentials import Credential
        from tlslite_mls.mls.crypto import get_cipher_suite
        priv, _ = get_cipher_suite(1).generate_signature_key_pair()
        opts.update(suites=[1], signature_key=priv,
                    credential=Credential.basic(b"i" * args.identity_size))
    mls = client_mls(**opts)
    out: dict = {"server_hellos": seen}
    sock = socket.create_connection((args.host, args.port), timeout=20)
    conn = MLSTLSConnection(sock)
    try:
        conn.handshakeClientMLS(mls, settings=tls13_settings(
            keyShares=args.key_shares.split(",")), serverName=args.server_name)
        out["version"] = list(conn.version)
        out["mls"] = conn.mls_negotiated
        out["fell_back"] = conn.mls_fell_back
        out["certificate"] = conn.server_certificate_check
        conn.write(args.line.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.read(max=4096)
            if not chunk:
                break
            reply += bytes(chunk)
        out["reply"] = reply.decode(errors="replace")
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - peers close abruptly
            pass
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
