"""Every mistake users make most often gives one line on stderr (message; what to do),
exit code 2 for a usage mistake and 1 at run time, and never a traceback. Each case
runs the real command line in its own process."""

from __future__ import annotations

import socket
import subprocess

import pytest

from hostile import PY, REPO, Server, env


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "tlslite_mls", *args], capture_output=True, text=True,
                          timeout=timeout, env=env(), cwd=str(REPO), stdin=subprocess.DEVNULL)


def assert_one_line(r: subprocess.CompletedProcess, code: int, start: str, *also: str) -> None:
    first = r.stderr.splitlines()[0] if r.stderr else ""
    assert r.returncode == code, (r.returncode, r.stderr)
    assert first.startswith(start), r.stderr
    for text in also:
        assert text in first, r.stderr
    assert "Traceback" not in r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    """A TLS certificate and key, and a file that is neither."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    d = tmp_path_factory.mktemp("pem")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    (d / "garbage.pem").write_text("not a PEM file\n")
    return d


# -- runtime (exit code 1) ---------------------------------------------------------
def test_connection_refused_is_one_line():
    port = free_port()
    r = run("client", "--accept-any-identity", f"127.0.0.1:{port}")
    assert_one_line(r, 1, f"error: connection to 127.0.0.1:{port} refused",
                    "is the server running")
    r = run("client", "--mls-tls", "--accept-any-identity", f"127.0.0.1:{port}")
    assert_one_line(r, 1, f"error: connection to 127.0.0.1:{port} refused")


def test_unknown_host_is_one_line():
    r = run("client", "--accept-any-identity", "no-such-host.invalid:443")
    assert_one_line(r, 1, "error: unknown host 'no-such-host.invalid'", "check the name")


def test_port_in_use_is_one_line():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        for mode in ([], ["--mls-tls"]):
            r = run("server", *mode, f"127.0.0.1:{port}")
            assert_one_line(r, 1, f"error: cannot listen on 127.0.0.1:{port}: the port is "
                                  "in use", "pick another port")


def test_extension_client_against_mls_tls_server_says_add_mls_tls():
    server = Server("--count", "1", mls_tls=True)
    try:
        r = run("client", "--accept-any-identity", f"127.0.0.1:{server.port}")
    finally:
        server.stop()
    assert_one_line(r, 1, "error: the server speaks MLS-TLS", "add --mls-tls")


def test_mls_tls_client_against_extension_server_says_drop_mls_tls():
    server = Server("--count", "1")
    try:
        r = run("client", "--mls-tls", "--accept-any-identity", "--timeout", "60",
                f"127.0.0.1:{server.port}")
        line = server.line_matching("failed", 60)
    finally:
        server.stop()
    assert_one_line(r, 1, "error: the server speaks TLS, not MLS-TLS", "drop --mls-tls")
    assert "the client may speak MLS-TLS" in line


# -- usage (exit code 2) -----------------------------------------------------------
def test_port_out_of_range_is_a_usage_error():
    for command in (["server"], ["client", "--accept-any-identity"]):
        r = run(*command, "127.0.0.1:70000")
        assert_one_line(r, 2, "error: argument HOST:PORT: port 70000 out of range")


def test_unknown_suite_is_a_usage_error():
    for mode in ([], ["--mls-tls"]):
        r = run("server", *mode, "--suite", "0x9999", "127.0.0.1:0")
        assert_one_line(r, 2, "error: argument --suite: unknown MLS cipher suite 0x9999",
                        "0x0001")


def test_missing_pem_files_are_a_usage_error(tmp_path):
    missing = str(tmp_path / "nope.pem")
    r = run("server", "--cert", missing, "--key", missing, "127.0.0.1:0")
    assert_one_line(r, 2, f"error: {missing}: cannot read it: No such file")
    r = run("server", "--mls-cert", missing, "--mls-key", missing, "127.0.0.1:0")
    assert_one_line(r, 2, f"error: {missing}: cannot read the MLS certificate")


def test_wrong_pem_files_are_a_usage_error(pem):
    r = run("server", "--cert", str(pem / "garbage.pem"), "--key", str(pem / "key.pem"),
            "127.0.0.1:0")
    assert_one_line(r, 2, "error: ", "no PEM certificate in the certificate file")
    r = run("server", "--cert", str(pem / "cert.pem"), "--key", str(pem / "garbage.pem"),
            "127.0.0.1:0")
    assert_one_line(r, 2, "error: ", "no PEM private key in the key file")


def test_swapped_cert_and_key_are_a_usage_error(pem):
    r = run("server", "--cert", str(pem / "key.pem"), "--key", str(pem / "cert.pem"),
            "127.0.0.1:0")
    assert_one_line(r, 2, "error: ", "look swapped", "give the certificate to --cert")


def test_mls_tls_resume_needs_a_session_key():
    r = run("client", "--mls-tls", "--resume", "--accept-any-identity", "127.0.0.1:9")
    assert_one_line(r, 2, "error: --mls-tls --resume needs --session-key NAME")


@pytest.mark.parametrize("args, start", [
    (["server", "--mls-tls", "--mls", "off"], "error: --mls off is an extension-mode"),
    (["server", "--mls-tls", "--tickets"], "error: --tickets is an extension-mode option"),
    (["server", "--mls-tls", "--cert", "c.pem", "--key", "k.pem"],
     "error: --cert is an extension-mode option"),
    (["server", "--mls-tls", "--alpn", "h2"], "error: --alpn is an extension-mode option"),
    (["server", "--mls-tls", "--http"], "error: --http is an extension-mode option"),
    (["client", "--mls-tls", "--send-certificates", "--accept-any-identity"],
     "error: --send-certificates is an extension-mode option"),
    (["client", "--no-initial-update", "--accept-any-identity"],
     "error: --no-initial-update is an MLS-TLS option"),
    (["server", "--mls", "off", "--store", "memory:"], "error: --store keeps MLS groups"),
    (["client", "--expect-identity", "x", "-L", "0"], "error: --update-every must be"),
])
def test_options_of_the_other_mode_are_refused(args, start):
    r = run(*args, "127.0.0.1:9")
    assert_one_line(r, 2, start)


def test_unknown_option_is_one_line():
    r = run("client", "--no-such-option", "127.0.0.1:9")
    assert_one_line(r, 2, "error: unrecognized arguments: --no-such-option",
                    "see 'tlslite-mls client --help'")
