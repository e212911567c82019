"""Fixtures of the TLS tests: the PKI and the MLS engine."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tlslite_mls.tls.engine as engine  # noqa: E402
from engine_select import real_engine_available  # noqa: E402
from tlsutil import make_pki  # noqa: E402


@pytest.fixture(autouse=True)
def mls_engine(monkeypatch):
    """The real two-party engine when present, else the stand-in of mls_double."""
    if real_engine_available():
        yield engine.load()
        return
    import mls_double
    monkeypatch.setattr(engine, "load", mls_double.load)
    yield mls_double.load()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))
