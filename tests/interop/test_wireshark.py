"""The Wireshark dissector (interop/wireshark/tlslite_mls.lua) under TShark, on captures
this test makes: an extension-mode connection with an epoch change and a resumption
(decrypted through SSLKEYLOGFILE), and an MLS-TLS connection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from loopback_capture import (capture, extension_mode_session, free_port, mls_tls_session,
                              require_capture)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tls"))

from tlsutil import client_mls, make_pki, server_mls, tls13_settings  # noqa: E402


LUA = ROOT / "interop" / "wireshark" / "tlslite_mls.lua"
FIELDS = ["frame.number", "tlsmls.object", "tlsmls.suite", "tlsmls.leaf.tls_binding",
          "tlsmls.welcome.secrets", "tlsmls.msg.type", "tlsmls.mlstls.msg_type",
          "tlsmls.msg.marker_epoch", "tlsmls.mls.wire_format", "tlsmls.mls.epoch",
          "tlsmls.mlstls.protected_length"]


def dissect(pcap: Path, *options: str) -> list[dict]:
    args = ["tshark", "-r", str(pcap), "-X", f"lua_script:{LUA}", *options, "-Y", "tlsmls || mlstls",
            "-T", "fields", "-E", "occurrence=f"]
    for name in FIELDS:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tlsmls:" not in out.stdout, out.stdout  # a malformed-object expert note
    rows = []
    for line in out.stdout.splitlines():
        cells = line.split("\t")
        rows.append({k: v for k, v in zip(FIELDS, cells) if v})
    return rows


@pytest.fixture(scope="module")
def extension_capture(tmp_path_factory):
    require_capture()
    d = tmp_path_factory.mktemp("wireshark")
    pki = make_pki(d / "pki")
    port = free_port()
    facts = [port]
    with capture(d / "ext.pcapng", [port]):
        extension_mode_session(facts, d / "keys.log", pki, client_mls, server_mls,
                               tls13_settings)
    return d / "ext.pcapng", d / "keys.log", port, facts[1], facts[2]


def test_tshark_decodes_handshake_epoch_change_and_resumption(extension_capture):
    pcap, keys, port, epoch, resumed_epoch = extension_capture
    rows = dissect(pcap, "-o", f"tls.keylog_file:{keys}", "-d", f"tcp.port=={port},tls")
    kp = [r for r in rows if r.get("tlsmls.object") == "KeyPackage"]
    welcome = [r for r in rows if r.get("tlsmls.object") == "Welcome"]
    assert len(kp) == 1 and kp[0]["tlsmls.leaf.tls_binding"] == "tls13-mls-handshake/1"
    assert kp[0]["tlsmls.suite"] == "0x0001"
    assert len(welcome) == 1 and welcome[0]["tlsmls.welcome.secrets"] == "1"
    msgs = [(r["tlsmls.msg.type"], r.get("tlsmls.msg.marker_epoch"), r.get("tlsmls.mls.epoch"),
             r.get("tlsmls.mls.wire_format")) for r in rows if "tlsmls.msg.type" in r]
    # The client's first epoch change: a PrivateMessage commit in epoch 1, markers for 2.
    assert ("1", None, "1", "2") in msgs
    assert msgs.count(("2", "2", None, None)) == 2
    # Resumption: request in epoch N, response in N+1, markers for N+2 (N = epoch).
    assert ("3", None, str(epoch), "2") in msgs
    assert ("4", None, str(epoch + 1), "2") in msgs
    assert msgs.count(("2", str(resumed_epoch), None, None)) == 2
    assert resumed_epoch == epoch + 2


def test_records_after_an_epoch_change_stay_encrypted_for_wireshark(extension_capture):
    """What the README says: Wireshark's key log labels cannot carry MLS epoch keys, so
    the second epoch change (under epoch 2 keys) is not among the decoded messages and
    application records after it stay encrypted."""
    pcap, keys, port, epoch, _ = extension_capture
    rows = dissect(pcap, "-o", f"tls.keylog_file:{keys}", "-d", f"tcp.port=={port},tls")
    assert ("1", "2") not in {(r.get("tlsmls.msg.type"), r.get("tlsmls.mls.epoch"))
                              for r in rows}
    out = subprocess.run(["tshark", "-r", str(pcap), "-o", f"tls.keylog_file:{keys}", "-d",
                          f"tcp.port=={port},tls", "-Y",
                          "tls.record.opaque_type == 23 && !tls.record.content_type",
                          "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split(), out.stderr


def test_tshark_decodes_mls_tls_frames(tmp_path):
    require_capture()
    port = free_port()
    with capture(tmp_path / "mlstls.pcapng", [port]):
        mls_tls_session(port, tmp_path / "keys.log")
    rows = dissect(tmp_path / "mlstls.pcapng", "-d", f"tcp.port=={port},mlstls")
    types = [r.get("tlsmls.mlstls.msg_type") for r in rows]
    assert types[:2] == ["1", "2"], rows
    assert rows[0]["tlsmls.leaf.tls_binding"] == "mls-tls/1"
    assert rows[0]["tlsmls.mls.wire_format"] == "5" and rows[1]["tlsmls.mls.wire_format"] == "3"
    assert rows[1]["tlsmls.welcome.secrets"] == "1"
    assert "5" in types and "6" in types  # the resumption's plaintext flights
    assert any("tlsmls.mlstls.protected_length" in r for r in rows)
