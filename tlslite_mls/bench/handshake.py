"""Full TLS 1.3 handshakes per second: our MLS handshake against two classic baselines.

Three implementations, in one run and on the same machine:

* ``tlslite_mls``: our client and server, MLS suite 0x0001 negotiated (``--suite``
  times others, post-quantum ones included, each as an entry of its own), no TLS
  certificate messages (the MLS credentials authenticate; the client checks the
  server's expected identity);
* ``tlslite-ng``: tlslite-ng's own TLS 1.3 handshake without the plugin: x25519,
  ECDSA P-256 server certificate;
* ``ssl``: Python's ``ssl`` (OpenSSL) on both sides, TLS 1.3, the same certificate.

Method: the server runs in a separate (forked) process and serves one connection at
a time; the client makes a new TCP connection on 127.0.0.1 per handshake and reads
one byte the server writes after its handshake, so a handshake counts only once the
server has checked the client's Finished. All servers start first; then, round by
round, each implementation does one run of ``n`` handshakes, so the implementations
take turns and a burst of load from elsewhere hits them alike. Round 0 warms up;
the figures are medians over the ``runs`` timed rounds, and each ratio is the median
of the rounds' own ratios. tlslite-ng's record protection is pure Python, so both
tlslite figures use TLS_AES_128_GCM_SHA256; ``ssl`` uses OpenSSL's default suite.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import ssl
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Optional, Sequence

IMPLEMENTATIONS = ("tlslite_mls", "tlslite-ng", "ssl")
SERVER_IDENTITY = b"bench-server"


# ----------------------------------------------------------------------------
# credentials shared by the servers
# ----------------------------------------------------------------------------
class _Material:
    """An ECDSA P-256 certificate (PEM files for ssl) and the MLS server identity."""

    def __init__(self, suites: Sequence[int] = (1,)) -> None:
        from ..mls.credentials import Credential
        from ..mls.crypto import get_cipher_suite
        self.dir = tempfile.mkdtemp(prefix="tlslite-mls-bench-")
        self.cert_pem, self.key_pem = _self_signed_p256()
        self.cert_path = os.path.join(self.dir, "cert.pem")
        self.key_path = os.path.join(self.dir, "key.pem")
        with open(self.cert_path, "w") as f:
            f.write(self.cert_pem)
        with open(os.open(self.key_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(self.key_pem)
        self.mls_credential = Credential.basic(SERVER_IDENTITY)
        # Both sides have a standing identity, as deployments do (the throw-away
        # identity of the command line is a convenience, not a use case to time).
        self.mls_client_credential = Credential.basic(b"bench-client")
        self._mls_keys: dict[int, tuple[bytes, bytes]] = {}
        for suite in suites:
            cs = get_cipher_suite(suite)
            self._mls_keys[suite] = (cs.generate_signature_key_pair()[0],
                                     cs.generate_signature_key_pair()[0])

    def mls_keys(self, suite: int) -> tuple[bytes, bytes]:
        """(server, client) MLS signature keys for ``suite``."""
        return self._mls_keys[suite]

    @property
    def mls_key(self) -> bytes:
        """The server's key for the first suite (the other benchmarks use one suite)."""
        return next(iter(self._mls_keys.values()))[0]

    @property
    def mls_client_key(self) -> bytes:
        return next(iter(self._mls_keys.values()))[1]

    def cleanup(self) -> None:
        for path in (self.cert_path, self.key_path):
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def _self_signed_p256() -> tuple[str, str]:
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def _tlslite_settings() -> Any:
    from tlslite import HandshakeSettings
    s = HandshakeSettings()
    s.minVersion = s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]
    s.eccCurves = ["x25519", "secp256r1"]
    s.cipherNames = ["aes128gcm"]
    return s


