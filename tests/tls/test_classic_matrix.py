"""The classic TLS 1.3 matrix: fallback against more real stacks, both directions.

Their clients against our server (``python -m tlslite_mls server`` in ``preferred``,
``off`` and ``required`` mode): BoringSSL in headless Chromium, NSS ``tstclnt``, Go
``crypto/tls``, Java JSSE, curl. Our ``preferred`` and ``required`` client
(``python -m tlslite_mls client --trust-anchor CA --server-name localhost``) against
their servers: NSS ``selfserv``, Go, Java. Every peer validates our certificate against
a throw-away CA (Chromium and NSS through an NSS database in a temporary HOME).

Each row records what was negotiated, whether the certificate was verified, whether
the data came back, and in ``required`` mode the error the peer reports for our
``handshake_failure`` alert. The README's table is this module's output: the last test
compares it (``TLSLITE_MLS_WRITE_README=1`` rewrites it).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import subprocess
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from helpers import ROOT, require
from tlsutil import PY, env_with_repo, stop

STACKS = Path(__file__).resolve().parent / "stacks"
MESSAGE = "hello matrix\n"
HTTP_REQUEST = "GET /matrix HTTP/1.0\r\n\r\n"
P12_PASSWORD = "matrix"
README = ROOT / "README.md"
BEGIN, END = "<!-- classic-tls-matrix:begin -->", "<!-- classic-tls-matrix:end -->"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@dataclass
class Row:
    direction: str
    peer: str
    mode: str
    version: str = "-"
    cipher: str = "-"
    verified: str = "-"
    echoed: str = "no"
    alert: str = "-"

    def cells(self) -> list[str]:
        return [self.direction, self.peer, self.mode, self.version, self.cipher,
                self.verified, self.echoed, self.alert]


THEIR_CLIENTS = ["Chromium (BoringSSL)", "NSS tstclnt", "Go crypto/tls", "Java JSSE", "curl"]
THEIR_SERVERS = ["NSS selfserv", "Go crypto/tls", "Java JSSE"]
ROWS = [("client", p, m) for p in THEIR_CLIENTS for m in ("preferred", "off", "required")] + \
       [("server", p, m) for p in THEIR_SERVERS for m in ("preferred", "required")]

# How each peer words our handshake_failure alert (required mode, no MLS offered).
ALERT_TEXT = {
    "Chromium (BoringSSL)": "ERR_SSL_VERSION_OR_CIPHER_MISMATCH",
    "NSS tstclnt": "SSL_ERROR_NO_CYPHER_OVERLAP",
    "Go crypto/tls": "handshake failure",
    "Java JSSE": "Received fatal alert: handshake_failure",
    "curl": "alert handshake failure",
    "NSS selfserv": "unable to negotiate an acceptable set of security parameters",
}


# --------------------------------------------------------------------------
# the PKI: a CA, and a server certificate for localhost / 127.0.0.1
# --------------------------------------------------------------------------
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_pki(d: Path, ca_name: str = "tlslite_mls matrix CA") -> None:
    """ca.pem; server.pem/server.key and server.p12 (with the CA) for localhost."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(ca_name))
          .issuer_name(_name(ca_name)).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    d.mkdir(parents=True, exist_ok=True)
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "server.pem").write_bytes(leaf.public_bytes(pem))
    (d / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (d / "server.p12").write_bytes(pkcs12.serialize_key_and_certificates(
        b"server", key, leaf, [ca], serialization.BestAvailableEncryption(P12_PASSWORD.encode())))


# --------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------
class Reader:
    """Collects a process's output on a thread, so a test can wait for a pattern."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> Optional[re.Match]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text)
            if m or (self.proc.poll() is not None and not self._t.is_alive()):
                return m
            time.sleep(0.05)
        return None


def _spawn(cmd: list[str], **kw) -> Reader:
    return Reader(subprocess.Popen(cmd, stdin=kw.pop("stdin", subprocess.DEVNULL),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, **kw))


def _run(cmd: list[str], stdin: str = "", timeout: float = 90, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout, **kw)


class Matrix:
    """Lazily started peers and servers, and every row computed once."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pki = tmp / "pki"
        make_ca_pki(self.pki)
        self.rows: dict[tuple, Row] = {}
        self._servers: dict[tuple, tuple[int, Reader]] = {}
        self._procs: list[subprocess.Popen] = []
        self._built: dict[str, Path] = {}

    def close(self) -> None:
        for p in self._procs:
            stop(p)

    def row(self, side: str, peer: str, mode: str) -> Row:
        key = (side, peer, mode)
        if key not in self.rows:
            direction = "their client → our server" if side == "client" \
                else "our client → their server"
            r = Row(direction, peer, mode)
            if side == "client":
                CLIENTS[peer](self, r)
            else:
                SERVERS[peer](self, r)
            self.rows[key] = r
        return self.rows[key]

    # ---- shared pieces -------------------------------------------------------
    @property
    def ca(self) -> str:
        return str(self.pki / "ca.pem")

    def nss_home(self) -> Path:
        """A HOME whose ~/.pki/nssdb trusts the CA and holds the server key (Chromium
        reads exactly this path; tstclnt and selfserv are pointed at it)."""
        home = self.tmp / "home"
        db = home / ".pki" / "nssdb"
        if not (db / "cert9.db").exists():
            require(shutil.which("certutil") is not None and shutil.which("pk12util") is not None,
                    "certutil and pk12util (Debian libnss3-tools)")
            db.mkdir(parents=True, exist_ok=True)
            for cmd in (["certutil", "-N", "-d", f"sql:{db}", "--empty-password"],
                        ["certutil", "-A", "-d", f"sql:{db}", "-n", "matrix-ca", "-t", "CT,C,C",
                         "-i", self.ca],
                        ["pk12util", "-i", str(self.pki / "server.p12"), "-d", f"sql:{db}",
                         "-W", P12_PASSWORD]):
                out = _run(cmd, timeout=60)
                assert out.returncode == 0, out.stdout + out.stderr
        return home

    def our_server(self, mode: str, http: bool) -> int:
        """``python -m tlslite_mls server`` in ``mode``; echo, or the HTTP page."""
        key = (mode, http)
        if key not in self._servers:
            cmd = [PY, "-m", "tlslite_mls", "server", "--mls", mode,
                   "--cert", str(self.pki / "server.pem"), "--key", str(self.pki / "server.key"),
                   *(["--http"] if http else []), "127.0.0.1:0"]
            reader = _spawn(cmd, env=env_with_repo())
            self._procs.append(reader.proc)
            m = reader.wait_for(r"listening on 127\.0\.0\.1:(\d+)")
            assert m, reader.text
            self._servers[key] = (int(m.group(1)), reader)
        return self._servers[key][0]

    def go_peer(self) -> Path:
        require(shutil.which("go") is not None, "go (Debian golang-go)")
        if "go" not in self._built:
            out_path = self.tmp / "tls_peer"
            out = _run(["go", "build", "-o", str(out_path), str(STACKS / "tls_peer.go")],
                       timeout=300, cwd=self.tmp)
            assert out.returncode == 0, out.stderr
            self._built["go"] = out_path
        return self._built["go"]

    def java(self) -> list[str]:
        require(shutil.which("java") is not None and shutil.which("javac") is not None,
                "java and javac (Debian default-jdk-headless)")
        return ["java", str(STACKS / "TlsPeer.java")]

    def our_client(self, port: int, mode: str, data: str) -> tuple[int, str, str]:
        cmd = [PY, "-m", "tlslite_mls", "client", "--mls", mode, "--trust-anchor", self.ca,
               "--server-name", "localhost", "--linger", "1", f"127.0.0.1:{port}"]
        out = _run(cmd, stdin=data, env=env_with_repo())
        return out.returncode, out.stdout, out.stderr

    def start_server(self, cmd: list[str], **kw) -> tuple[int, Reader]:
        reader = _spawn(cmd, **kw)
        self._procs.append(reader.proc)
        m = reader.wait_for(r"^(\d+)\n", timeout=120)
        assert m, reader.text
        return int(m.group(1)), reader


# --------------------------------------------------------------------------
# their clients against our server
# --------------------------------------------------------------------------
def _from_our_page(r: Row, text: str) -> None:
    """Version and suite as our server's page states them; the request came back."""
    m = re.search(r"(TLS 1\.3), MLS not negotiated.*classic TLS 1\.3 with (\w+); "
                  r"request: GET /matrix HTTP", text)
    if m:
        r.version, r.cipher, r.echoed = m.group(1), m.group(2), "yes"


def chromium_client(mx: Matrix, r: Row) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-headless-shell")
    require(exe is not None, "chromium (Debian chromium)")
    port = mx.our_server(r.mode, http=True)
    out = _chromium(mx, exe, mx.nss_home(), port)
    _from_our_page(r, out.stdout)
    if r.echoed == "yes":
        r.verified = "yes"  # Chromium shows no page for a certificate it cannot verify
    failed = re.search(r"Page load failed: net::(\w+)", out.stderr)
    if failed:
        r.alert = failed.group(1)


def _chromium(mx: Matrix, exe: str, home: Path, port: int) -> subprocess.CompletedProcess:
    profile = mx.tmp / f"chromium-profile-{time.monotonic_ns()}"
    env = dict(os.environ, HOME=str(home))
    return _run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                 f"https://127.0.0.1:{port}/matrix"], env=env, timeout=120)


