"""Fixtures of the TLS tests: the PKI and the MLS engine."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tlslite_mls.tls.engine as engine
from tlsutil import make_pki


def real_engine_available() -> bool:
    try:
        return importlib.util.find_spec("tlslite_mls.twoparty.handshake") is not None
    except ModuleNotFoundError:
        return False


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