# ----------------------------------------------------------------------------
# one handshake per side and implementation
# ----------------------------------------------------------------------------
def _server_handshake(impl: str, mat: _Material, suite: int = 1
                      ) -> Callable[[socket.socket], None]:
    if impl == "ssl":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(mat.cert_path, mat.key_path)
        ctx.num_tickets = 0

        def serve_ssl(sock: socket.socket) -> None:
            with ctx.wrap_socket(sock, server_side=True) as conn:
                conn.sendall(b"!")
        return serve_ssl

    from tlslite import TLSConnection, X509CertChain, parsePEMKey

    from ..tls import MLSServerSettings, MLSTLSConnection
    chain = X509CertChain()
    chain.parsePemList(mat.cert_pem)
    key = parsePEMKey(mat.key_pem, private=True)
    settings = _tlslite_settings()
    mls = MLSServerSettings(mode="required", suites=[suite], credential=mat.mls_credential,
                            signature_key=mat.mls_keys(suite)[0]).validate() \
        if impl == "tlslite_mls" else None

    def serve_tlslite(sock: socket.socket) -> None:
        conn = MLSTLSConnection(sock, mls_settings=mls) if mls is not None \
            else TLSConnection(sock)
        conn.handshakeServer(certChain=chain, privateKey=key, settings=settings)
        conn.write(b"!")
        conn.sock.close()
    return serve_tlslite


def _client_handshake(impl: str, mat: "_Material", suite: int = 1
                      ) -> Callable[[socket.socket], None]:
    if impl == "ssl":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # tlslite-ng does not verify either

        def connect_ssl(sock: socket.socket) -> None:
            with ctx.wrap_socket(sock) as conn:
                if conn.recv(1) != b"!":
                    raise RuntimeError("ssl: no byte after the handshake")
        return connect_ssl

    from tlslite import TLSConnection

    from ..tls import MLSClientSettings, MLSTLSConnection
    from ..tls.post_handshake import UpdatePolicy
    settings = _tlslite_settings()
    mls = MLSClientSettings(mode="required", suites=[suite], expected_identity=SERVER_IDENTITY,
                            credential=mat.mls_client_credential,
                            signature_key=mat.mls_keys(suite)[1]) \
        if impl == "tlslite_mls" else None

    def connect_tlslite(sock: socket.socket) -> None:
        conn = MLSTLSConnection(sock, mls_settings=mls) if mls is not None \
            else TLSConnection(sock)
        if mls is not None:
            # The handshake alone: no epoch change after it, nothing kept for resumption.
            conn.mls_update_policy = UpdatePolicy(initial_update=False, resumable=False)
        conn.handshakeClientCert(settings=settings)
        if bytes(conn.read(max=1)) != b"!":
            raise RuntimeError(f"{impl}: no byte after the handshake")
        if mls is not None and (not conn.mls_negotiated or conn.mls_cipher_suite != suite):
            raise RuntimeError(f"tlslite_mls: MLS suite 0x{suite:04x} was not negotiated")
        conn.sock.close()
    return connect_tlslite


def _serve_forever(impl: str, mat: _Material, listener: socket.socket, cpu: Any,
                   suite: int = 1) -> None:
    """Serve until terminated; ``cpu`` (a shared double) always holds our CPU seconds."""
    serve = _server_handshake(impl, mat, suite)
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            serve(sock)
        except Exception as exc:  # noqa: BLE001 - the client reports the failure
            print(f"bench server ({impl}): {type(exc).__name__}: {exc}", file=sys.stderr)
        finally:
            sock.close()
            cpu.value = time.process_time()


# ----------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------
class _Server:
    """One implementation's server process and the client side that talks to it."""

    def __init__(self, impl: str, mat: _Material, suite: int = 1, name: str = "") -> None:
        self.impl = impl
        self.name = name or impl
        listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = listener.getsockname()[1]
        ctx = multiprocessing.get_context("fork")
        self.cpu = ctx.Value("d", 0.0)
        self.process = ctx.Process(target=_serve_forever,
                                   args=(impl, mat, listener, self.cpu, suite), daemon=True)
        self.process.start()
        listener.close()
        self.connect = _client_handshake(impl, mat, suite)

    def run(self, n: int) -> tuple[float, float]:
        """(handshakes per second, CPU ms per handshake of client + server) of n handshakes.

        CPU time does not count waiting, so it moves less than the rate when other work
        shares the machine.
        """
        start, cpu0, scpu0 = time.perf_counter(), time.process_time(), self.cpu.value
        for _ in range(n):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.connect(sock)
            finally:
                sock.close()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        time.sleep(0.01)  # let the server note the CPU of its last connection
        cpu += self.cpu.value - scpu0
        return n / wall, cpu / n * 1000

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