def tstclnt_client(mx: Matrix, r: Row) -> None:
    require(shutil.which("tstclnt") is not None, "tstclnt (Debian libnss3-tools)")
    db = mx.nss_home() / ".pki" / "nssdb"
    port = mx.our_server(r.mode, http=True)
    # tstclnt does not exit when the server closes: read until the page or an error.
    reader = _spawn(["tstclnt", "-h", "127.0.0.1", "-p", str(port), "-a", "localhost",
                     "-d", f"sql:{db}", "-V", "tls1.3:tls1.3", "-v"], stdin=subprocess.PIPE)
    try:
        reader.proc.stdin.write(HTTP_REQUEST)
        reader.proc.stdin.flush()
        reader.wait_for(r"</html>|(SSL|SEC)_ERROR_\w+", timeout=60)
    finally:
        stop(reader.proc)
    text = reader.text
    m = re.search(r"SSL version 3\.4 using (.+)", text)
    if m:
        r.version, r.cipher = "TLS 1.3", m.group(1).strip()
        r.verified = "yes" if "issuer  DN: CN=tlslite_mls matrix CA" in text else "no"
        r.echoed = "yes" if "request: GET /matrix HTTP/1.0" in text else "no"
    err = re.search(r"((?:SSL|SEC)_ERROR_\w+)", text)
    if err:
        r.alert = err.group(1)


