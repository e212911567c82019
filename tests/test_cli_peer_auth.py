"""The command line's identity files, pins and peer authentication, in both modes,
as separate processes: exit codes, first lines of stderr, no tracebacks."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import ROOT
from pki import TestCA

MODES = {"extension": [], "mls-tls": ["--mls-tls"]}


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def run(*args: str, stdin: str = "x\n") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tlslite_mls", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=_env(), cwd=ROOT)


def client(port: int, *args: str) -> subprocess.CompletedProcess:
    return run("client", "--linger", "0.3", *args, f"127.0.0.1:{port}")


class Server:
    """``python -m tlslite_mls server ... 127.0.0.1:0``; its first line and the rest."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tlslite_mls", "server", *args,
                                      "127.0.0.1:0"], stderr=subprocess.PIPE, text=True,
                                     env=_env(), cwd=ROOT)
        self.lines: "queue.Queue" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.first = self.lines.get(timeout=60) or ""
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.first)
        assert m, self.first
        self.port = int(m.group(1))

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self) -> str:
        line = self.lines.get(timeout=60)
        assert line is not None, "server exited"
        return line

    def line_matching(self, pattern: str) -> str:
        while True:
            line = self.next_line()
            if re.search(pattern, line):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stderr.close()  # type: ignore[union-attr]


@pytest.fixture
def server():
    started: list[Server] = []

    def start(*args: str) -> Server:
        started.append(Server(*args))
        return started[-1]
    yield start
    for s in started:
        s.stop()


