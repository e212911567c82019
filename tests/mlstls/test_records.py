"""records.py: MLS-TLS records are protected by OpenSSL, never by tlslite-ng's pure Python."""

from __future__ import annotations

import pytest

from helpers import AEADWatch, record_aeads
from test_channel import Pair, client_settings, roundtrip
from tlslite_mls.mlstls import MLSTLSServerSettings
from tlslite_mls.tls.accel import OpenSSLAEAD


@pytest.mark.parametrize("suite,name", [(1, "aes128gcm"), (3, "chacha20-poly1305"),
                                        (7, "aes256gcm")])
def test_records_use_openssl_aeads_in_every_epoch(monkeypatch, suite, name):
    watch = AEADWatch().install(monkeypatch)
    p = Pair(client_settings(suites=[suite]), MLSTLSServerSettings(suites=[suite]))
    c = p.client
    c.handshake()
    roundtrip(c, b"x" * 40000)  # the client's initial update: epoch 2
    c.start_update()
    roundtrip(c, b"y" * 100)
    assert c.epoch == 3
    for conn in (c, p.server):
        aeads = record_aeads(conn._records._layer)
        assert all(type(a) is OpenSSLAEAD and a.name == name for a in aeads), aeads
    c.close()
    p.join()
    assert p.server_error is None
    # each side: both directions of epochs 1, 2 and 3
    assert watch.created.count(("OpenSSLAEAD", name)) >= 12
    assert set(watch.created) == {("OpenSSLAEAD", name)} and not watch.pure_python