def _from_json_report(r: Row, text: str) -> dict:
    line = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert line, text
    rep = json.loads(line[-1])
    if "error" in rep:
        r.alert = rep["error"]
    else:
        r.version, r.cipher = rep["version"], rep["cipher"]
    return rep


def _from_client_report(r: Row, text: str) -> None:
    rep = _from_json_report(r, text)
    if "error" not in rep:
        r.verified = "yes" if rep.get("verified") else "no"
        r.echoed = "yes" if rep.get("reply") == MESSAGE else "no"


def go_client(mx: Matrix, r: Row) -> None:
    exe = mx.go_peer()
    port = mx.our_server(r.mode, http=False)
    out = _run([str(exe), "client", f"127.0.0.1:{port}", mx.ca, "localhost", MESSAGE])
    _from_client_report(r, out.stdout + out.stderr)


def java_client(mx: Matrix, r: Row) -> None:
    cmd = mx.java()
    port = mx.our_server(r.mode, http=False)
    out = _run([*cmd, "client", "127.0.0.1", str(port), mx.ca, "localhost", MESSAGE])
    _from_client_report(r, out.stdout + out.stderr)


def curl_client(mx: Matrix, r: Row) -> None:
    require(shutil.which("curl") is not None, "curl (Debian curl)")
    port = mx.our_server(r.mode, http=True)
    out = _run(["curl", "-sS", "-v", "--tlsv1.3", "--http1.1", "--max-time", "60",
                "--cacert", mx.ca, "--resolve", f"localhost:{port}:127.0.0.1",
                f"https://localhost:{port}/matrix"])
    m = re.search(r"SSL connection using TLSv1\.3 / (\S+)", out.stderr)
    if m:
        r.version, r.cipher = "TLS 1.3", m.group(1)
        r.verified = "yes" if "SSL certificate verify ok" in out.stderr else "no"
        r.echoed = "yes" if "request: GET /matrix HTTP/1.1" in out.stdout else "no"
    err = re.search(r"curl: \(\d+\) (?:OpenSSL/[\d.]+: )?(.+)", out.stderr)
    if err:
        r.alert = err.group(1).strip()


