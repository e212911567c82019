"""What the commands print and take: --version, help, the exporter value (-l/-L) in both
modes, --alpn, -v logging, tickets shared across server runs through --ticket-key-file,
and the module layout (the command line and MLS-TLS mode do not import each other)."""

from __future__ import annotations

import re
import socket
import stat
import subprocess

import pytest

from hostile import PY, REPO, Server, env


def run(*args: str, data: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "tlslite_mls", *args], capture_output=True, text=True,
                          input=data, timeout=timeout, env=env(), cwd=str(REPO))


def test_version():
    from tlslite_mls import __version__
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith(f"tlslite-mls {__version__} (tlslite-ng ")


def test_bench_help_is_full_help():
    r = run("bench", "--help")
    assert r.returncode == 0, r.stderr
    for name in ("mls", "handshake", "modes", "epoch", "load", "memory", "sizes", "hostile",
                 "throughput"):
        assert re.search(rf"^  {name} +\S", r.stdout, re.M), r.stdout


@pytest.mark.parametrize("command", [["server"], ["client"], ["keygen"], ["bench", "modes"]])
def test_every_option_has_help(command):
    """argparse prints an option without help as its flags alone on the line: every
    option line must carry text (on the same line or the next, indented)."""
    r = run(*command, "--help")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    options = [i for i, line in enumerate(lines) if re.match(r"^  -", line)]
    assert options
    for i in options:
        text = lines[i].split("  ", 2)[-1].strip() if re.match(r"^  -\S.*\S  +\S", lines[i]) \
            else (lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith(" " * 10)
                  else "")
        assert text, f"no help for {lines[i].strip()!r}"


def _keying_material(lines: list[str]) -> str:
    values = [line.split(": ", 1)[1] for line in lines if "Keying material: " in line]
    assert values, lines
    return values[0]


@pytest.mark.parametrize("mode", [[], ["--mls-tls", "--no-initial-update"]])
def test_exporter_value_printed_by_both_sides_agrees(mode):
    server = Server("--count", "1", "--identity", "srv", "-l", "EXPERIMENTAL test",
                    "-L", "24", mls_tls=bool(mode))
    try:
        client_mode = ["--mls-tls", "--no-initial-update"] if mode else []
        r = run("client", *client_mode, "--expect-identity", "srv", "--linger", "0.5",
                "-l", "EXPERIMENTAL test", "-L", "24", f"127.0.0.1:{server.port}", data="x")
        server.line_matching("Keying material: ", 60)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    client_value = _keying_material(r.stderr.splitlines())
    assert len(client_value) == 48 and client_value == _keying_material(server.lines)
    assert "Exporter: MLS-Exporter (epoch 1)" in r.stderr
    assert r.stdout == "x"


def test_alpn_is_negotiated_and_shown():
    server = Server("--count", "1", "--identity", "srv", "--alpn", "h2", "--alpn",
                    "http/1.1")
    try:
        r = run("client", "--expect-identity", "srv", "--alpn", "http/1.1", "--linger", "0.5",
                f"127.0.0.1:{server.port}", data="x")
        line = server.line_matching("MLS negotiated", 60)
    finally:
        server.stop()
    assert r.returncode == 0, r.stderr
    assert "ALPN http/1.1" in r.stderr.splitlines()[0] and "ALPN http/1.1" in line


def test_verbose_turns_on_the_package_logging():
    server = Server("--count", "2", "--identity", "srv")
    try:
        quiet = run("client", "--expect-identity", "srv", "--linger", "0.2",
                    f"127.0.0.1:{server.port}")
        loud = run("client", "-vv", "--expect-identity", "srv", "--linger", "0.2",
                   f"127.0.0.1:{server.port}")
    finally:
        server.stop()
    assert quiet.returncode == 0 and loud.returncode == 0, loud.stderr
    assert not any(line.startswith("client: ") for line in quiet.stderr.splitlines())
    logged = [line for line in loud.stderr.splitlines() if line.startswith("client: ")]
    assert logged, loud.stderr


def _ticket_session(port: int, session=None):
    """A classic TLS 1.3 connection (tlslite-ng, no MLS) to the server; its session."""
    from tlslite import HandshakeSettings, TLSConnection
    settings = HandshakeSettings()
    settings.minVersion = settings.maxVersion = (3, 4)
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn = TLSConnection(sock)
    conn.handshakeClientCert(settings=settings, session=session)
    conn.write(b"x")
    assert bytes(conn.read()) == b"x"  # the tickets arrive before the echo
    resumed = conn.resumed
    conn.close()
    return conn.session, resumed


