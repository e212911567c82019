"""``python -m tlslite_mls bench throughput``: bulk data through both modes, ``ssl`` and tlslite-ng.

Four implementations, two record ciphers, one run:

* ``extension``: our TLS extension mode (MLS suite 0x0001 for AES-128-GCM, 0x0003 for
  ChaCha20-Poly1305; the TLS cipher suite is pinned to the same AEAD);
* ``mls-tls``: MLS-TLS, whose record AEAD follows from the same MLS suites;
* ``ssl``: Python's ``ssl`` (OpenSSL) on both sides, TLS 1.3, the suite pinned through an
  OpenSSL configuration file (Python has no API for TLS 1.3 suites);
* ``tlslite-ng``: tlslite-ng's own TLS 1.3 (pure-Python record protection), which moves
  ``--tlslite-ng-mib`` instead of ``--mib``, being three orders of magnitude slower.

One measurement is one child process: it forks the server, connects over TCP on
127.0.0.1, completes the handshake, and only then times the client writing the bytes
in 16 KiB writes until the server, having read them all, answers with its own CPU
seconds for the transfer. No epoch change or KeyUpdate happens during the transfer.
Rounds take turns over every (cipher, implementation), so load from elsewhere hits
them alike; round 0 warms up. Figures are medians; each ratio to ``ssl`` is the
median of the rounds' own ratios. CPU per MiB counts client and server; the CPU
ratio (ssl's CPU per MiB over ours) is what the rate ratio would be on idle cores,
and moves less than it when the machine is shared.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional, Sequence

IMPLEMENTATIONS = ("extension", "mls-tls", "ssl", "tlslite-ng")
# cipher -> (MLS suite, tlslite-ng cipher name, OpenSSL TLS 1.3 suite name)
CIPHERS = {
    "aes": (0x0001, "aes128gcm", "TLS_AES_128_GCM_SHA256"),
    "chacha": (0x0003, "chacha20-poly1305", "TLS_CHACHA20_POLY1305_SHA256"),
}
WRITE_SIZE = 16384
MIB = 1 << 20

_OPENSSL_CONF = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = {suite}
"""


