"""Packaging: ``python -m build`` makes an sdist and a wheel that carry what users and
packagers need, and the wheel installed in a fresh venv runs ``tlslite-mls``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import zipfile

import tlslite_mls
from helpers import ROOT, require


def run(*cmd, timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_version_option():
    out = run(sys.executable, "-m", "tlslite_mls", "--version").stdout
    assert out.startswith(f"tlslite-mls {tlslite_mls.__version__} (tlslite-ng 0.8")


def test_build_sdist_and_wheel_then_install_the_wheel_in_a_fresh_venv(tmp_path):
    require(importlib.util.find_spec("build") is not None,
            "the 'build' package (pip install -e .[test])")
    dist = tmp_path / "dist"
    # The wheel is built from the sdist, so whatever the sdist lacks, the wheel lacks.
    run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
    sdists, wheels = list(dist.glob("*.tar.gz")), list(dist.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1
    with tarfile.open(sdists[0]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("LICENSE", "README.md", "tlslite_mls/py.typed",
                   "patches/tlslite-ng-0.8.2-hooks.patch", "interop/peer.py",
                   "interop/tsmls/package.json", "examples/http_blocking.py",
                   "examples/http_asyncio.py", "docs/profile.md", "docs/conf.py",
                   "docs/apinames.py", "docs/index.rst"):
        assert needed in names, needed
    assert not any("node_modules" in n for n in names)
    with zipfile.ZipFile(wheels[0]) as whl:
        files = set(whl.namelist())
        info = next(n for n in files if n.endswith(".dist-info/METADATA"))
        metadata = whl.read(info).decode()
        entry_points = whl.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "tlslite_mls/py.typed" in files and "tlslite_mls/context.py" in files
    assert any(n.endswith(".dist-info/LICENSE") or "/licenses/LICENSE" in n for n in files)
    assert "License: LGPL-2.1-or-later" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    assert "tlslite-mls = tlslite_mls.__main__:console" in entry_points

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheels[0])
    out = run(venv / "bin" / "tlslite-mls", "--version", cwd=tmp_path).stdout
    assert out.startswith(f"tlslite-mls {tlslite_mls.__version__} ")
    demo = run(venv / "bin" / "tlslite-mls", "demo", cwd=tmp_path, timeout=300).stdout
    assert "demo OK" in demo
