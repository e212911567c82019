"""``python -m tlslite_mls decode``: every message of captured connections of both modes,
past the first MLS epoch change where Wireshark stops (tests/interop/test_wireshark.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from helpers import require
from loopback_capture import (capture, extension_mode_session, free_port, mls_tls_session,
                              require_capture)
from tlsutil import PY, client_mls, env_with_repo, make_pki, server_mls, tls13_settings


def _decode(pcap, keys=None) -> list[str]:
    args = [PY, "-m", "tlslite_mls", "decode", str(pcap)] + (["--keylog", str(keys)] if keys
                                                            else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env_with_repo())
    assert out.returncode == 0, out.stderr
    return [re.sub(r"^frame\s+\d+\s+", "", line) for line in out.stdout.splitlines()]


def _require_dpkt() -> None:
    try:
        import dpkt  # noqa: F401
    except ImportError:
        require(False, "dpkt (the decode extra)")


@pytest.fixture(scope="module")
def extension_capture(tmp_path_factory):
    require_capture()
    _require_dpkt()
    d = tmp_path_factory.mktemp("decode")
    port = free_port()
    facts = [port]
    with capture(d / "ext.pcapng", [port]):
        extension_mode_session(facts, d / "keys.log", make_pki(d / "pki"), client_mls,
                               server_mls, tls13_settings)
    return d / "ext.pcapng", d / "keys.log", facts[1], facts[2]


def test_decode_follows_the_extension_mode_across_epochs(extension_capture):
    pcap, keys, epoch, resumed = extension_capture
    lines = _decode(pcap, keys)
    text = "\n".join(lines)
    assert any(ln.startswith("conn 1 client→server  ClientHello + tls_using_mls_handshake: "
                             "KeyPackage (MLS suite 0x0001") for ln in lines), text
    assert "Welcome (MLS suite 0x0001, 1 encrypted group secret(s)" in text
    # The client's first epoch change (Wireshark decodes it too) ...
    assert "[traffic secret 0] mls_handshake connection_update: MLSMessage private_message, " \
        "epoch 1" in text
    # ... and what only this decoder reaches: the second change and data under its keys.
    assert "[MLS epoch 2] mls_handshake connection_update: MLSMessage private_message, " \
        "epoch 2" in text
    assert f"conn 1 client→server  [MLS epoch {epoch}] application data, 3 bytes" in text
    assert f"conn 1 server→client  [MLS epoch {epoch}] application data, 3 bytes" in text
    # Resumption: request at N, response at N+1, data under N+2.
    assert f"mls_handshake resumption_request: MLSMessage private_message, epoch {epoch}" in text
    assert f"mls_handshake resumption_response: MLSMessage private_message, epoch {epoch + 1}" \
        in text
    assert f"conn 2 client→server  [MLS epoch {resumed}] application data, 5 bytes" in text
    assert "no key" not in text


def test_decode_without_key_log_says_what_it_cannot_read(extension_capture):
    pcap, _, _, _ = extension_capture
    text = "\n".join(_decode(pcap))
    assert "KeyPackage (MLS suite 0x0001" in text
    assert "protected record" in text and "no key for it in the key log" in text


def test_decode_follows_mls_tls_across_epochs_and_resumption(tmp_path):
    require_capture()
    _require_dpkt()
    port = free_port()
    with capture(tmp_path / "mlstls.pcapng", [port]):
        epochs = mls_tls_session(port, tmp_path / "keys.log")
    text = "\n".join(_decode(tmp_path / "mlstls.pcapng", tmp_path / "keys.log"))
    assert "MLS-TLS client_hello: KeyPackage (MLS suite" in text
    assert "MLS-TLS server_hello: Welcome (MLS suite" in text
    assert "[MLS epoch 1] MLS-TLS connection_update: MLSMessage private_message, epoch 1" in text
    assert f"conn 1 server→client  [MLS epoch {epochs[0]}] application data, 1 bytes" in text
    assert f"MLS-TLS resumption_request: MLSMessage private_message, epoch {epochs[0]}" in text
    assert f"conn 2 client→server  [MLS epoch {epochs[1]}] application data, 5 bytes" in text
    assert epochs[1] == epochs[0] + 2
    assert "no key" not in text