def keygen(directory: Path, name: str, *extra: str, file: str = "") -> Path:
    out = directory / (file or f"{name}.pem")
    r = run("keygen", "--name", name, *extra, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith(f"keygen: wrote {out}: MLS identity '{name}'")
    return out


def export(identity: Path) -> Path:
    out = identity.with_suffix(".pub")
    r = run("keygen", "--export-public", str(identity), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


def _no_traceback(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr, r.stderr


# ----------------------------------------------------------------------------
# the regressions, from the command line
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_pinned_key_refuses_an_impostor_server_that_claims_the_name(tmp_path, server, mode):
    """--expect-identity alone lets an impostor with the same name through and says it
    is a name only; --pin with the real server's exported key refuses it."""
    real = export(keygen(tmp_path, "srv"))
    impostor = keygen(tmp_path, "srv", file="impostor.pem")
    srv = server(*MODES[mode], "--count", "2", "--identity-file", str(impostor))
    r = client(srv.port, *MODES[mode], "--expect-identity", "srv")
    assert r.returncode == 0, r.stderr
    assert "server credential: name 'srv' (name only, not verified)" in r.stderr
    r = client(srv.port, *MODES[mode], "--pin", str(real), "--expect-identity", "srv")
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("client: handshake failed") and "not a pinned key" in r.stderr
    _no_traceback(r)


@pytest.mark.parametrize("mode", MODES)
def test_pinned_key_accepts_the_real_server_and_says_what_was_verified(tmp_path, server,
                                                                      mode):
    srv_id = keygen(tmp_path, "srv")
    cli_id = keygen(tmp_path, "cli")
    srv = server(*MODES[mode], "--count", "1", "--identity-file", str(srv_id),
                 "--pin", str(export(cli_id)))
    assert "client credential: pinned signature key sha256:" in srv.first
    assert "name 'cli' verified" in srv.first
    r = client(srv.port, *MODES[mode], "--identity-file", str(cli_id),
               "--expect-key", str(export(srv_id)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x\n"
    assert re.search(r"server credential: pinned signature key sha256:[0-9a-f]{32}, "
                     r"name 'srv' verified", r.stderr), r.stderr
    assert "peer identity 'cli'" in srv.line_matching("peer identity")


@pytest.mark.parametrize("mode", MODES)
def test_server_trust_anchor_refuses_clients_without_a_chain(tmp_path, server, mode):
    """Issue: ``server --mls-tls --trust-anchor CA.pem`` accepted any client and said
    only "x509". A basic client is refused; one with an Ed25519 x509 identity from
    ``keygen --ca-cert/--ca-key`` is accepted; the listening line names the policy."""
    ca = TestCA(key_type="ed25519")
    (tmp_path / "ca.pem").write_bytes(ca.pem())
    (tmp_path / "ca.key").write_bytes(ca.key_pem())
    x509_id = keygen(tmp_path, "client.test", "--ca-cert", str(tmp_path / "ca.pem"),
                     "--ca-key", str(tmp_path / "ca.key"))
    srv = server(*MODES[mode], "--count", "2", "--identity", "srv",
                 "--trust-anchor", str(tmp_path / "ca.pem"))
    assert "client credential: x509 chain verified to 1 trust anchor(s), any name" \
        in srv.first, srv.first
    required = [] if mode == "mls-tls" else ["--mls", "required"]
    r = client(srv.port, *MODES[mode], *required, "--identity", "cli",
               "--expect-identity", "srv")
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("client: handshake failed")
    _no_traceback(r)
    assert "basic credential where an x509 chain is required" in \
        srv.line_matching("x509 chain is required")
    r = client(srv.port, *MODES[mode], *required, "--identity-file", str(x509_id),
               "--expect-identity", "srv")
    assert r.returncode == 0, r.stderr
    line = srv.line_matching("peer identity")
    assert "peer identity 'client.test'" in line and "x509 chain verified" in line, line


# ----------------------------------------------------------------------------
# mistakes: one line, exit code 2, no traceback
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ids")
    ed448 = keygen(d, "big", "--suite", "0x0004")
    ident = keygen(d, "alice")
    garbage = d / "garbage.pem"
    garbage.write_text("not a pem file\n")
    ca = TestCA()
    (d / "ca.pem").write_bytes(ca.pem())
    return {"id": str(ident), "pub": str(export(ident)), "ed448": str(ed448),
            "garbage": str(garbage), "missing": str(d / "missing.pem"),
            "ca": str(d / "ca.pem"), "dir": d}


ERRORS = [
    (["client", "--identity-file", "{missing}", "--accept-any-identity", "127.0.0.1:9"],
     "error: {missing}: cannot read the identity file"),
    (["client", "--identity-file", "{garbage}", "--accept-any-identity", "127.0.0.1:9"],
     "error: {garbage}: expected one MLS IDENTITY block, found 0"),
    (["server", "--identity-file", "{pub}", "127.0.0.1:0"],
     "error: {pub}: expected one MLS IDENTITY block, found 0"),
    (["client", "--pin", "{garbage}", "127.0.0.1:9"],
     "error: {garbage}: expected one MLS PUBLIC IDENTITY block, found 0"),
    (["client", "--pin", "{pub}", "--accept-any-identity", "127.0.0.1:9"],
     "error: --accept-any-identity stands alone"),
    (["client", "--pin", "{pub}", "--trust-anchor", "{ca}", "127.0.0.1:9"],
     "error: --trust-anchor and --pin are two ways"),
    (["client", "--trust-anchor", "{missing}", "127.0.0.1:9"],
     "error: {missing}: cannot read the trust anchors"),
    (["client", "127.0.0.1:9"], "error: say how to authenticate the server's MLS credential"),
    (["server", "--identity-file", "{id}", "--identity", "x", "127.0.0.1:0"],
     "error: --identity-file replaces --identity"),
    (["client", "--identity-file", "{ed448}", "--suite", "1", "--pin", "{pub}",
      "127.0.0.1:9"], "error: no chosen MLS suite signs with ed448"),
    (["server", "--pin", "{pub}", "--trust-anchor", "{ca}", "127.0.0.1:0"],
     "error: --trust-anchor and --pin are two ways"),
    (["keygen", "-o", "{dir}/x.pem"], "error: keygen needs --name"),
    (["keygen", "--name", "a"], "error: keygen needs -o FILE"),
    (["keygen", "--name", "a", "-o", "{id}"], "error: {id}: exists; remove it or pass --force"),
    (["keygen", "--name", "a", "--ca-cert", "{ca}", "-o", "{dir}/y.pem"],
     "error: --ca-cert and --ca-key go together"),
    (["keygen", "--name", "a", "--suite", "0x7777", "-o", "{dir}/z.pem"],
     "error: suite: unsupported MLS cipher suite 0x7777"),
    (["keygen", "--name", "a", "--ca-cert", "{garbage}", "--ca-key", "{garbage}",
      "-o", "{dir}/w.pem"], "error: the CA certificate is not PEM"),
    (["keygen", "--export-public", "{garbage}"],
     "error: {garbage}: expected one MLS IDENTITY block"),
]


# keygen has no modes (the same files serve both); server/client run in both.
ERROR_CASES = [(mode, args, first) for args, first in ERRORS for mode in MODES
               if mode == "extension" or args[0] != "keygen"]


@pytest.mark.parametrize("mode,args,first", ERROR_CASES,
                         ids=[f"{m}: {' '.join(a[:3])}" for m, a, _ in ERROR_CASES])
def test_cli_mistakes_are_one_line_errors(files, mode, args, first):
    argv = [a.format(**files) for a in args]
    argv[1:1] = MODES[mode]
    r = run(*argv)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith(first.format(**files)), r.stderr
    _no_traceback(r)
