"""Test helpers: where the official vectors are, and the CI no-skip rule.

With ``CI`` set, a missing vector file, peer or tool fails the test instead of
skipping it, so a broken CI machine can never look green.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def require(condition: bool, what: str) -> None:
    """Skip (outside CI) or fail (in CI) when something a test needs is missing."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"missing in CI: {what}", pytrace=False)
    pytest.skip(f"missing: {what}")


def vectors_dir() -> Path:
    env = os.environ.get("MLS_TEST_VECTORS")
    return Path(env) if env else ROOT.parent / "shared" / "mls-test-vectors"


def load_vectors(name: str) -> list:
    path = vectors_dir() / name
    require(path.is_file(), f"test vector file {path} (set MLS_TEST_VECTORS)")
    with open(path) as f:
        return json.load(f)


_COUNTS: dict[str, list[int]] = {}



def count_vector(name: str, ok: bool = True) -> None:
    """Record one vector case for the per-file summary printed at the end."""
    c = _COUNTS.setdefault(name, [0, 0])
    c[0 if ok else 1] += 1





def vector_cases(name: str):
    """pytest params for every vector of ``name``; the file is checked at run time."""
    path = vectors_dir() / name
    if not path.is_file():
        return [pytest.param(None, id="missing-file")]
    with open(path) as f:
        data = json.load(f)
    ids = []
    for i, v in enumerate(data):
        suite = v.get("cipher_suite") if isinstance(v, dict) else None
        ids.append(f"{i}-suite{suite}" if suite is not None else str(i))
    return [pytest.param(v, id=ident) for v, ident in zip(data, ids)]


def run_vector(name: str, vector, check) -> None:
    """Run ``check(vector)`` and count the result for the per-file summary."""
    if vector is None:
        load_vectors(name)  # fails in CI, skips outside
        return
    try:
        check(vector)
    except BaseException:
        count_vector(name, False)
        raise
    count_vector(name, True)


def h(s: str) -> bytes:
    return bytes.fromhex(s)


def bench_json(*args: str, timeout: float = 120) -> dict:
    """``python -m tlslite_mls bench ARGS --json`` in a subprocess; its JSON result."""
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "tlslite_mls", "bench", *args, "--json"],
                       capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)


class AEADWatch:
    """Every record AEAD created while it is installed; tlslite-ng's pure-Python record
    ciphers (AES-GCM, ChaCha20-Poly1305, AES-CCM, AES-CBC, 3DES, RC4) fail the test
    instead of running.

    Install with :meth:`install` (a pytest ``monkeypatch``); ``created`` lists
    ``(class name, cipher name)`` of each AEAD object made through ``OpenSSLAEAD``;
    ``pure_python`` the pure-Python constructors that were called.
    """

    def __init__(self) -> None:
        self.created: list[tuple[str, str]] = []
        self.pure_python: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> "AEADWatch":
        from tlslite.utils import (python_aes, python_aesccm, python_aesgcm,
                                   python_chacha20_poly1305, python_rc4, python_tripledes)

        from tlslite_mls.tls.accel import OpenSSLAEAD

        def refuse(name: str):
            def new(*args, **kwargs):
                self.pure_python.append(name)
                raise AssertionError(f"tlslite-ng's pure-Python {name} was used")
            return new

        for module, name in ((python_aesgcm, "AES-GCM"),
                             (python_chacha20_poly1305, "ChaCha20-Poly1305"),
                             (python_aesccm, "AES-CCM"), (python_aes, "AES"),
                             (python_tripledes, "3DES"), (python_rc4, "RC4")):
            monkeypatch.setattr(module, "new", refuse(name))
        init = OpenSSLAEAD.__init__

        def watched(aead, name, key):
            init(aead, name, key)
            self.created.append((type(aead).__name__, name))
        monkeypatch.setattr(OpenSSLAEAD, "__init__", watched)
        return self


def record_aeads(layer) -> list:
    """The cipher objects of a tlslite-ng RecordLayer's current read and write states."""
    return [layer._readState.encContext, layer._writeState.encContext]
