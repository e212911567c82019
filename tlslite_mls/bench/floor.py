"""The crypto floor of a handshake: the cryptographic operations it performs, counted
and timed, so that its CPU time can be set beside what the cryptography alone costs.

Counting: one handshake (after a warm-up one) runs with a profile hook on every thread
that sees each call into C, and the calls of the primitives below are counted by the
name of the C function: Ed25519 signing, verification and point checks (libsodium),
X25519 scalar multiplications (key generation and exchange, OpenSSL), HPKE seal and
open, HMACs (``hmac.new`` and ``hmac.digest``) and record AEAD operations. Nothing is
patched; other work (hashing, parsing, Python) is what the ratio shows.

Timing: each primitive alone, the best of several batches (the floor is a lower
bound, so the least disturbed batch is the right one). The floor is the sum of
count x unit time; the ratio is the measured CPU per handshake over it.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from typing import Any, Callable

__all__ = ["OPERATIONS", "count_operations", "unit_costs_us", "floor_report"]

# C function (qualified name) -> the operation it is
OPERATIONS = {
    "Lib.crypto_sign": "ed25519_sign",
    "Lib.crypto_sign_open": "ed25519_verify",
    "Lib.crypto_core_ed25519_is_valid_point": "ed25519_point_check",
    "X25519PrivateKey.public_key": "x25519",
    "X25519PrivateKey.exchange": "x25519",
    "Suite.encrypt": "hpke_seal",
    "Suite.decrypt": "hpke_open",
    "hmac_new": "hmac",
    "hmac_digest": "hmac",
    "AESGCM.encrypt": "aead",
    "AESGCM.decrypt": "aead",
    "ChaCha20Poly1305.encrypt": "aead",
    "ChaCha20Poly1305.decrypt": "aead",
}


def count_operations(run_one: Callable[[], Any]) -> dict[str, int]:
    """Operations of one call of ``run_one`` (all threads), after one warm-up call."""
    run_one()
    counts: collections.Counter = collections.Counter()

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            op = OPERATIONS.get(getattr(arg, "__qualname__", None)
                                or getattr(arg, "__name__", ""))
            if op is not None:
                counts[op] += 1

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        run_one()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return dict(sorted(counts.items()))


def _best_us(fn: Callable[[], Any], n: int = 200, batches: int = 5) -> float:
    best = float("inf")
    for _ in range(batches):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n)
    return best * 1e6


def unit_costs_us() -> dict[str, float]:
    """CPU microseconds of one of each operation (suite 0x0001's primitives; an AEAD
    operation on a 300-byte message, an HMAC-SHA256 on 64 bytes)."""
    import hmac

    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from nacl import bindings as sodium

    from ..mls.crypto import get_cipher_suite
    cs = get_cipher_suite(1)
    pk, sk = sodium.crypto_sign_seed_keypair(os.urandom(32))
    signed = sodium.crypto_sign(b"m" * 100, sk)
    seed = os.urandom(32)
    hpke_priv, hpke_pub = cs.hpke.kem.derive_key_pair(os.urandom(32))
    kem_out, sealed = cs.hpke.seal(hpke_pub, b"info", b"aad", b"p" * 100)
    aead, nonce, msg = AESGCM(os.urandom(16)), os.urandom(12), os.urandom(300)
    key, data = os.urandom(32), os.urandom(64)
    return {
        "ed25519_sign": _best_us(lambda: sodium.crypto_sign(b"m" * 100, sk)),
        "ed25519_verify": _best_us(lambda: sodium.crypto_sign_open(signed, pk)),
        "ed25519_point_check": _best_us(lambda: sodium.crypto_core_ed25519_is_valid_point(pk)),
        # a key generation's scalar multiplication costs what an exchange costs
        "x25519": _best_us(lambda: X25519PrivateKey.from_private_bytes(seed).public_key()),
        "hpke_seal": _best_us(lambda: cs.hpke.seal(hpke_pub, b"info", b"aad", b"p" * 100), 100),
        "hpke_open": _best_us(lambda: cs.hpke.open(hpke_priv, kem_out, b"info", b"aad",
                                                   sealed), 100),
        "hmac": _best_us(lambda: hmac.digest(key, data, "sha256"), 2000),
        "aead": _best_us(lambda: aead.encrypt(nonce, msg, b""), 2000),
    }


def floor_report(counts: dict[str, int], units: dict[str, float],
                 cpu_ms: float, per: str = "handshake") -> dict:
    """The floor in ms from counts and unit costs, and ``cpu_ms`` (CPU per ``per``,
    which names the key ``cpu_ms_per_<per>``) over it."""
    floor_ms = sum(n * units[op] for op, n in counts.items()) / 1000
    return {"operations": counts, "unit_us": {op: round(units[op], 2) for op in counts},
            "floor_ms": round(floor_ms, 4), f"cpu_ms_per_{per}": round(cpu_ms, 4),
            "ratio": round(cpu_ms / floor_ms, 2) if floor_ms else None}


def describe(report: dict) -> str:
    ops = ", ".join(f"{n} {op}" for op, n in report["operations"].items())
    key = next(k for k in report if k.startswith("cpu_ms_per_"))
    what = key[len("cpu_ms_per_"):].replace("_", " ")
    return (f"crypto floor {report['floor_ms']:.3f} ms ({ops}); CPU per {what} "
            f"{report[key]:.3f} ms = {report['ratio']}x the floor")
