"""Our MLS-TLS client and server in separate processes on loopback, every suite of the mode.

Per suite: a handshake, numbered data both ways with more than 20 epoch changes started
by each side (at least 2 per side for the post-quantum suites, whose commits are 4-17 KB),
a cut with an epoch change in flight, then resumption from a new client process (the
client's session comes from its SQLite store, the server's from its own).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from mlstls_util import HERE, PY, REPO, ServerProcess, env
from tlslite_mls.codepoints import PQ_CIPHER_SUITES
from tlslite_mls.mlstls import mls_tls_suites
from tlslite_mls.mlstls.suites import UnsupportedSuiteError, record_suite

SUITES = [0x0001, 0x0002, 0x0003, 0x0007]
# docs/profile.md section 8: ChaCha20-Poly1305 with SHA-384 (0xF009) has no TLS 1.3 record suite.
PQ_SUITES = [s for s in PQ_CIPHER_SUITES if s != 0xF009]


def test_suites_of_the_mode():
    assert mls_tls_suites() == SUITES + PQ_SUITES
    with pytest.raises(UnsupportedSuiteError, match="ChaCha20-Poly1305 with SHA384"):
        record_suite(0xF009)
    assert record_suite(0xF001).name == "TLS_AES_128_GCM_SHA256"
    assert record_suite(0xF00B).name == "TLS_AES_256_GCM_SHA384"


def _client(phase: str, port: int, suite: int, store: str, n: int) -> dict:
    r = subprocess.run([PY, str(HERE / "mlstls_peer.py"), phase, str(port), str(suite), store,
                        str(n)], capture_output=True, text=True, timeout=120, env=env(),
                       cwd=str(REPO))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("suite", SUITES, ids=[f"0x{s:04x}" for s in SUITES])
def test_data_epoch_changes_and_resumption(suite, tmp_path):
    _data_epoch_changes_and_resumption(suite, tmp_path, 88, 20)


@pytest.mark.parametrize("suite", PQ_SUITES, ids=[f"0x{s:04x}" for s in PQ_SUITES])
def test_pq_data_epoch_changes_and_resumption(suite, tmp_path):
    _data_epoch_changes_and_resumption(suite, tmp_path, 12, 2)


def _data_epoch_changes_and_resumption(suite, tmp_path, n, per_side):
    server = ServerProcess("--count", "2", "--suite", str(suite), "--identity", "probe-server",
                           "--update-every", "4", "--store", f"sqlite:///{tmp_path}/server.db")
    try:
        store = f"sqlite:///{tmp_path}/client.db"
        first = _client("first", server.port, suite, store, n)
        line = server.line_matching(r"^server: MLS-TLS \(new session\)")
        assert f"MLS suite 0x{suite:04x}" in line and "epoch 1" in line
        assert not first["resumed"] and first["start_epoch"] == 1
        assert first["peer"] == "probe-server"
        # 1 initial update by the client, n/4 more by it, the rest by the server.
        assert first["client_started"] >= per_side
        server_started = first["epoch_changes"] - first["client_started"] - 1
        assert server_started >= per_side, first
        assert first["epoch"] == 1 + first["epoch_changes"]

        resumed = _client("resume", server.port, suite, store, 12)
        line = server.line_matching(r"^server: MLS-TLS \(resumed\)")
        assert resumed["resumed"]
        # The commit in flight at the cut is resent; resumption ends at N + 2.
        assert resumed["start_epoch"] == first["epoch"] + 2, (first, resumed)
        assert f"epoch {resumed['start_epoch']}" in line
        assert resumed["record_suite"] == first["record_suite"]
        closed = server.line_matching(r"^server: closed after 12 chunks")
        assert f"at epoch {resumed['epoch']}" in closed
    finally:
        server.stop()