def count_handshake_operations(mat: _Material, suite: int = 1) -> dict[str, int]:
    """The crypto operations of one of our handshakes, client and server together
    (floor.py), over a socket pair in this process."""
    import threading

    from .floor import count_operations
    serve = _server_handshake("tlslite_mls", mat, suite)
    connect = _client_handshake("tlslite_mls", mat, suite)

    def one() -> None:
        a, b = socket.socketpair()
        server = threading.Thread(target=serve, args=(b,))
        server.start()
        try:
            connect(a)
        finally:
            server.join(30)
            a.close()
            b.close()
    return count_operations(one)


def measure(impl: str, n: int, runs: int, mat: _Material) -> tuple[list[float], list[float]]:
    """One implementation alone: (rates, CPU ms per handshake) of ``runs`` timed runs
    of ``n`` handshakes, after one warm-up run."""
    server = _Server(impl, mat)
    try:
        results = [server.run(n) for _ in range(runs + 1)][1:]
    finally:
        server.stop()
    return [r for r, _ in results], [c for _, c in results]


def entry_name(suite: int, suites: Sequence[int]) -> str:
    """``tlslite_mls``, or ``tlslite_mls 0xF001`` when suites other than 0x0001 are timed."""
    return "tlslite_mls" if list(suites) == [1] else f"tlslite_mls 0x{suite:04x}"


def run(n: int = 30, runs: int = 7, ssl_factor: int = 10,
        implementations: Sequence[str] = IMPLEMENTATIONS, suites: Sequence[int] = (1,)) -> dict:
    """Medians and ratios; ``ssl`` does ``ssl_factor`` times more handshakes per run.

    ``suites``: the MLS suites to time, each as an entry of its own (the first is the
    reference of the CPU ratios). The entries take turns: each round does one run of
    each, so a burst of load from elsewhere on the machine hits them alike, and each
    round gives one ratio. Round 0 warms up and is not counted.
    """
    mat = _Material(suites)
    # the crypto floor of suite 0x0001, whose primitives floor.py times
    ops = count_handshake_operations(mat) \
        if "tlslite_mls" in implementations and 1 in suites else None
    entries: list[tuple[str, str, int]] = []
    for impl in implementations:
        if impl == "tlslite_mls":
            entries += [(entry_name(s, suites), impl, s) for s in suites]
        else:
            entries.append((impl, impl, 1))
    counts = {name: n * (ssl_factor if impl == "ssl" else 1) for name, impl, _ in entries}
    samples: dict[str, list[float]] = {name: [] for name, _, _ in entries}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in entries}
    servers: list[_Server] = []
    try:
        for name, impl, suite in entries:
            servers.append(_Server(impl, mat, suite, name))
        for r in range(runs + 1):
            for server in servers:
                rate, cpu_ms = server.run(counts[server.name])
                if r:
                    samples[server.name].append(rate)
                    cpu[server.name].append(cpu_ms)
    finally:
        for server in servers:
            server.stop()
        mat.cleanup()
    medians = {name: statistics.median(v) for name, v in samples.items()}
    ratios: dict[str, float] = {}
    round_ratios: dict[str, list[float]] = {}
    first = entry_name(suites[0], suites)
    pairs = [(f"{first}/tlslite-ng", first, "tlslite-ng", samples),
             (f"ssl/{first}", "ssl", first, samples)]
    # CPU per handshake of every other MLS suite against the first one's.
    pairs += [(f"cpu {entry_name(s, suites)}/{first}", entry_name(s, suites), first, cpu)
              for s in suites[1:]]
    for name, num, den, table in pairs:
        if num in table and den in table:
            round_ratios[name] = [a / b for a, b in zip(table[num], table[den])]
            ratios[name] = statistics.median(round_ratios[name])
    floor = None
    if ops is not None:
        from .floor import floor_report, unit_costs_us
        floor = floor_report(ops, unit_costs_us(),
                             statistics.median(cpu[entry_name(1, suites)]))
    return {"median_hs_per_s": medians, "ratios": ratios, "round_ratios": round_ratios,
            "crypto_floor": floor,
            "median_cpu_ms_per_hs": {name: statistics.median(v) for name, v in cpu.items()},
            "runs_hs_per_s": samples, "handshakes_per_run": counts,
            "runs": runs, "mls_suite": f"0x{suites[0]:04x}",
            "mls_suites": [f"0x{s:04x}" for s in suites],
            "tls_cipher_suite": {"tlslite_mls": "TLS_AES_128_GCM_SHA256",
                                 "tlslite-ng": "TLS_AES_128_GCM_SHA256",
                                 "ssl": "OpenSSL default"},
            "cpu_count": os.cpu_count()}


