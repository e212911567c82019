"""The post-quantum HPKE KEMs against draft-ietf-hpke-pq's own test vectors
(hpkewg/hpke-pq ``test-vectors.json``) and against ``cryptography``'s HPKE.

Every case of the file is a test. For each KEM the MLS suites use (ML-KEM-768,
ML-KEM-1024, MLKEM768-X25519, MLKEM768-P256, MLKEM1024-P384): DeriveKeyPair(ikmR)
gives skRm/pkRm, Decap(enc, skRm) gives shared_secret, and with a KDF the suites
use (HKDF-SHA256/384) the key schedule gives key/base_nonce/exporter_secret, every
encryption opens to its plaintext and seals back to its ciphertext, and every
export matches. Of the 13 cases, 5 run in full; 7 use a single-stage KDF (SHAKE,
TurboSHAKE) that no MLS suite uses, so only their KEM part runs (DeriveKeyPair for
the DH KEMs, DeriveKeyPair and Decap for the PQ ones); 1 is ML-KEM-512, which no
suite uses, and is skipped with that reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hpke as chpke

from helpers import ROOT, require
from tlslite_mls.mls.crypto import aead, hashes, hpke, pqkem

PQ_KEMS = {k.kem_id: k for k in (pqkem.MLKEM768, pqkem.MLKEM1024, pqkem.MLKEM768_X25519,
                                 pqkem.MLKEM768_P256, pqkem.MLKEM1024_P384)}
DH_KEMS = {k.kem_id: k for k in (hpke.DHKEM_P256, hpke.DHKEM_P384, hpke.DHKEM_P521,
                                 hpke.DHKEM_X25519, hpke.DHKEM_X448)}
KDFS = {0x0001: hashes.SHA256, 0x0002: hashes.SHA384, 0x0003: hashes.SHA512}
AEADS = {0x0001: aead.AES128GCM, 0x0002: aead.AES256GCM, 0x0003: aead.CHACHA20POLY1305}
UNUSED_KEMS = {0x0040: "ML-KEM-512"}


def vector_path() -> Path:
    env = os.environ.get("HPKE_PQ_TEST_VECTORS")
    return Path(env) if env else ROOT.parent / "shared" / "refs" / "hpke-pq-test-vectors.json"


def _cases():
    path = vector_path()
    if not path.is_file():
        return [pytest.param(None, id="missing-file")]
    with open(path) as f:
        data = json.load(f)
    return [pytest.param(v, id=f"{i}-kem{v['kem_id']:04x}-kdf{v['kdf_id']:04x}-aead{v['aead_id']:04x}")
            for i, v in enumerate(data)]


def h(value: str) -> bytes:
    return bytes.fromhex(value)


@pytest.mark.parametrize("v", _cases())
def test_hpke_pq_vector(v):
    if v is None:
        require(False, f"HPKE-PQ vector file {vector_path()} (set HPKE_PQ_TEST_VECTORS)")
    kem_id = v["kem_id"]
    if kem_id in UNUSED_KEMS:
        pytest.skip(f"{UNUSED_KEMS[kem_id]}: no MLS cipher suite uses this KEM")
    assert v["mode"] == 0, "only base mode vectors are expected"
    kem = PQ_KEMS.get(kem_id) or DH_KEMS[kem_id]
    sk, pk = kem.derive_key_pair(h(v["ikmR"]))
    assert pk.hex() == v["pkRm"]
    assert kem.public_key(h(v["skRm"])) == pk  # X448's skRm is the clamped scalar
    if kem_id in PQ_KEMS:
        assert sk.hex() == v["skRm"]
        kem.check_public_key(pk)
        assert kem.decap(sk, h(v["enc"])).hex() == v["shared_secret"]
    if v["kdf_id"] not in KDFS:
        return  # a single-stage KDF no MLS suite uses: the KEM part above is all
    suite = hpke.HPKESuite(kem, KDFS[v["kdf_id"]], AEADS[v["aead_id"]])
    ctx = suite.context(h(v["shared_secret"]), h(v["info"]))
    assert (ctx.key.hex(), ctx.base_nonce.hex(), ctx.exporter_secret.hex()) == \
        (v["key"], v["base_nonce"], v["exporter_secret"])
    sender = suite.context(h(v["shared_secret"]), h(v["info"]))
    for enc in v["encryptions"]:
        assert ctx.open(h(enc["aad"]), h(enc["ct"])).hex() == enc["pt"]
        assert sender.seal(h(enc["aad"]), h(enc["pt"])).hex() == enc["ct"]
    for exp in v["exports"]:
        assert ctx.export(h(exp["exporter_context"]), exp["L"]).hex() == exp["exported_value"]
    # OpenBase as MLS calls it: Decap, key schedule and open in one (first message).
    first = v["encryptions"][0]
    if not first["aad"]:
        assert suite.open(sk, h(v["enc"]), h(v["info"]), b"", h(first["ct"])).hex() == first["pt"]
    with pytest.raises(Exception):
        ctx.open(b"", h(v["encryptions"][-1]["ct"]))  # wrong sequence number now


# ----------------------------------------------------------------------------------
# Against cryptography's HPKE, an implementation we did not write (it has no
# MLKEM768-P256 and no DeriveKeyPair, so keys are built from the same seeds).

def _native_private(kem, private: bytes):
    if isinstance(kem, pqkem.MLKEM):
        return kem.load_private(private)
    pq_key, t_key = kem.expand(private)
    cls = {0x647A: chpke.MLKEM768X25519PrivateKey, 0x0051: chpke.MLKEM1024P384PrivateKey}
    return cls[kem.kem_id](pq_key, t_key)


NATIVE = {0x0041: chpke.KEM.MLKEM768, 0x0042: chpke.KEM.MLKEM1024,
          0x647A: chpke.KEM.MLKEM768_X25519, 0x0051: chpke.KEM.MLKEM1024_P384}


@pytest.mark.parametrize("kem_id", sorted(NATIVE), ids=[PQ_KEMS[k].name for k in sorted(NATIVE)])
@pytest.mark.parametrize("kdf_id", [0x0001, 0x0002])
def test_pq_hpke_interoperates_with_cryptography(kem_id, kdf_id):
    kem = PQ_KEMS[kem_id]
    ours = hpke.HPKESuite(kem, KDFS[kdf_id], aead.AES256GCM)
    native = chpke.Suite(NATIVE[kem_id], {1: chpke.KDF.HKDF_SHA256, 2: chpke.KDF.HKDF_SHA384}[kdf_id],
                         chpke.AEAD.AES_256_GCM)
    sk, pk = kem.derive_key_pair(os.urandom(32))
    native_sk = _native_private(kem, sk)
    enc, ct = ours.seal(pk, b"info", b"", b"from us")
    assert native.decrypt(enc + ct, native_sk, b"info") == b"from us"
    out = native.encrypt(b"from cryptography", native_sk.public_key(), b"info")
    n = kem.enc_size
    assert ours.open(sk, out[:n], b"info", b"", out[n:]) == b"from cryptography"


@pytest.mark.parametrize("kem", list(PQ_KEMS.values()), ids=lambda k: k.name)
def test_pq_kem_round_trip_and_tampering(kem):
    suite = hpke.HPKESuite(kem, hashes.SHA256, aead.AES128GCM)
    sk, pk = kem.generate_key_pair()
    assert len(sk) == kem.private_size and len(pk) == kem.public_size
    enc, ct = suite.seal(pk, b"i", b"", b"secret")
    assert len(enc) == kem.enc_size
    assert suite.open(sk, enc, b"i", b"", ct) == b"secret"
    from tlslite_mls.mls.errors import VerificationError
    for bad_enc in (enc[:-1] + bytes([enc[-1] ^ 1]), bytes([enc[0] ^ 1]) + enc[1:]):
        with pytest.raises(VerificationError):
            suite.open(sk, bad_enc, b"i", b"", ct)
    with pytest.raises(VerificationError):
        suite.open(sk, enc[:-1], b"i", b"", ct)
