"""Our client and our server in separate processes on 127.0.0.1, every MLS suite.

One server/client process pair per MLS suite (0x0001-0x0007, 0xF001, 0xF005, 0xF00B)
runs, in order: the three TLS 1.3 cipher suites (a required client: no key share in its
ClientHello), a HelloRetryRequest (a client that prefers MLS and offers a share of a group
the server does not take), the certificate-keeping mode
(``send_certificates`` on both sides), then two refusals. Both sides carry x509
MLS credentials issued by a test CA: the client validates the server's against
the CA and the server name (SNI), the server the client's against the CA. Every
successful run checks MLS negotiated in the right suite, epoch 1, the identities
each side sees, equal exporters (exchanged over the connection itself) and data
both ways (the exchange is application data in each direction). The refusals, a
wrong server name and an unknown CA, must end in bad_certificate.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from pki import TestCA
from tlslite_mls.mls.crypto import get_cipher_suite
from tlsutil import PY, REPO, env_with_repo, stop

PEER = str(REPO / "tests" / "tls" / "mls_peer.py")
SERVER_NAME, CLIENT_NAME = "mls-server.test", "mls-client.test"
TLS_CIPHERS = {"aes128gcm": "TLS_AES_128_GCM_SHA256", "aes256gcm": "TLS_AES_256_GCM_SHA384",
               "chacha20-poly1305": "TLS_CHACHA20_POLY1305_SHA256"}
RUNS = [{"name": f"tls-{c}", "tls_cipher": c} for c in TLS_CIPHERS] + [
    {"name": "hrr", "tls_cipher": "aes128gcm", "hrr": True},
    {"name": "certificates", "tls_cipher": "chacha20-poly1305", "certs": True},
    {"name": "wrong-server-name", "tls_cipher": "aes128gcm", "server_name": "other.test",
     "fails": True},
    {"name": "unknown-ca", "tls_cipher": "aes128gcm", "client_ca": "other_ca", "fails": True},
]


@pytest.fixture(scope="module")
def cas():
    return TestCA(), TestCA("another CA")


def _plan(suite: int, cas, pki) -> dict:
    ca, other = cas
    cs = get_cipher_suite(suite)

    def side(name: str, server: bool) -> dict:
        key, _ = cs.generate_signature_key_pair()
        return {"key": key.hex(), "chain": [ca.issue(cs, key, name, server=server).hex()]}
    pem = serialization.Encoding.PEM
    return {"mls_suite": suite, "server_name": SERVER_NAME, "tls_pki": str(pki.dir),
            "ca": ca.cert.public_bytes(pem).decode(),
            "other_ca": other.cert.public_bytes(pem).decode(),
            "server": side(SERVER_NAME, True), "client": side(CLIENT_NAME, False),
            "runs": RUNS}


def _lines(text: str) -> dict:
    return {r["run"]: r for r in map(json.loads, text.splitlines()) if r}


# Three post-quantum suites too: X-Wing with Ed25519, the P-384 hybrid, ML-DSA-87 (x509
# end-entity certificates for their keys from the same P-256 test CA).
@pytest.mark.parametrize("suite", [*range(1, 8), 0xF001, 0xF005, 0xF00B],
                         ids=lambda s: f"mls-0x{s:04x}")
def test_process_pair(suite, cas, pki, tmp_path):
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(_plan(suite, cas, pki)))
    env = env_with_repo()
    server = subprocess.Popen([PY, PEER, "server", str(plan_path)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read()
        client = subprocess.run([PY, PEER, "client", str(plan_path), port], env=env, text=True,
                                capture_output=True, timeout=240)
        assert client.returncode == 0, client.stderr
        out, err = server.communicate(timeout=60)
        assert server.returncode == 0, err
    finally:
        stop(server)
    c_runs, s_runs = _lines(client.stdout), _lines(out)
    assert set(c_runs) == set(s_runs) == {r["name"] for r in RUNS}
    for run in RUNS:
        c, s = c_runs[run["name"]], s_runs[run["name"]]
        if run.get("fails"):
            assert c.get("alert") == "bad_certificate" and "x509" in c["text"], c
            assert s.get("error") == "TLSRemoteAlert" and s["alert"] == "bad_certificate", s
            continue
        assert "error" not in c and "error" not in s, (run["name"], c, s)
        for side in (c, s):
            assert side["mls"] and side["mls_suite"] == suite and side["epoch"] == 1, side
            assert side["tls_cipher"] == TLS_CIPHERS[run["tls_cipher"]], side
            assert side["peer_exporter_equal"], side
        assert c["local"] == s["peer"] == CLIENT_NAME
        assert c["peer"] == s["local"] == SERVER_NAME
        assert c["peer_view"] == {k: s[k] for k in ("local", "peer", "mls_suite", "epoch")}
        assert c["server_cert"] is bool(run.get("certs"))
        assert c["hello_retry_requests"] == (1 if run.get("hrr") else 0)
        assert c["client_hello_key_shares"] == (1 if run.get("hrr") else 0)
