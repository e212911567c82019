"""bench/epoch.py: one epoch change of each mode, both ends in one thread, and its floor."""

from __future__ import annotations

import json
import subprocess
import sys

from tlslite_mls.bench import epoch, handshake


def test_each_change_moves_both_sides_of_both_modes_one_epoch():
    mat = handshake._Material((1,))
    try:
        for make, sending, receiving in (
                (epoch.extension_pair, "mls_sending_epoch", "mls_receiving_epoch"),
                (epoch.mls_tls_pair, "sending_epoch", "receiving_epoch")):
            client, server, one = make(mat, 1)
            try:
                start = getattr(client, sending)
                for _ in range(3):
                    one()
                for side in (client, server):
                    assert getattr(side, sending) == getattr(side, receiving) == start + 3
            finally:
                epoch._close(client, server)
    finally:
        mat.cleanup()


def test_cpu_and_floor_shape():
    result = epoch.epoch_change_cpu_and_floor(3, 1)
    for mode in ("extension_mode", "mls_tls"):
        fig = result[mode]
        # one commit (2 signatures: content and leaf), verified by the peer; one HPKE
        # seal and open; the committer's two key pairs and the receiver's one
        assert fig["operations"]["ed25519_sign"] == 2
        assert fig["operations"]["ed25519_verify"] == 2
        assert fig["operations"]["hpke_seal"] == fig["operations"]["hpke_open"] == 1
        assert fig["operations"]["x25519"] == 3
        assert fig["floor_ms"] > 0 and fig["cpu_ms_per_epoch_change"] > 0 and fig["ratio"] > 0


def test_command_prints_json():
    p = subprocess.run([sys.executable, "-m", "tlslite_mls", "bench", "epoch", "-n", "2",
                        "--runs", "1", "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert set(result) == {"extension_mode", "mls_tls"}
    assert all("cpu_ms_per_epoch_change" in v for v in result.values())