CLIENTS: dict[str, Callable[[Matrix, Row], None]] = {
    "Chromium (BoringSSL)": chromium_client, "NSS tstclnt": tstclnt_client,
    "Go crypto/tls": go_client, "Java JSSE": java_client, "curl": curl_client}


# --------------------------------------------------------------------------
# our client against their servers
# --------------------------------------------------------------------------
def _from_our_client(r: Row, rc: int, stdout: str, stderr: str, expected_reply: str) -> None:
    m = re.search(r"(TLS 1\.3), MLS not negotiated.*classic TLS 1\.3 with (\w+)", stderr)
    if rc == 0 and m:
        r.version, r.cipher = m.group(1), m.group(2)
        r.verified = "yes" if "server certificate verified for 'localhost'" in stderr else "no"
        r.echoed = "yes" if expected_reply in stdout else "no"


def _their_server(start: Callable[[Matrix], tuple[int, Reader]], prefix: str):
    def run(mx: Matrix, r: Row) -> None:
        port, reader = start(mx)
        seen = len(reader.lines)
        rc, out, err = mx.our_client(port, r.mode, MESSAGE)
        _from_our_client(r, rc, out, err, prefix + MESSAGE)
        reader.wait_for(r"\{.*\}\n", timeout=30)  # the server's report of this connection
        reports = [json.loads(ln) for ln in reader.lines[seen:] if ln.startswith("{")]
        if r.mode == "required" and reports:
            r.alert = reports[-1].get("error", "-")
    return run


def _go_server(mx: Matrix) -> tuple[int, Reader]:
    if "go-server" not in mx._servers:
        mx._servers["go-server"] = mx.start_server(
            [str(mx.go_peer()), "server", str(mx.pki / "server.pem"), str(mx.pki / "server.key")])
    return mx._servers["go-server"]


def _java_server(mx: Matrix) -> tuple[int, Reader]:
    if "java-server" not in mx._servers:
        mx._servers["java-server"] = mx.start_server(
            [*mx.java(), "server", str(mx.pki / "server.p12"), P12_PASSWORD])
    return mx._servers["java-server"]


def selfserv_server(mx: Matrix, r: Row) -> None:
    """selfserv listens on every address: it runs, with our client, in a private
    network namespace that has only loopback. Both modes are measured in one run."""
    require(shutil.which("selfserv") is not None, "selfserv (Debian libnss3-tools)")
    require(shutil.which("unshare") is not None and shutil.which("ip") is not None,
            "unshare and ip (network namespace for selfserv)")
    require(os.geteuid() == 0, "root, for a private network namespace")
    db = mx.nss_home() / ".pki" / "nssdb"
    log = mx.tmp / "selfserv.log"
    clients = []
    for mode in ("preferred", "required"):
        clients.append(
            f"printf '{HTTP_REQUEST.encode('unicode_escape').decode()}' | {PY} -m tlslite_mls "
            f"client --mls {mode} --trust-anchor {mx.ca} --server-name localhost --linger 1 "
            f"127.0.0.1:4433 > {mx.tmp}/ss-{mode}.out 2> {mx.tmp}/ss-{mode}.err; "
            f"echo $? > {mx.tmp}/ss-{mode}.rc; sleep 0.3")
    script = textwrap.dedent(f"""
        ip link set lo up
        selfserv -d sql:{db} -n server -p 4433 -V tls1.3:tls1.3 -v > {log} 2>&1 & S=$!
        for i in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/4433) 2>/dev/null && break; sleep 0.1; done
        """) + "\n".join(clients) + "\nkill $S\n"
    out = _run(["unshare", "-n", "bash", "-c", script], env=env_with_repo(), timeout=120)
    assert out.returncode == 0, out.stderr
    served = log.read_text(errors="replace")
    for mode in ("preferred", "required"):
        row = r if mode == r.mode else Row(r.direction, r.peer, mode)
        _from_our_client(row, int((mx.tmp / f"ss-{mode}.rc").read_text()),
                         (mx.tmp / f"ss-{mode}.out").read_text(),
                         (mx.tmp / f"ss-{mode}.err").read_text(), "GET /matrix HTTP/1.0")
        mx.rows[("server", r.peer, mode)] = row
    errors = re.findall(r"returned error (-\d+):\s*\n(.+)", served)
    # selfserv's error for the required-mode connection: the last error it logged.
    if errors:
        mx.rows[("server", r.peer, "required")].alert = errors[-1][1].strip()


