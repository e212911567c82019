"""floor.py: the operations of a call are counted on every thread, by the C function."""

from __future__ import annotations

import hmac
import os
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nacl import bindings as sodium

from tlslite_mls.bench.floor import count_operations, floor_report, unit_costs_us


def test_counts_known_operations_on_all_threads():
    pk, sk = sodium.crypto_sign_seed_keypair(os.urandom(32))

    def work() -> None:
        signed = sodium.crypto_sign(b"m", sk)
        sodium.crypto_sign_open(signed, pk)
        X25519PrivateKey.generate().public_key()
        hmac.digest(b"k", b"d", "sha256")
        hmac.new(b"k", b"d", "sha256").digest()

    def one() -> None:
        work()
        t = threading.Thread(target=work)  # the server side of a handshake runs on one
        t.start()
        t.join()

    assert count_operations(one) == {"ed25519_sign": 2, "ed25519_verify": 2, "hmac": 4,
                                     "x25519": 2}


def test_floor_is_count_times_unit_cost():
    units = unit_costs_us()
    assert all(v > 0 for v in units.values())
    r = floor_report({"hmac": 10, "ed25519_sign": 2}, units, cpu_ms=1.0)
    assert r["floor_ms"] == round((10 * units["hmac"] + 2 * units["ed25519_sign"]) / 1000, 4)
    assert r["ratio"] == pytest.approx(1.0 / r["floor_ms"], rel=0.01)
