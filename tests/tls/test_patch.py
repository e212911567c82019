"""patches/tlslite-ng-0.8.2-hooks.patch: applies, keeps tlslite-ng's own unit
tests as they were, and carries our plugin through its hooks.

Downloads the tlslite-ng 0.8.2 sdist with pip (PyPI) once per session.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from helpers import require
from tlsutil import REPO, env_with_repo

PATCH = REPO / "patches" / "tlslite-ng-0.8.2-hooks.patch"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """(pristine, patched) tlslite-ng 0.8.2 source trees."""
    base = tmp_path_factory.mktemp("tlslite-ng")
    dl = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                         "--no-binary", ":all:", "tlslite-ng==0.8.2", "-d", str(base)],
                        capture_output=True, text=True, timeout=300)
    archives = list(base.glob("tlslite*ng-0.8.2.tar.gz"))
    require(dl.returncode == 0 and archives, f"tlslite-ng 0.8.2 sdist from PyPI ({dl.stderr[-300:]})")
    with tarfile.open(archives[0]) as tar:
        tar.extractall(base / "x", filter="data")
    src = next((base / "x").iterdir())
    pristine, patched = base / "pristine", base / "patched"
    shutil.copytree(src, pristine)
    shutil.copytree(src, patched)
    require(shutil.which("patch") is not None, "patch")
    res = subprocess.run(["patch", "-p1", "--no-backup-if-mismatch", "-i", str(PATCH)],
                         cwd=patched, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAILED" not in res.stdout and "fuzz" not in res.stdout.lower(), res.stdout
    return pristine, patched


def _unit_tests(tree: Path) -> dict:
    """Run tlslite-ng's unit_tests; the summary counts and the failing test ids."""
    res = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "unit_tests",
                          "-t", "."], cwd=tree, capture_output=True, text=True, timeout=900,
                         env={**env_with_repo(), "PYTHONPATH": str(tree)})
    out = res.stderr
    ran = re.search(r"Ran (\d+) tests", out)
    assert ran, out[-2000:]
    bad = sorted(set(re.findall(r"^(?:FAIL|ERROR): (\S+ \(\S+\))", out, re.M)))
    status = out.strip().splitlines()[-1]
    return {"ran": int(ran.group(1)), "status": status, "bad": bad}


def test_patch_keeps_tlslite_unit_tests(trees):
    pristine, patched = trees
    before = _unit_tests(pristine)
    after = _unit_tests(patched)
    # Pre-existing failures (if any) must be the same with and without the patch.
    assert after == before, (before, after)


def test_plugin_on_patched_tlslite(trees):
    _, patched = trees
    env = env_with_repo()
    env["PYTHONPATH"] = f"{patched}:{env['PYTHONPATH']}"
    res = subprocess.run([sys.executable, str(HERE / "patched_scenarios.py")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["tlslite"].startswith(str(patched))
    assert out["hooks"] is True
    sc = out["scenarios"]
    for name, r in sc.items():
        assert "error" not in r, (name, r)
        assert r["client"]["version"] == [3, 4] and r["client"]["reply"] == "pong:ping", name
    for name in ("mls", "mls-hrr", "mls-hrr-required", "mls-with-certificates"):
        assert sc[name]["client"]["mls"] and sc[name]["server"]["mls"], name
        assert sc[name]["client"]["exporter"] == sc[name]["server"]["exporter"]
    assert sc["mls"]["client"]["server_cert"] is False
    assert sc["mls-with-certificates"]["client"]["server_cert"] is True
    for name in ("client-fallback", "server-fallback", "declined"):
        assert not sc[name]["client"]["mls"] and not sc[name]["server"]["mls"], name
    _assert_fallback_verified(sc)
    _assert_oversized_refused(out)
    # tlslite-ng's own ticket code asks for the AEAD: 2 tickets sealed, at least one
    # opened on resumption, 2 sealed again
    assert out["tickets"]["ticket_hook"] is True and out["tickets"]["hook_calls"] >= 5, \
        out["tickets"]
    _assert_tickets_on_openssl(out)


def _assert_tickets_on_openssl(out: dict) -> None:
    """MLS resumption with tickets, tlslite-ng's pure-Python AEADs refused."""
    t = out["tickets"]
    assert "error" not in t, t
    assert t["resumed"] is True and t["mls"] is True and t["pure_python"] == [], t


def _assert_oversized_refused(out: dict) -> None:
    """A ClientHello declaring 16 MiB gets decode_error after its first record
    (through _hook_max_handshake_length when patched)."""
    assert out["oversized"]["alert"] == 50, out["oversized"]
    assert "client_hello declares 16777215 bytes, more than the 131072" \
        in out["oversized"]["server"], out["oversized"]


def _assert_fallback_verified(sc: dict) -> None:
    """The client that fell back checked the server's certificate (docs/profile.md section 10)."""
    for name in ("client-fallback", "declined"):
        assert sc[name]["client"]["fell_back"] is True, name
        assert sc[name]["client"]["certificate"] == \
            "verified for 'localhost' against 1 trust anchor", name


def test_plugin_on_released_tlslite():
    """Same scenarios on the installed (unpatched) tlslite-ng: the ship path."""
    res = subprocess.run([sys.executable, str(HERE / "patched_scenarios.py")],
                         env=env_with_repo(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["hooks"] is False
    assert all("error" not in r for r in out["scenarios"].values()), out
    assert out["scenarios"]["mls"]["client"]["mls"]
    _assert_fallback_verified(out["scenarios"])
    _assert_oversized_refused(out)
    assert out["tickets"]["ticket_hook"] is False and out["tickets"]["hook_calls"] == 0
    _assert_tickets_on_openssl(out)


_NONCES = r"""
import json, os, random
from tlslite.recordlayer import ConnectionState, RecordLayer
from tlslite.utils.cipherfactory import createAESGCM, createCHACHA20
rng = random.Random(7)
out = []
for version in ((3, 3), (3, 4)):
    for make in (createAESGCM, createCHACHA20):
        layer = RecordLayer(None)
        layer.version = version
        layer.tls13record = version > (3, 3)
        state = ConnectionState()
        state.encContext = make(bytearray(32), ["python"])
        for iv_len in ((12, 4) if version == (3, 3) else (12,)):
            for _ in range(50):
                state.fixedNonce = bytearray(rng.getrandbits(8) for _ in range(iv_len))
                seq = rng.choice([0, 1, 255, 2**63 + 5, rng.getrandbits(64)])
                nonce = layer._getNonce(state, bytearray(seq.to_bytes(8, "big")))
                out.append([version, state.encContext.name, iv_len, bytes(nonce).hex()])
print(json.dumps(out))
"""


def test_patched_nonces_are_the_pristine_nonces(trees):
    """The integer nonce XOR of the patch gives tlslite-ng's own nonces, for TLS 1.3,
    TLS 1.2 ChaCha20 (XOR) and TLS 1.2 AES-GCM (IV + explicit part)."""
    results = []
    for tree in trees:
        res = subprocess.run([sys.executable, "-c", _NONCES], capture_output=True, text=True,
                             timeout=120, env={**env_with_repo(), "PYTHONPATH": str(tree)})
        assert res.returncode == 0, res.stderr
        results.append(json.loads(res.stdout))
    assert len(results[0]) == 300 and results[0] == results[1]
    patched_source = (trees[1] / "tlslite" / "recordlayer.py").read_text()
    assert "bytesToNumber(state.fixedNonce)" in patched_source