def test_ticket_key_file_lets_tickets_outlive_the_server(tmp_path):
    key_file = tmp_path / "tickets.key"
    first = Server("--mls", "off", "--count", "1", "--ticket-key-file", str(key_file))
    try:
        session, resumed = _ticket_session(first.port)
    finally:
        first.stop()
    assert not resumed and session.tickets
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    second = Server("--mls", "off", "--count", "2", "--ticket-key-file", str(key_file))
    try:
        assert "tickets on" in second.lines[0]
        # The second server process accepts the first one's ticket.
        _, resumed = _ticket_session(second.port, session)
    finally:
        second.stop()
    assert resumed and key_file.read_text() == key


def test_a_bad_ticket_key_file_is_refused(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("short\n")
    r = run("server", "--ticket-key-file", str(bad), "127.0.0.1:0")
    assert r.returncode == 2 and r.stderr.startswith(f"error: {bad}: not a ticket key file")


def test_command_line_and_mls_tls_mode_do_not_import_each_other():
    code = ("import sys, tlslite_mls.cli, tlslite_mls.mlstls.connection, "
            "tlslite_mls.mlstls.demo; "
            "print('tlslite_mls.mlstls.cli' in sys.modules)")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env(),
                       cwd=str(REPO), timeout=60)
    assert r.stdout.strip() == "False", r.stderr
    import ast
    for path in (REPO / "tlslite_mls" / "mlstls").glob("*.py"):
        if path.name == "cli.py":
            continue  # the standalone entry point may use the command line
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level:
                assert not node.module.startswith("cli"), f"{path.name} imports the CLI"


@pytest.mark.parametrize("mls_tls", [False, True])
def test_client_with_empty_stdin_ends_after_linger(mls_tls):
    """An MLS message alone (the client's first epoch change) once kept the extension
    client's read waiting for application data that never came."""
    server = Server("--count", "1", "--identity", "srv", mls_tls=mls_tls)
    try:
        r = run("client", *(["--mls-tls"] if mls_tls else []), "--expect-identity", "srv",
                "--linger", "0.3", f"127.0.0.1:{server.port}", timeout=60)
    finally:
        server.stop()
    assert r.returncode == 0 and r.stdout == "", r.stderr


@pytest.mark.parametrize("mls_tls", [False, True])
def test_echo_arrives_when_records_were_read_ahead(mls_tls):
    """The record layer reads ahead: an echo behind an epoch-change record can sit in its
    buffer, where ``select`` does not see it; the client once gave up after --linger
    with the echo unread (MLS-TLS: about one run in three)."""
    for _ in range(6):
        server = Server("--count", "1", "--identity", "srv", mls_tls=mls_tls)
        try:
            r = run("client", *(["--mls-tls"] if mls_tls else []), "--expect-identity", "srv",
                    "--linger", "1", f"127.0.0.1:{server.port}", data="ping\n", timeout=60)
        finally:
            server.stop()
        assert r.returncode == 0 and r.stdout == "ping\n", r.stderr


def test_readme_cli_reference_names_every_option():
    """The README's CLI reference stays complete: every option of server, client and
    keygen is named there."""
    text = (REPO / "README.md").read_text()
    section = " ".join(text.split("### CLI reference", 1)[1].split("\n## ", 1)[0].split())
    import argparse

    from tlslite_mls.cli.parser import build_parser
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("server", "client", "keygen"):
        for action in sub.choices[command]._actions:
            longs = [o for o in action.option_strings if o.startswith("--") and o != "--help"]
            if longs:
                assert any(f"`{o}" in section or f" {o}" in section for o in longs), \
                    f"{command} {longs} missing from the README's CLI reference"


def test_extension_mode_resume_across_client_runs(tmp_path):
    """``client --session-key --store`` keeps the TLS session (tickets) and the MLS
    group; a later run with ``--resume`` resumes both against a ``--tickets`` server."""
    store = f"sqlite:///{tmp_path / 'client.db'}"
    server = Server("--count", "2", "--identity", "srv", "--tickets")
    try:
        common = ["--expect-identity", "srv", "--store", store, "--session-key", "s1",
                  "--linger", "0.5", f"127.0.0.1:{server.port}"]
        first = run("client", *common, data="one")
        second = run("client", "--resume", *common, data="two")
    finally:
        server.stop()
    assert first.returncode == 0 and first.stdout == "one", first.stderr
    assert second.returncode == 0 and second.stdout == "two", second.stderr
    assert ", resumed" in second.stderr.splitlines()[0] and \
        ", resumed" not in first.stderr.splitlines()[0]


def test_extension_mode_resume_needs_a_kept_session(tmp_path):
    r = run("client", "--resume", "--session-key", "nothing", "--store",
            f"sqlite:///{tmp_path / 'c.db'}", "--expect-identity", "srv", "127.0.0.1:9")
    assert r.returncode == 2 and r.stderr.startswith("error: no session kept under 'nothing'")
    r = run("client", "--session-key", "x", "--expect-identity", "srv", "127.0.0.1:9")
    assert r.returncode == 2 and r.stderr.startswith("error: --session-key keeps the session")