# ----------------------------------------------------------------------------
# the two sides of one implementation (run in the child process)
# ----------------------------------------------------------------------------
class _Ends:
    """Server and client of one implementation and cipher: each takes the connected
    socket, completes the handshake and returns ``(read, write, name, close)`` where
    ``name`` is the record protection actually negotiated."""

    def __init__(self, impl: str, cipher: str) -> None:
        from .handshake import _Material
        self.impl, self.cipher = impl, cipher
        self.suite, self.tlslite_name, self.openssl_name = CIPHERS[cipher]
        self.mat = _Material((self.suite,))
        self.server_key, self.client_key = self.mat.mls_keys(self.suite)

    def server(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        return getattr(self, "_server_" + self.impl.replace("-", "_"))(sock)

    def client(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        return getattr(self, "_client_" + self.impl.replace("-", "_"))(sock)

    # -- ssl --------------------------------------------------------------------------
    def _server_ssl(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(self.mat.cert_path, self.mat.key_path)
        ctx.num_tickets = 0
        conn = ctx.wrap_socket(sock, server_side=True)
        return _ssl_read(conn), conn.sendall, conn.cipher()[0], conn.close

    def _client_ssl(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = ctx.wrap_socket(sock)
        return _ssl_read(conn), conn.sendall, conn.cipher()[0], conn.close

    # -- tlslite-ng and the extension mode -------------------------------------------
    def _tls_settings(self) -> Any:
        from .handshake import _tlslite_settings
        s = _tlslite_settings()
        s.cipherNames = [self.tlslite_name]
        return s

    def _server_tlslite(self, sock: socket.socket, mls: Any) -> tuple[Callable, Callable, str, Callable]:
        from tlslite import TLSConnection, X509CertChain, parsePEMKey

        from ..tls import MLSTLSConnection
        chain = X509CertChain()
        chain.parsePemList(self.mat.cert_pem)
        key = parsePEMKey(self.mat.key_pem, private=True)
        from ..tls.post_handshake import UpdatePolicy
        conn = MLSTLSConnection(sock, mls_settings=mls) if mls is not None \
            else TLSConnection(sock)
        if mls is not None:
            conn.mls_update_policy = UpdatePolicy(initial_update=False, resumable=False)
        conn.handshakeServer(certChain=chain, privateKey=key, settings=self._tls_settings())
        return conn.read, conn.write, conn.getCipherName(), conn.close

    def _client_tlslite(self, sock: socket.socket, mls: Any) -> tuple[Callable, Callable, str, Callable]:
        from tlslite import TLSConnection

        from ..tls import MLSTLSConnection
        from ..tls.post_handshake import UpdatePolicy
        conn = MLSTLSConnection(sock, mls_settings=mls) if mls is not None \
            else TLSConnection(sock)
        if mls is not None:
            conn.mls_update_policy = UpdatePolicy(initial_update=False, resumable=False)
        conn.handshakeClientCert(settings=self._tls_settings())
        if mls is not None and not conn.mls_negotiated:
            raise RuntimeError("extension mode: MLS was not negotiated")
        return conn.read, conn.write, conn.getCipherName(), conn.close

    def _server_tlslite_ng(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        return self._server_tlslite(sock, None)

    def _client_tlslite_ng(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        return self._client_tlslite(sock, None)

    def _server_extension(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        from ..tls import MLSServerSettings
        mls = MLSServerSettings(mode="required", suites=[self.suite],
                                credential=self.mat.mls_credential,
                                signature_key=self.server_key).validate()
        return self._server_tlslite(sock, mls)

    def _client_extension(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        from ..tls import MLSClientSettings
        from .handshake import SERVER_IDENTITY
        mls = MLSClientSettings(mode="required", suites=[self.suite],
                                expected_identity=SERVER_IDENTITY,
                                credential=self.mat.mls_client_credential,
                                signature_key=self.client_key)
        return self._client_tlslite(sock, mls)

    # -- MLS-TLS ----------------------------------------------------------------------
    def _server_mls_tls(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        from ..mlstls import MLSTLSServer, MLSTLSServerSettings
        conn = MLSTLSServer(sock, MLSTLSServerSettings(
            suites=[self.suite], credential=self.mat.mls_credential,
            signature_key=self.server_key))
        conn.handshake()
        return conn.read, conn.write, conn.record_cipher_suite, conn.close

    def _client_mls_tls(self, sock: socket.socket) -> tuple[Callable, Callable, str, Callable]:
        from ..mlstls import MLSTLSClient, MLSTLSClientSettings
        from .handshake import SERVER_IDENTITY
        conn = MLSTLSClient(sock, MLSTLSClientSettings(
            suites=[self.suite], expected_identity=SERVER_IDENTITY,
            credential=self.mat.mls_client_credential,
            signature_key=self.client_key, initial_update=False))
        conn.handshake()
        return conn.read, conn.write, conn.record_cipher_suite, conn.close


def _ssl_read(conn: Any) -> Callable[[], Any]:
    buf = bytearray(4 * WRITE_SIZE)
    view = memoryview(buf)

    def read() -> Any:
        return view[:conn.recv_into(buf)]
    return read


# ----------------------------------------------------------------------------
# one measurement (the child process)
# ----------------------------------------------------------------------------
def _serve(ends: _Ends, listener: socket.socket, nbytes: int) -> None:
    sock, _ = listener.accept()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    read, write, _, close = ends.server(sock)
    cpu0 = time.process_time()
    got = 0
    while got < nbytes:
        data = read()
        if not data:
            raise RuntimeError(f"server: stream ended after {got} of {nbytes} bytes")
        got += len(data)
    if got != nbytes:
        raise RuntimeError(f"server: {got} bytes received, {nbytes} sent")
    write(b"%.6f" % (time.process_time() - cpu0))
    try:
        read()  # wait for the client's close before closing
    except Exception:  # noqa: BLE001 - the client closes without close_notify
        pass
    close()


def measure_child(impl: str, cipher: str, nbytes: int) -> dict:
    """Both ends of one transfer of ``nbytes``; runs in the process it is called in."""
    import multiprocessing
    ends = _Ends(impl, cipher)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    proc = multiprocessing.get_context("fork").Process(
        target=_serve, args=(ends, listener, nbytes), daemon=True)
    proc.start()
    listener.close()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        read, write, name, close = ends.client(sock)
        chunk = os.urandom(WRITE_SIZE)
        full, rest = divmod(nbytes, WRITE_SIZE)
        start, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(full):
            write(chunk)
        if rest:
            write(chunk[:rest])
        answer = bytes(read())
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
        close()
    finally:
        proc.join(60)
        if proc.is_alive():
            proc.terminate()
        ends.mat.cleanup()
    if proc.exitcode != 0:
        raise RuntimeError(f"{impl}/{cipher}: the server failed (exit {proc.exitcode})")
    return {"seconds": seconds, "cpu_client": cpu, "cpu_server": float(answer),
            "bytes": nbytes, "record_protection": name}


def _run_child(impl: str, cipher: str, nbytes: int, conf_dir: str) -> dict:
    env = dict(os.environ)
    if impl == "ssl":
        path = os.path.join(conf_dir, f"{cipher}.cnf")
        with open(path, "w") as f:
            f.write(_OPENSSL_CONF.format(suite=CIPHERS[cipher][2]))
        env["OPENSSL_CONF"] = path
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    p = subprocess.run([sys.executable, "-m", "tlslite_mls.bench.throughput", "--child",
                        impl, cipher, str(nbytes)], capture_output=True, text=True,
                       timeout=1200, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{impl}/{cipher} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


# ----------------------------------------------------------------------------
# the benchmark
# ----------------------------------------------------------------------------
def run(mib: float = 32, tlslite_ng_mib: float = 0.5, runs: int = 5,
        implementations: Sequence[str] = IMPLEMENTATIONS,
        ciphers: Sequence[str] = tuple(CIPHERS)) -> dict:
    """Medians per (cipher, implementation) and same-round ratios to ``ssl``."""
    sizes = {impl: max(1, int((tlslite_ng_mib if impl == "tlslite-ng" else mib) * MIB))
             for impl in implementations}
    samples: dict[str, dict[str, list[dict]]] = {c: {i: [] for i in implementations}
                                                 for c in ciphers}
    with tempfile.TemporaryDirectory(prefix="tlslite-mls-bench-") as conf_dir:
        for r in range(runs + 1):
            for cipher in ciphers:
                for impl in implementations:
                    result = _run_child(impl, cipher, sizes[impl], conf_dir)
                    if r:
                        samples[cipher][impl].append(result)
    out: dict[str, Any] = {"runs": runs, "write_size": WRITE_SIZE,
                           "bytes_per_run": sizes, "cpu_count": os.cpu_count(),
                           "ciphers": {}}
    for cipher in ciphers:
        per: dict[str, Any] = {}
        for impl, results in samples[cipher].items():
            mbs = [x["bytes"] / x["seconds"] / 1e6 for x in results]
            cpu = [(x["cpu_client"] + x["cpu_server"]) * 1000 / (x["bytes"] / MIB)
                   for x in results]
            per[impl] = {"mb_per_s": statistics.median(mbs),
                         "cpu_ms_per_mib": statistics.median(cpu),
                         "runs_mb_per_s": mbs, "runs_cpu_ms_per_mib": cpu,
                         "record_protection": results[0]["record_protection"]}
        ratios = {}
        if "ssl" in per:
            for impl in per:
                if impl != "ssl":
                    rounds = [a / b for a, b in zip(per[impl]["runs_mb_per_s"],
                                                    per["ssl"]["runs_mb_per_s"])]
                    # CPU per MiB, ssl's over ours: what the rate would be on idle cores
                    cpu_rounds = [b / a for a, b in zip(per[impl]["runs_cpu_ms_per_mib"],
                                                        per["ssl"]["runs_cpu_ms_per_mib"])]
                    ratios[f"{impl}/ssl"] = {"median": statistics.median(rounds),
                                             "rounds": rounds,
                                             "cpu_median": statistics.median(cpu_rounds)}
        out["ciphers"][cipher] = {"implementations": per, "ratios_to_ssl": ratios}
    return out


def report(result: dict, out: Any = sys.stdout) -> None:
    print(f"bulk data, client to server over TCP on 127.0.0.1, {result['write_size']} byte "
          f"writes, after the handshake; medians of {result['runs']} rounds, the "
          f"implementations taking turns in each", file=out)
    for cipher, figures in result["ciphers"].items():
        print(f"  {cipher}:", file=out)
        for impl, f in figures["implementations"].items():
            ratio = figures["ratios_to_ssl"].get(f"{impl}/ssl")
            note = f"  {ratio['median']:.3f}x ssl (by CPU {ratio['cpu_median']:.3f}x)" \
                if ratio else ""
            print(f"    {impl:11s} {f['mb_per_s']:9.2f} MB/s  {f['cpu_ms_per_mib']:9.2f} ms CPU "
                  f"per MiB (client+server)  [{f['record_protection']}]{note}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    argv = list(argv) if argv is not None else sys.argv[1:]
    if argv[:1] == ["--child"]:
        impl, cipher, nbytes = argv[1], argv[2], int(argv[3])
        print(json.dumps(measure_child(impl, cipher, nbytes)))
        return 0
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench throughput",
                                description="Bulk MB/s and CPU per MiB of both modes beside "
                                            "ssl and tlslite-ng, AES-128-GCM and ChaCha20.")
    p.add_argument("--mib", type=float, default=32,
                   help="MiB per transfer for extension, mls-tls and ssl (default 32)")
    p.add_argument("--tlslite-ng-mib", type=float, default=0.5,
                   help="MiB per transfer for tlslite-ng (default 0.5)")
    p.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    p.add_argument("--only", default=",".join(IMPLEMENTATIONS),
                   help="comma-separated subset of " + ",".join(IMPLEMENTATIONS))
    p.add_argument("--ciphers", default=",".join(CIPHERS),
                   help="comma-separated subset of " + ",".join(CIPHERS))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    impls = [x for x in args.only.split(",") if x]
    ciphers = [x for x in args.ciphers.split(",") if x]
    if set(impls) - set(IMPLEMENTATIONS) or not impls:
        p.error(f"--only: one or more of {','.join(IMPLEMENTATIONS)}")
    if set(ciphers) - set(CIPHERS) or not ciphers:
        p.error(f"--ciphers: one or more of {','.join(CIPHERS)}")
    if args.mib <= 0 or args.tlslite_ng_mib <= 0 or args.runs < 1:
        p.error("--mib and --tlslite-ng-mib must be positive, --runs at least 1")
    result = run(args.mib, args.tlslite_ng_mib, args.runs, impls, ciphers)
    print(json.dumps(result)) if args.json else report(result)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
