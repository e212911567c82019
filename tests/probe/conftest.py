"""Probe tests: the helpers of the TLS and MLS-TLS tests are shared."""

from __future__ import annotations

import os
import sys

import pytest

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_TESTS, "tls"), os.path.join(_TESTS, "mlstls")]

from tlsutil import make_pki  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))
