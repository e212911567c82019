"""tls.server.MLSServer: the library's server keeps docs/profile.md section 9's limits and
logs every failed connection once, at warning level."""

from __future__ import annotations

import logging
import socket
import time

from hostile import closed_by_peer, good_client

from tlslite_mls.serving import ServerLimits


def test_library_server_limits(pki, caplog):
    from tlsutil import server_mls
    from tlslite_mls.tls.server import MLSServer
    srv = MLSServer(("127.0.0.1", 0), pki.chain(), pki.key(), server_mls(),
                    limits=ServerLimits(handshake_timeout=0.5, max_connections=3)).start()
    try:
        with caplog.at_level(logging.WARNING, logger="tlslite_mls"):
            half_open = socket.create_connection(srv.address, timeout=10)
            assert closed_by_peer(half_open, 5)
            half_open.close()
            garbage = socket.create_connection(srv.address, timeout=10)
            garbage.sendall(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00")
            assert closed_by_peer(garbage, 5)
            garbage.close()
            assert good_client(srv.address[1], False) < 10
            # Each connection's thread logs after the peer already saw the close, so
            # wait for both lines and tell them apart by content, not by order.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                failures = [r for r in caplog.records if "failed" in r.getMessage()]
                if len(failures) >= 2:
                    break
                time.sleep(0.05)
        failures = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failures) == 2, [r.getMessage() for r in failures]
        assert all(r.levelno == logging.WARNING for r in failures)
        timeout, alert = sorted((r.getMessage() for r in failures),
                                key=lambda m: "handshake timeout" not in m)
        assert "127.0.0.1:" in timeout and "handshake timeout (0.5 s)" in timeout
        assert "TLS extension mode, MLS preferred" in alert and "sent decode_error" in alert
    finally:
        srv.shutdown()


def test_module_server_command_is_the_main_server_command(tmp_path):
    """``python -m tlslite_mls.tls.server`` takes the main command line's server options
    and gives its one-line errors (it used to have flags of its own and tracebacks)."""
    import subprocess
    import sys
    help_text = subprocess.run([sys.executable, "-m", "tlslite_mls.tls.server", "--help"],
                               capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "--handshake-timeout" in help_text.stdout
    assert "--mls-tls" in help_text.stdout
    missing = tmp_path / "missing.pem"
    bad = subprocess.run([sys.executable, "-m", "tlslite_mls.tls.server", "--cert", str(missing),
                          "--key", str(missing), "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode in (1, 2) and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error:") and "missing.pem" in bad.stderr.splitlines()[0]


def test_library_server_handler_runs_after_the_handshake_thread_ended(pki):
    """The handler owns the connection in a thread of its own; the thread that ran the
    handshake has ended by then, so an idle connection no longer holds what the
    handshake left in its thread (C library cache, stack pages)."""
    import threading

    from tlsutil import server_mls
    from tlslite_mls.tls.connection import MLSTLSConnection
    from tlslite_mls.tls.server import MLSServer, echo_handler

    class Recording(MLSTLSConnection):
        def handshakeServerMLS(self, *args, **kwargs):
            self.handshake_thread = threading.current_thread()
            return super().handshakeServerMLS(*args, **kwargs)

    seen = []

    def handler(conn):
        conn.handshake_thread.join(10)
        seen.append((conn.handshake_thread is threading.current_thread(),
                     conn.handshake_thread.is_alive()))
        echo_handler(conn)

    srv = MLSServer(("127.0.0.1", 0), pki.chain(), pki.key(), server_mls(), handler=handler)
    srv.connection_class = Recording
    srv.start()
    try:
        assert good_client(srv.address[1], False) < 10
        assert seen == [(False, False)]
        assert srv.errors == 0 and srv.connections == 1
    finally:
        srv.shutdown()
