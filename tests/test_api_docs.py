"""The API reference: built from the docstrings with Sphinx (warnings are errors), and
every public name documented, so that an application can be written without reading
the source."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS))

import apinames  # noqa: E402


def _need_sphinx() -> None:
    if importlib.util.find_spec("sphinx") is None:
        if os.environ.get("CI"):
            pytest.fail("Sphinx is missing: install the 'test' extra (pip install -e '.[test]')")
        pytest.skip("Sphinx is not installed (pip install -e '.[test]')")


def test_every_public_name_has_documentation():
    missing = apinames.undocumented()
    assert not missing, f"{len(missing)} public names without a docstring: {missing}"


def test_missing_docstrings_are_noticed():
    """The check sees a bare class, @dataclass's generated text, an undocumented
    method and an undocumented constant; an override of a documented method passes."""

    class Bare:
        pass

    @dataclasses.dataclass
    class Generated:
        x: int

    class Base:
        def run(self) -> None:
            """Documented here."""

    class Child(Base):
        def run(self) -> None:
            pass

        def other(self) -> None:
            pass

    assert apinames._own_doc(Bare) is None
    assert apinames._own_doc(Generated) is None
    assert apinames._documented_by_base(Child, "run")
    assert not apinames._documented_by_base(Child, "other")
    assert [m for m, _ in apinames._members(Child)] == ["run", "other"]
    # A constant with a #: comment, one without.
    assert apinames.attribute_doc("tlslite_mls", "__version__")
    assert apinames.attribute_doc("tlslite_mls.mls.framing", "REUSE_GUARD_SIZE") is None


def test_reference_builds_without_warnings(tmp_path):
    _need_sphinx()
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    html = (out / "api.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', html))
    absent = []
    for modname in apinames.PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in apinames.public_names(modname):
            if f"{modname}.{name}" in ids:
                continue
            obj = getattr(module, name)
            # The same object listed by another public module is indexed there.
            if not any(f"{other}.{name}" in ids and getattr(
                    importlib.import_module(other), name, None) is obj
                    for other in apinames.PUBLIC_MODULES if other != modname):
                absent.append(f"{modname}.{name}")
    assert not absent, f"public names missing from the reference: {absent}"
    assert "Group.commit" in html and "MLSTLSConnection" in html
