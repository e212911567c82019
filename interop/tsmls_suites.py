"""ts-mls 1.6.4's post-quantum suites, mapped onto our registry under ts-mls's own
code points for the interop runs (they are no suites of ours).

ts-mls (``ts-mls/dist/src/crypto/ciphersuite.js``) has PQ suites at its private code
points 77-88, none of them one of the eleven of draft-ietf-mls-pq-ciphersuites-06:

- every one runs HPKE and the MLS key schedule with HKDF-SHA512, where the draft's
  use HKDF-SHA256 or HKDF-SHA384 (and 77-80 pair HKDF-SHA512 with a SHA-256/384
  hash, which our suite model, one hash for both, does not represent);
- its KEMs derive node keys differently from draft-ietf-hpke-pq: @hpke/ml-kem 0.3.0
  takes the 64-byte ikm itself as the ML-KEM seed, @hpke/hybridkem-x-wing 0.7.0
  takes SHAKE256(ikm, 32) as the X-Wing seed, both without SHAKE256.LabeledDerive;
  an UpdatePath from one would not verify at the other under the draft's rules;
- 77/78 use ML-KEM-512, which no draft suite uses.

The KEMs themselves (FIPS 203 ML-KEM, the X-Wing combiner) and ML-DSA-87 are the
same. So 81-88 are registered here with ts-mls's DeriveKeyPair, to run the two-party
interop scenario over real PQ primitives against an implementation we did not write.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Iterator

from tlslite_mls.mls.crypto import aead, hashes, pqkem
from tlslite_mls.mls.crypto import signature as sig
from tlslite_mls.mls.crypto.suite import CipherSuite, register_cipher_suite, unregister_cipher_suite
from tlslite_mls.mls.errors import DecodeError


class _SeedMLKEM(pqkem.MLKEM):
    """ML-KEM whose DeriveKeyPair uses the 64-byte ikm as the seed (@hpke/ml-kem 0.3.0)."""

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        if len(ikm) != 64:
            raise DecodeError(f"{self.name} (ts-mls): DeriveKeyPair needs a 64-byte ikm")
        return bytes(ikm), self.public_key(ikm)


class _ShakeXWing(pqkem.HybridKEM):
    """X-Wing whose DeriveKeyPair seed is SHAKE256(ikm, 32) (@hpke/hybridkem-x-wing 0.7.0)."""

    def derive_key_pair(self, ikm: bytes) -> tuple[bytes, bytes]:
        seed = hashlib.shake_256(bytes(ikm)).digest(32)
        return seed, self.public_key(seed)


_MLKEM1024 = _SeedMLKEM("ML-KEM-1024 (ts-mls)", 0x0042, 1568, 1568,
                        pqkem.MLKEM1024._priv_cls, pqkem.MLKEM1024._pub_cls)
_XWING = _ShakeXWing("X-Wing (ts-mls)", 0x647A, pqkem.MLKEM768, pqkem.MLKEM768_X25519.group,
                     pqkem.MLKEM768_X25519.label)

# ts-mls code point -> (its name, KEM, AEAD, signature); hash and KDF are SHA-512.
TSMLS_PQ_SUITES = {
    81: ("MLS_256_MLKEM1024_AES256GCM_SHA512_Ed25519", _MLKEM1024, aead.AES256GCM, sig.ED25519),
    82: ("MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_Ed25519", _MLKEM1024,
         aead.CHACHA20POLY1305, sig.ED25519),
    83: ("MLS_256_XWING_AES256GCM_SHA512_Ed25519", _XWING, aead.AES256GCM, sig.ED25519),
    84: ("MLS_256_XWING_CHACHA20POLY1305_SHA512_Ed25519", _XWING, aead.CHACHA20POLY1305,
         sig.ED25519),
    85: ("MLS_256_MLKEM1024_AES256GCM_SHA512_MLDSA87", _MLKEM1024, aead.AES256GCM, sig.ML_DSA_87),
    86: ("MLS_256_MLKEM1024_CHACHA20POLY1305_SHA512_MLDSA87", _MLKEM1024,
         aead.CHACHA20POLY1305, sig.ML_DSA_87),
    87: ("MLS_256_XWING_AES256GCM_SHA512_MLDSA87", _XWING, aead.AES256GCM, sig.ML_DSA_87),
    88: ("MLS_256_XWING_CHACHA20POLY1305_SHA512_MLDSA87", _XWING, aead.CHACHA20POLY1305,
         sig.ML_DSA_87),
}
# The eleven draft suites that ts-mls 1.6.4 shares with us: none (see above).
SHARED_DRAFT_SUITES: dict[int, int] = {}


@contextlib.contextmanager
def tsmls_pq_suites() -> Iterator[list[int]]:
    """Our registry with ts-mls's PQ suites 81-88 in it, for the duration."""
    ids = sorted(TSMLS_PQ_SUITES)
    for suite_id in ids:
        name, kem, aead_alg, scheme = TSMLS_PQ_SUITES[suite_id]
        register_cipher_suite(CipherSuite(suite_id, name, kem, aead_alg, hashes.SHA512, scheme))
    try:
        yield ids
    finally:
        for suite_id in ids:
            unregister_cipher_suite(suite_id)