def report(result: dict, out: Any = sys.stdout) -> None:
    med = result["median_hs_per_s"]
    print(f"full TLS 1.3 handshakes per second, new TCP connection each, 127.0.0.1, "
          f"server in another process; median of {result['runs']} rounds, the "
          f"implementations taking turns in each", file=out)
    for impl, value in med.items():
        spread = result["runs_hs_per_s"][impl]
        print(f"  {impl:18s} {value:8.1f} /s   (runs {min(spread):.1f}-{max(spread):.1f}, "
              f"{result['handshakes_per_run'][impl]} handshakes each; CPU client+server "
              f"{result['median_cpu_ms_per_hs'][impl]:.2f} ms per handshake)", file=out)
    for name, value in result["ratios"].items():
        per_round = result["round_ratios"][name]
        print(f"  {name:40s} {value:6.2f}x   (median of the {len(per_round)} rounds' ratios; "
              f"rounds {min(per_round):.2f}-{max(per_round):.2f})", file=out)
    if result.get("crypto_floor"):
        from .floor import describe
        print(f"  tlslite_mls 0x0001: {describe(result['crypto_floor'])}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench handshake",
                                description="Full TLS 1.3 handshakes per second: "
                                            "MLS handshake, tlslite-ng, Python ssl.")
    p.add_argument("-n", "--handshakes", type=int, default=30,
                   help="handshakes per timed run for the tlslite ones (default 30)")
    p.add_argument("--runs", type=int, default=7,
                   help="timed rounds, each one run per implementation (default 7)")
    p.add_argument("--ssl-factor", type=int, default=10,
                   help="ssl does this many times more handshakes per run (default 10)")
    p.add_argument("--only", default=",".join(IMPLEMENTATIONS),
                   help="comma-separated subset of " + ",".join(IMPLEMENTATIONS))
    p.add_argument("--suite", default="0x0001",
                   help="MLS cipher suite(s) to time, comma-separated, e.g. "
                        "0x0001,0xF001,0xF006,0xF00B (the first is the CPU reference)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv) if argv is not None else None)
    impls = [x for x in args.only.split(",") if x]
    from ..mls.crypto import supported_cipher_suites
    try:
        suites = [int(x, 0) for x in args.suite.split(",") if x]
    except ValueError:
        p.error(f"--suite: not a list of numbers: {args.suite!r}")
    unsupported = [s for s in suites if s not in supported_cipher_suites()]
    if not suites or unsupported or len(set(suites)) != len(suites):
        p.error(f"--suite: give distinct supported MLS suites "
                f"(unsupported: {', '.join(hex(s) for s in unsupported) or 'none'})")
    if args.handshakes < 1 or args.runs < 1 or args.ssl_factor < 1:
        p.error("-n, --runs and --ssl-factor must be at least 1")
    unknown = set(impls) - set(IMPLEMENTATIONS)
    if unknown or not impls:
        p.error(f"--only: unknown {sorted(unknown)}")
    result = run(args.handshakes, args.runs, args.ssl_factor, impls, suites)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
