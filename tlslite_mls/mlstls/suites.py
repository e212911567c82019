"""Which TLS 1.3 record protection an MLS cipher suite implies (docs/profile.md section 8).

MLS-TLS has no TLS cipher-suite negotiation: the client's KeyPackage fixes the MLS
suite, and the record AEAD and hash follow from it. The mapping goes by the suite's
AEAD and hash rather than by code point, so a future suite with the same primitives
(a post-quantum KEM with AES-128-GCM/SHA-256, say) works without a table change.
Everything else (SHA-512 suites in particular: TLS 1.3 has no SHA-512 suite) is
refused at configuration time.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlslite.constants import CipherSuite as TLSCipherSuite

from ..mls.crypto import get_cipher_suite
from ..mls.errors import UnsupportedError

__all__ = ["RecordSuite", "record_suite", "mls_tls_suites", "UnsupportedSuiteError"]


class UnsupportedSuiteError(ValueError):
    """An MLS cipher suite that MLS-TLS cannot map to a TLS 1.3 record protection."""


@dataclass(frozen=True)
class RecordSuite:
    """The record layer that goes with one MLS suite.

    :ivar tls_suite: the TLS 1.3 cipher suite whose AEAD and hash protect records.
    :ivar secret_length: L of the traffic-secret exports (= Hash.length).
    :ivar soft_limit: records under one key after which an epoch change is started.
    :ivar hard_limit: records under one key after which the connection is closed
        (RFC 8446 section 5.5; ChaCha20-Poly1305 is bounded by the sequence number).
    """

    tls_suite: int
    name: str
    secret_length: int
    soft_limit: int
    hard_limit: int


# RFC 8446 section 5.5: AES-GCM keys may protect at most 2^24.5 full-size records.
_AES_GCM_HARD = int(2 ** 24.5)
_AES_GCM_SOFT = 1 << 23
# ChaCha20-Poly1305 has no practical limit; stop well before the 64-bit sequence wraps.
_CHACHA_HARD = (1 << 64) - 1
_CHACHA_SOFT = 1 << 62

_BY_PRIMITIVES = {
    ("AES-128-GCM", "sha256"): RecordSuite(TLSCipherSuite.TLS_AES_128_GCM_SHA256,
                                           "TLS_AES_128_GCM_SHA256", 32,
                                           _AES_GCM_SOFT, _AES_GCM_HARD),
    ("ChaCha20-Poly1305", "sha256"): RecordSuite(TLSCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                                                 "TLS_CHACHA20_POLY1305_SHA256", 32,
                                                 _CHACHA_SOFT, _CHACHA_HARD),
    ("AES-256-GCM", "sha384"): RecordSuite(TLSCipherSuite.TLS_AES_256_GCM_SHA384,
                                           "TLS_AES_256_GCM_SHA384", 48,
                                           _AES_GCM_SOFT, _AES_GCM_HARD),
}


def record_suite(mls_suite: int) -> RecordSuite:
    """The record protection for ``mls_suite``; :class:`UnsupportedSuiteError` if none."""
    try:
        cs = get_cipher_suite(mls_suite)
    except UnsupportedError as exc:
        raise UnsupportedSuiteError(str(exc)) from None
    found = _BY_PRIMITIVES.get((cs.aead.name, cs.hash.name))
    if found is None:
        raise UnsupportedSuiteError(
            f"MLS cipher suite 0x{mls_suite:04x} ({cs.name}) cannot be used in MLS-TLS mode: "
            f"no TLS 1.3 record protection uses {cs.aead.name} with {cs.hash.name.upper()} "
            "(supported: AES-128-GCM/SHA-256, ChaCha20-Poly1305/SHA-256, AES-256-GCM/SHA-384)")
    return found


def mls_tls_suites() -> list[int]:
    """Every registered MLS suite that this mode supports."""
    from ..mls.crypto import supported_cipher_suites
    out = []
    for s in supported_cipher_suites():
        try:
            record_suite(s)
        except UnsupportedSuiteError:
            continue
        out.append(s)
    return out
