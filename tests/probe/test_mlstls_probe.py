"""``probe --mls-tls`` against our own MLS-TLS server (every check passes) and against a
deliberately broken one (the matching check fails)."""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest

from mlstls_util import ServerProcess
from tlslite_mls.codepoints import MLSTLSMessageType as T
from tlslite_mls.mlstls import MLSTLSServer
from tlslite_mls.mlstls.settings import MLSTLSServerSettings
from tlslite_mls.probe.extension import Target
from tlslite_mls.probe.mlstls import MLSTLSProbe
from tlslite_mls.twoparty.messages import TwoPartyMessage
from tlsutil import PY, env_with_repo


def _status(report) -> dict:
    return {c.name: c.status for c in report.checks}


@pytest.fixture(scope="module")
def our_server():
    srv = ServerProcess("--store", "memory:", "--update-every", "2")
    yield srv.port
    srv.stop()


def test_our_mls_tls_server_passes_every_check(our_server):
    report = MLSTLSProbe(Target("127.0.0.1", our_server)).run()
    assert set(_status(report).values()) == {"pass"}, report.to_table()
    assert len(report.checks) == 9


def test_probe_command_mls_tls_table(our_server):
    out = subprocess.run([PY, "-m", "tlslite_mls", "probe", f"127.0.0.1:{our_server}",
                          "--mls-tls"], capture_output=True, text=True, timeout=120,
                         env=env_with_repo())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "(MLS-TLS): 9 passed, 0 failed, 0 not applicable" in out.stdout


class BareWelcome(MLSTLSServer):
    """Broken: puts the bare Welcome into server_hello, without the MLSMessage wrapper
    that docs/profile.md section 8 asks for (the extension mode's shape)."""

    def _send_message(self, msg):
        if msg.msg_type == T.SERVER_HELLO:
            msg = TwoPartyMessage(T.SERVER_HELLO, message=msg.message[4:])
        MLSTLSServer._send_message(self, msg)


@pytest.fixture
def broken_server():
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)  # so that the loop sees ``stop``
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                sock, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(30)
            with sock:
                try:
                    conn = BareWelcome(sock, MLSTLSServerSettings())
                    while data := conn.read():
                        conn.write(data)
                except Exception:  # noqa: BLE001 - the probe's own inputs end here
                    pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    srv.close()
    t.join(10)


def test_server_with_bare_welcome_fails_the_framing_check(broken_server):
    status = _status(MLSTLSProbe(Target("127.0.0.1", broken_server, timeout=10)).run())
    assert status["server_hello framing"] == "FAIL"
    assert status["handshake completes"] == "FAIL"
    assert status["garbage KeyPackage"] == "pass"
