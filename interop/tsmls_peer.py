"""ts-mls (TypeScript, npm) as an interop peer, through ``tsmls/driver.mjs``.

Each peer owns one Node process speaking JSON lines. Replies are read by a thread
into a queue so every request has a deadline: a hung or dead Node process turns
into :class:`PeerTimeout`/:class:`PeerError` instead of hanging the test run, and
the process is always killed and reaped on close (no zombies).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import weakref
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from interop.peer import PRIVATE, PUBLIC, Peer, PeerError, PeerTimeout, PeerUnavailable, PeerUnsupported

DRIVER_DIR = Path(__file__).resolve().parent / "tsmls"
DRIVER = DRIVER_DIR / "driver.mjs"
TS_MLS_VERSION = "1.6.4"
# 81-88: ts-mls's post-quantum suites at its own code points (interop/tsmls_suites.py).
SUITES = frozenset(range(1, 8)) | frozenset(range(81, 89))
DEFAULT_TIMEOUT = float(os.environ.get("INTEROP_TSMLS_TIMEOUT", "60"))
_EOF = object()


def node_binary() -> Optional[str]:
    """The ``node`` to run; ``INTEROP_NODE`` overrides PATH lookup."""
    return os.environ.get("INTEROP_NODE") or shutil.which("node")


def _installed_version() -> Optional[str]:
    try:
        meta = json.loads((DRIVER_DIR / "node_modules" / "ts-mls" / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return meta.get("version")


@lru_cache(maxsize=1)
def tsmls_unavailable_reason() -> Optional[str]:
    """Why ts-mls cannot run here, or None. Starts the driver once to be sure."""
    if node_binary() is None:
        return "node is not on PATH (run .ci/setup.d/20-interop-peers.sh)"
    version = _installed_version()
    if version is None:
        return f"ts-mls is not installed in {DRIVER_DIR} (run: npm ci in that folder)"
    if version != TS_MLS_VERSION:
        return f"ts-mls {version} installed in {DRIVER_DIR}, expected {TS_MLS_VERSION} (run npm ci)"
    try:
        with _NodeDriver(timeout=30) as driver:
            hello = driver.call("hello")
    except PeerError as e:
        return f"the ts-mls driver does not start: {e}"
    if hello.get("protocol") != 1:
        return f"unexpected driver protocol {hello.get('protocol')!r}"
    return None


def tsmls_available() -> bool:
    return tsmls_unavailable_reason() is None


# The optional packages ts-mls loads for its post-quantum suites (package.json pins them).
PQ_PACKAGES = ("@hpke/ml-kem", "@hpke/hybridkem-x-wing", "@noble/post-quantum")


def tsmls_pq_unavailable_reason() -> Optional[str]:
    """Why ts-mls's post-quantum suites cannot run here, or None."""
    reason = tsmls_unavailable_reason()
    if reason is not None:
        return reason
    missing = [p for p in PQ_PACKAGES if not (DRIVER_DIR / "node_modules" / p).is_dir()]
    if missing:
        return f"{', '.join(missing)} not installed in {DRIVER_DIR} (run: npm ci in that folder)"
    return None


