"""Sphinx configuration of the API reference (built from the docstrings).

Build: ``python -m sphinx -W -b html docs docs/_build`` (the test suite does the same,
warnings as errors, into a temporary directory).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import apinames  # noqa: E402

import tlslite_mls  # noqa: E402

project = "tlslite_mls"
release = version = tlslite_mls.__version__
extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build", "profile.md"]
source_suffix = {".rst": "restructuredtext"}
html_theme = "alabaster"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "separated"
default_role = "any"
suppress_warnings: list[str] = []


def _data_doc(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """A constant re-exported by a package gets the doc comment of its home module."""
    if what not in ("data", "attribute") or lines:
        return
    modname, _, attr = name.rpartition(".")
    if modname in apinames.PUBLIC_MODULES:
        doc = apinames.attribute_doc(modname, attr)
        if doc:
            lines.extend(doc.splitlines())


def _api_page(app, docname, source):  # type: ignore[no-untyped-def]
    """``api.rst`` is generated from the public modules' ``__all__`` (nothing on disk)."""
    if docname == "api":
        source[0] = apinames.reference_source()


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _api_page)
    app.connect("autodoc-process-docstring", _data_doc)
