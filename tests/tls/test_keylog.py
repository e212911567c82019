"""SSLKEYLOGFILE: NSS key log lines that other tools agree with."""

from __future__ import annotations

import shutil
import subprocess

from helpers import require
from tlslite_mls.tls import MLSTLSConnection
from tlsutil import client_mls, pair, server_mls, tls13_settings

LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def _parse(path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        label, random, secret = line.split()
        out[(label, random)] = secret
    return out


def test_keylog_both_sides_agree(pki, tmp_path, monkeypatch):
    cpath, spath = tmp_path / "client.keys", tmp_path / "server.keys"
    monkeypatch.setenv("SSLKEYLOGFILE", str(cpath))

    def client(sock):
        conn = MLSTLSConnection(sock)   # picks SSLKEYLOGFILE up
        conn.handshakeClientMLS(client_mls(), settings=tls13_settings())
        conn.write(b"a")
        return conn

    def server(sock):
        conn = MLSTLSConnection(sock, keylog=str(spath))
        conn.handshakeServerMLS(server_mls(), certChain=pki.chain(),
                                privateKey=pki.key(), settings=tls13_settings())
        conn.read()
        return conn
    c, s = pair(client, server)
    assert c.error is None and s.error is None
    assert c.value.mls_negotiated
    cl, sl = _parse(cpath), _parse(spath)
    assert cl == sl
    assert {label for label, _ in cl} == LABELS
    assert {r for _, r in cl} == {bytes(c.value._clientRandom).hex()}
    assert oct(cpath.stat().st_mode & 0o777) == "0o600"


def test_keylog_matches_openssl(pki, tmp_path):
    """Our server's key log equals what openssl s_client writes for the same connection."""
    require(shutil.which("openssl") is not None, "openssl")
    import socket
    from tlsutil import run_in_thread
    spath, opath = tmp_path / "server.keys", tmp_path / "openssl.keys"
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        s, _ = srv.accept()
        with s:
            conn = MLSTLSConnection(s, mls_settings=server_mls(), keylog=str(spath))
            conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                                 settings=tls13_settings())
            conn.write(b"bye:" + bytes(conn.read()))
    t, res = run_in_thread(serve)
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
                          "-quiet", "-keylogfile", str(opath)],
                         input="hi\n", capture_output=True, text=True, timeout=30)
    t.join(30)
    srv.close()
    assert res.error is None, res.error
    assert "bye:hi" in out.stdout
    ours = _parse(spath)
    theirs = {k: v for k, v in _parse(opath).items() if k[0] in LABELS}
    assert theirs and ours == theirs