def _stop(proc: subprocess.Popen) -> None:
    """Close stdin (the driver exits on EOF), then kill if it lingers; always reap."""
    try:
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _pump_stdout(stream: Any, lines: "queue.Queue[object]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(_EOF)


def _pump_stderr(stream: Any, tail: "deque[str]") -> None:
    for line in stream:
        tail.append(line.rstrip())


class _NodeDriver:
    """One driver process and its request/response plumbing."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        node = node_binary()
        if node is None:
            raise PeerUnavailable("node is not on PATH")
        self.timeout = timeout
        self._next_id = 0
        self._lines: "queue.Queue[object]" = queue.Queue()
        self._stderr_tail: "deque[str]" = deque(maxlen=20)
        self.proc = subprocess.Popen(
            [node, str(DRIVER)],
            cwd=DRIVER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        # The finalizer and the reader threads hold the process and its pipes, never
        # self, so a forgotten driver is still reaped by GC or at interpreter exit.
        self._finalizer = weakref.finalize(self, _stop, self.proc)
        threading.Thread(target=_pump_stdout, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(self.proc.stderr, self._stderr_tail), daemon=True).start()

    def _diagnostics(self) -> str:
        tail = "\n".join(self._stderr_tail)
        return f"\nnode stderr:\n{tail}" if tail else ""

    def call(self, cmd: str, timeout: Optional[float] = None, **args: Any) -> dict:
        if not self._finalizer.alive:
            raise PeerError("the ts-mls driver was closed")
        self._next_id += 1
        req_id = self._next_id
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"id": req_id, "cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            self.close()
            raise PeerError(f"ts-mls driver is gone ({e}){self._diagnostics()}") from None
        limit = self.timeout if timeout is None else timeout
        while True:
            try:
                line = self._lines.get(timeout=limit)
            except queue.Empty:
                self.close()
                raise PeerTimeout(f"ts-mls: no answer to {cmd!r} within {limit:.0f} s{self._diagnostics()}") from None
            if line is _EOF:
                code = self.proc.poll()
                self.close()
                raise PeerError(f"ts-mls driver exited (code {code}) during {cmd!r}{self._diagnostics()}")
            try:
                reply = json.loads(str(line))
            except ValueError:
                self.close()
                raise PeerError(f"ts-mls driver wrote a non-JSON line: {str(line)[:200]!r}") from None
            if reply.get("id") != req_id:
                continue  # a stale answer to a request that timed out earlier
            if "error" in reply:
                raise PeerError(f"ts-mls rejected {cmd}: {reply['error']}")
            return reply

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> "_NodeDriver":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TsMlsPeer(Peer):
    """A ts-mls member in its own Node process."""

    name = "ts-mls"
    suites = SUITES
    supported_wire_formats = frozenset({PUBLIC, PRIVATE})

    def __init__(self, suite: int, identity: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if suite not in SUITES:
            raise PeerUnsupported(f"ts-mls driver: suite 0x{suite:04x} not enabled (have 1..7, 81..88)")
        self.suite = suite
        self.identity = identity
        self._driver = _NodeDriver(timeout=timeout)
        try:
            self._driver.call("init", suite=suite, identity=identity.hex())
        except BaseException:
            self._driver.close()
            raise

    def key_package(self) -> bytes:
        return bytes.fromhex(self._driver.call("key_package")["key_package"])

    def create_group(self, group_id: bytes) -> None:
        self._driver.call("create_group", group_id=group_id.hex())

    def add(self, key_package: bytes) -> tuple[bytes, bytes]:
        # The Add commit goes out as PrivateMessage, ts-mls' default and our profile's.
        reply = self._driver.call("add", key_package=key_package.hex(), public=False)
        return bytes.fromhex(reply["commit"]), bytes.fromhex(reply["welcome"])

    def join(self, welcome: bytes) -> None:
        self._driver.call("join", welcome=welcome.hex())

    def commit_update(self, public: bool) -> bytes:
        return bytes.fromhex(self._driver.call("commit_update", public=bool(public))["commit"])

    def process(self, message: bytes) -> tuple[str, Optional[bytes]]:
        reply = self._driver.call("process", message=message.hex())
        data = reply.get("data")
        return reply["kind"], (bytes.fromhex(data) if data is not None else None)

    def protect(self, data: bytes) -> bytes:
        return bytes.fromhex(self._driver.call("protect", data=data.hex())["message"])

    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        reply = self._driver.call("exporter", label=label.hex(), context=context.hex(), length=length)
        return bytes.fromhex(reply["secret"])

    def epoch(self) -> int:
        return int(self._driver.call("epoch")["epoch"])

    def close(self) -> None:
        self._driver.close()


def make_tsmls_peer(suite: int, identity: bytes) -> TsMlsPeer:
    """A ts-mls member for ``suite``; :class:`PeerUnavailable` if ts-mls is not installed."""
    reason = tsmls_unavailable_reason()
    if reason is not None:
        raise PeerUnavailable(reason)
    return TsMlsPeer(suite, identity)


def tsmls_cycle_times(suite: int, n: int, *, warmup: int = 1) -> list[float]:
    """Per-cycle seconds measured inside Node (IPC excluded), after ``warmup`` untimed cycles."""
    reason = tsmls_unavailable_reason()
    if reason is not None:
        raise PeerUnavailable(reason)
    if suite not in SUITES:
        raise PeerUnsupported(f"ts-mls driver: suite 0x{suite:04x} not enabled")
    with _NodeDriver() as driver:
        budget = DEFAULT_TIMEOUT + 5.0 * (n + warmup)
        if warmup:
            driver.call("bench", suite=suite, n=warmup, timeout=budget)
        return [float(x) for x in driver.call("bench", suite=suite, n=n, timeout=budget)["cycles"]]
