"""The Wireshark dissector (interop/wireshark/tlslite_mls.lua) under TShark, on captures
this test makes: an extension-mode connection with an epoch change and a resumption
(decrypted through SSLKEYLOGFILE), and an MLS-TLS connection."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tlslite import HandshakeSettings

from helpers import ROOT, require

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tls"))

from tlsutil import client_mls, make_pki, server_mls, tls13_settings  # noqa: E402

from tlslite_mls.mls.auth import AcceptAnyCredential  # noqa: E402
from tlslite_mls.mlstls import MLSTLSClient, MLSTLSClientSettings, MLSTLSServer  # noqa: E402
from tlslite_mls.mlstls.settings import MLSTLSServerSettings  # noqa: E402
from tlslite_mls.tls import MLSTLSConnection  # noqa: E402
from tlslite_mls.tls.server import MLSServer  # noqa: E402

LUA = ROOT / "interop" / "wireshark" / "tlslite_mls.lua"
FIELDS = ["frame.number", "tlsmls.object", "tlsmls.suite", "tlsmls.leaf.tls_binding",
          "tlsmls.welcome.secrets", "tlsmls.msg.type", "tlsmls.mlstls.msg_type",
          "tlsmls.msg.marker_epoch", "tlsmls.mls.wire_format", "tlsmls.mls.epoch",
          "tlsmls.mlstls.protected_length"]


def _require_capture() -> None:
    require(shutil.which("tshark") is not None, "tshark (Debian tshark)")
    require(os.geteuid() == 0, "root, to capture on the loopback interface")


@contextlib.contextmanager
def capture(path: Path, ports: list[int]):
    """tshark on loopback, only the given ports, for the duration of the block."""
    bpf = " or ".join(f"tcp port {p}" for p in ports)
    proc = subprocess.Popen(["tshark", "-i", "lo", "-f", bpf, "-w", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "Capturing on" in line or not line:
                break
        assert proc.poll() is None, "tshark did not start capturing"
        time.sleep(1.5)  # "Capturing on" comes a moment before packets are seen
        yield
        time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(30)


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


def _extension_mode_session(port_holder: list, keys: Path, pki) -> None:
    """Handshake, the client's first epoch change, one more, then a resumption."""
    settings = HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.ticketKeys = [bytearray(os.urandom(32))]
    srv = MLSServer(("127.0.0.1", port_holder[0]), pki.chain(), pki.key(), server_mls(),
                    settings=settings).start()
    try:
        mls = client_mls()
        c = MLSTLSConnection(socket.create_connection(("127.0.0.1", port_holder[0]), timeout=30),
                             keylog=str(keys))
        c.handshakeClientMLS(mls, settings=tls13_settings())
        c.write(b"one")
        assert c.read() == b"one"
        if c.mls_update_in_flight:
            c.mls_wait()
        c.mls_update(wait=True)
        c.write(b"two")
        assert c.read() == b"two"
        port_holder.append(c.mls_epoch)
        session = c.session
        c.close()
        c2 = MLSTLSConnection(socket.create_connection(("127.0.0.1", port_holder[0]), timeout=30),
                              keylog=str(keys))
        c2.handshakeClientMLSResume(session, mls, settings=tls13_settings())
        c2.write(b"three")
        assert c2.read() == b"three"
        port_holder.append(c2.mls_epoch)
        c2.close()
    finally:
        srv.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def extension_capture(tmp_path_factory):
    _require_capture()
    d = tmp_path_factory.mktemp("wireshark")
    pki = make_pki(d / "pki")
    port = _free_port()
    facts = [port]
    with capture(d / "ext.pcapng", [port]):
        _extension_mode_session(facts, d / "keys.log", pki)
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
    _require_capture()
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        sock, _ = srv.accept()
        with sock:
            conn = MLSTLSServer(sock, MLSTLSServerSettings())
            data = conn.read()
            conn.write(data)
            conn.close()
    import threading
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with capture(tmp_path / "mlstls.pcapng", [port]):
        c = MLSTLSClient(socket.create_connection(("127.0.0.1", port), timeout=30),
                         MLSTLSClientSettings(auth_policy=AcceptAnyCredential()))
        c.write(b"hello")
        assert c.read() == b"hello"
        c.close()
    t.join(30)
    srv.close()
    rows = dissect(tmp_path / "mlstls.pcapng", "-d", f"tcp.port=={port},mlstls")
    types = [r.get("tlsmls.mlstls.msg_type") for r in rows]
    assert types[:2] == ["1", "2"], rows
    assert rows[0]["tlsmls.leaf.tls_binding"] == "mls-tls/1"
    assert rows[0]["tlsmls.mls.wire_format"] == "5" and rows[1]["tlsmls.mls.wire_format"] == "3"
    assert rows[1]["tlsmls.welcome.secrets"] == "1"
    assert any("tlsmls.mlstls.protected_length" in r for r in rows)
