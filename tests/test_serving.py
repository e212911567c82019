"""Every shipped server bounds what a peer can hold: handshake deadline, idle timeout,
connection cap, one warning per failed connection (docs/profile.md section 9)."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from hostile import Server, closed_by_peer, good_client

from tlslite_mls.serving import ServerLimits, short_identity

MODES = [pytest.param(False, id="extension"), pytest.param(True, id="mls-tls")]


@pytest.mark.parametrize("mls_tls", MODES)
def test_half_open_connections_dropped_after_handshake_timeout_while_good_client_served(mls_tls):
    server = Server("--handshake-timeout", "1", mls_tls=mls_tls)
    try:
        idle = [server.connect() for _ in range(5)]
        slow = server.connect()  # a byte now and then: only a total deadline stops it
        start = time.monotonic()
        slow.sendall(b"\x16")
        took = good_client(server.port, mls_tls)
        assert took < 5, f"good client waited {took:.1f} s behind half-open peers"
        for _ in range(6):
            time.sleep(0.3)
            try:
                slow.sendall(b"\x03")
            except OSError:
                break
        for sock in idle + [slow]:
            assert closed_by_peer(sock, 10), "half-open connection never dropped"
            sock.close()
        assert time.monotonic() - start < 8
        for _ in range(6):
            server.line_matching(r"connection from 127\.0\.0\.1:\d+ failed .*handshake "
                                 r"timeout \(1 s\)", timeout=10)
    finally:
        server.stop()


def test_count_mode_not_blocked_by_a_half_open_socket():
    server = Server("--count", "2", "--handshake-timeout", "1")
    try:
        half_open = server.connect()
        assert good_client(server.port, False) < 8
        assert closed_by_peer(half_open, 5)
        assert server.proc.wait(10) == 0
    finally:
        server.stop()


@pytest.mark.parametrize("mls_tls", MODES)
def test_connection_cap_refuses_extra_peers_and_serves_again(mls_tls):
    server = Server("--max-connections", "2", "--handshake-timeout", "30", mls_tls=mls_tls)
    try:
        held = [server.connect() for _ in range(2)]
        time.sleep(0.5)  # both accepted and in their handshakes
        extra = server.connect()
        assert closed_by_peer(extra, 5), "connection over the cap was kept"
        server.line_matching(r"connection from 127\.0\.0\.1:\d+ refused .*2 connections open",
                             timeout=10)
        for sock in held:
            sock.close()
        server.line_matching(r"failed", timeout=10)
        server.line_matching(r"failed", timeout=10)
        assert good_client(server.port, mls_tls) < 10
    finally:
        server.stop()


def test_server_limits_refuse_bad_values():
    for bad in (dict(handshake_timeout=0), dict(idle_timeout=-1), dict(max_connections=0)):
        with pytest.raises(ValueError):
            ServerLimits(**bad).validate()


def test_long_peer_identity_shortened_in_logs():
    text = short_identity(b"x" * 5000)
    assert len(text) < 100 and "5000 bytes" in text
    assert short_identity(b"srv") == "'srv'"


def test_server_log_line_shortens_long_client_identity():
    import subprocess
    from hostile import PY, env
    server = Server("--count", "1", "--identity", "srv")
    try:
        r = subprocess.run([PY, "-m", "tlslite_mls", "client", "--linger", "0.3",
                            "--identity", "c" * 3000, "--expect-identity", "srv",
                            f"127.0.0.1:{server.port}"], input=b"hi", capture_output=True,
                           timeout=60, env=env())
        assert r.returncode == 0, r.stderr
        line = server.line_matching(r"MLS negotiated")
        assert len(line) < 400 and "3000 bytes" in line
    finally:
        server.stop()


@pytest.mark.parametrize("mls_tls", MODES)
def test_oversized_declared_lengths_refused_before_buffering(mls_tls):
    """20 ClientHellos declaring far over 128 KiB, each followed by ~1 MiB: every one
    gets decode_error after its first record, and the server grows by < 10 MiB."""
    from hostile import DECODE_ERROR, filler_records, oversized_hello, read_alert
    server = Server(mls_tls=mls_tls)
    try:
        warm = server.connect()  # the first connection's imports are not the point
        warm.sendall(oversized_hello(mls_tls))
        read_alert(warm)
        warm.close()
        time.sleep(0.3)
        base = server.rss_kib()
        socks = []
        for _ in range(20):
            sock = server.connect()
            try:
                sock.sendall(oversized_hello(mls_tls) + filler_records(60))
            except OSError:
                pass  # refused and closed mid-way: what should happen
            socks.append(sock)
        time.sleep(0.5)
        growth = server.rss_kib() - base
        alerts = [read_alert(s, 5) for s in socks]
        for s in socks:
            s.close()
        assert growth < 10 * 1024, f"server RSS grew by {growth} KiB"
        assert alerts == [DECODE_ERROR] * 20, alerts
    finally:
        server.stop()


def _plain_server(handler, **limits):
    """A ConnectionServer on a free port, accepting in a background thread."""
    import threading

    from tlslite_mls.serving import ConnectionServer
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    server = ConnectionServer(listener, handler, mode="test",
                              limits=ServerLimits(**limits) if limits else None)
    stop = threading.Event()
    acceptor = threading.Thread(target=server.serve, kwargs={"stop": stop}, daemon=True)
    acceptor.start()

    def close():
        stop.set()
        acceptor.join(5)
        listener.close()
        server.join(5)
    return server, listener.getsockname(), close


def test_established_connection_served_in_a_new_thread_after_the_handshake_thread_ended():
    """A handler that returns the rest of the connection: the rest runs in a new thread,
    and the handshake's thread has ended by then (so it gave back its C library cache
    and stack); the connection keeps its place under the cap until the rest returns."""
    import threading
    seen: dict = {}
    handshake_threads: list = []
    release = threading.Event()

    def handler(sock, guard):
        sock.recv(5)  # the "handshake"
        guard.handshake_done()
        handshake_threads.append(threading.current_thread())

        def rest():
            seen["same_thread"] = threading.current_thread() in handshake_threads
            handshake_threads[-1].join(5)
            seen["handshake_thread_alive"] = handshake_threads[-1].is_alive()
            seen["active"] = server.active
            sock.sendall(b"ready")
            release.wait(10)
            sock.sendall(b"bye")
        return rest

    server, address, close = _plain_server(handler, max_connections=1)
    try:
        with socket.create_connection(address, timeout=10) as client:
            client.sendall(b"hello")
            assert client.recv(5) == b"ready", "the returned callable never ran"
            assert seen == {"same_thread": False, "handshake_thread_alive": False,
                            "active": 1}
            # Still counted: a second peer is over the cap of 1.
            with socket.create_connection(address, timeout=10) as extra:
                assert closed_by_peer(extra, 5), "the handed-over connection left the cap"
            release.set()
            assert client.recv(3) == b"bye"
            assert closed_by_peer(client, 5), "the socket was not closed after the rest"
        deadline = time.monotonic() + 5
        while server.active and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.active == 0 and server.refused == 1
    finally:
        release.set()
        close()


def test_failure_after_hand_over_logged_once_and_counted(caplog):
    def handler(sock, guard):
        guard.handshake_done()

        def rest():
            raise RuntimeError("broken after the handshake")
        return rest

    server, address, close = _plain_server(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="tlslite_mls"):
            with socket.create_connection(address, timeout=10) as client:
                assert closed_by_peer(client, 5)
            deadline = time.monotonic() + 5
            while server.errors < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
        failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
        assert server.errors == 1 and len(failures) == 1, failures
        assert "(test): RuntimeError: broken after the handshake" in failures[0]
    finally:
        close()


def test_count_mode_serves_the_handed_over_part_in_the_same_thread():
    """One connection at a time (``serve(count=...)``): the rest runs before the next
    accept, in the accepting thread."""
    import threading

    from tlslite_mls.serving import ConnectionServer
    threads = []

    def handler(sock, guard):
        guard.handshake_done()
        return lambda: (threads.append(threading.current_thread()), sock.sendall(b"x"))

    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = ConnectionServer(listener, handler, mode="test")
        with socket.create_connection(listener.getsockname(), timeout=10) as client:
            server.serve(count=1)
            assert client.recv(1) == b"x"
    assert threads == [threading.current_thread()]