SERVERS: dict[str, Callable[[Matrix, Row], None]] = {
    "NSS selfserv": selfserv_server,
    "Go crypto/tls": _their_server(_go_server, "go:"),
    "Java JSSE": _their_server(_java_server, "java:"),
}


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    mx = Matrix(tmp_path_factory.mktemp("classic-matrix"))
    yield mx
    mx.close()


@pytest.mark.parametrize("side,peer,mode", ROWS,
                         ids=[f"{s}-{p.split()[0]}-{m}" for s, p, m in ROWS])
def test_matrix_row(matrix, side, peer, mode):
    r = matrix.row(side, peer, mode)
    if mode == "required":
        assert r.echoed == "no" and r.version == "-", r
        assert ALERT_TEXT[peer] in r.alert, r
        return
    assert r.alert == "-", r
    assert (r.version, r.echoed) == ("TLS 1.3", "yes"), r
    assert r.cipher != "-", r
    assert r.verified == "yes", r


def test_chromium_refuses_our_certificate_without_the_ca(matrix):
    """The matrix's "certificate verified" for Chromium means something: without the
    CA in its NSS database the same page does not load."""
    exe = shutil.which("chromium") or shutil.which("chromium-headless-shell")
    require(exe is not None, "chromium (Debian chromium)")
    bare = matrix.tmp / "bare-home"
    bare.mkdir(exist_ok=True)
    out = _chromium(matrix, exe, bare, matrix.our_server("preferred", http=True))
    assert 'id="tls"' not in out.stdout
    assert "net::ERR_CERT_AUTHORITY_INVALID" in out.stderr, out.stderr[-2000:]


def test_our_client_refuses_classic_server_outside_trust_anchor(matrix):
    """--trust-anchor/--server-name also judge a classic server's certificate: the
    matrix's "certificate verified" for our client means something."""
    port, reader = _go_server(matrix)
    seen = len(reader.lines)
    other = matrix.tmp / "other-ca"
    make_ca_pki(other, "another CA")
    cmd = [PY, "-m", "tlslite_mls", "client", "--trust-anchor", str(other / "ca.pem"),
           "--server-name", "localhost", "--linger", "1", f"127.0.0.1:{port}"]
    out = _run(cmd, stdin=MESSAGE, env=env_with_repo())
    assert out.returncode != 0 and "go:" not in out.stdout, out.stderr
    assert "not trusted" in out.stderr, out.stderr
    reader.wait_for(r"\{.*\}\n", timeout=30)
    reports = [json.loads(ln) for ln in reader.lines[seen:] if ln.startswith("{")]
    assert reports and "unknown certificate authority" in reports[-1].get("error", ""), reports


def render(rows: list[Row]) -> str:
    head = ["direction", "peer", "our mode", "protocol", "cipher suite",
            "certificate verified", "data echoed", "error the peer reports"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def test_readme_matrix_is_current(matrix):
    """The README's matrix is exactly what this run measured."""
    table = render([matrix.row(*key) for key in ROWS])
    text = README.read_text()
    assert BEGIN in text and END in text, f"README.md lacks the {BEGIN} ... {END} block"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{table}{END}{tail}"
    if os.environ.get("TLSLITE_MLS_WRITE_README"):
        README.write_text(new)
    assert new == text, "README.md's classic TLS matrix differs from this run; " \
        "rerun with TLSLITE_MLS_WRITE_README=1 to rewrite it\n" + table
