"""Every post-quantum suite (0xF001-0xF00B) in the extension mode, client and server in
separate processes: handshake, an epoch change started by each side, resumption.

The suites' KeyPackages (up to 15 KB with ML-DSA-87) travel in the ClientHello and
their Welcomes (up to 25 KB) in the ServerHello, both far above one TLS record.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tlslite_mls.codepoints import PQ_CIPHER_SUITES
from tlsutil import PY, REPO, env_with_repo, stop

PEER = str(REPO / "tests" / "tls" / "pq_peer.py")


@pytest.mark.parametrize("suite", PQ_CIPHER_SUITES, ids=lambda s: f"0x{s:04x}")
def test_pq_suite_handshake_updates_and_resumption(suite, pki):
    env = env_with_repo()
    server = subprocess.Popen([PY, PEER, "server", str(pki.dir), hex(suite)], env=env,
                              text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read()
        client = subprocess.run([PY, PEER, "client", str(pki.dir), hex(suite), port], env=env,
                                text=True, capture_output=True, timeout=240)
        assert client.returncode == 0, client.stderr[-3000:]
        out, err = server.communicate(timeout=60)
        assert server.returncode == 0, err[-3000:]
    finally:
        stop(server)
    first, second = json.loads(client.stdout.strip().splitlines()[-1])
    s_first, s_second = json.loads(out.strip().splitlines()[-1])
    for c, s in ((first, s_first), (second, s_second)):
        assert c["mls"] and s["mls"] and c["suite"] == s["suite"] == suite, (c, s)
        assert c["peer_equal"], (c, s)  # same epoch and exporter on both sides
        assert c["exporter"] == s["exporter"] and c["epoch"] == s["epoch"]
    assert not first["resumed"] and first["start_epoch"] == 1
    assert first["epoch_changes"] == 2 and first["epoch"] == 3
    assert second["resumed"] and s_second["start_epoch"] == second["start_epoch"]
    assert second["start_epoch"] == first["epoch"] + 2  # docs/profile.md section 6: N + 2
