"""crypto-basics.json: every labeled operation of every cipher suite."""

import pytest

from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import VerificationError
from helpers import h, run_vector, vector_cases

FILE = "crypto-basics.json"


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    r = v["ref_hash"]
    assert cs.ref_hash(r["label"], h(r["value"])) == h(r["out"])
    e = v["expand_with_label"]
    assert cs.expand_with_label(h(e["secret"]), e["label"], h(e["context"]), e["length"]) == h(e["out"])
    d = v["derive_secret"]
    assert cs.derive_secret(h(d["secret"]), d["label"]) == h(d["out"])
    t = v["derive_tree_secret"]
    assert cs.derive_tree_secret(h(t["secret"]), t["label"], t["generation"], t["length"]) == h(t["out"])
    s = v["sign_with_label"]
    assert cs.verify_with_label(h(s["pub"]), s["label"], h(s["content"]), h(s["signature"]))
    assert cs.signature.public_key(h(s["priv"])) == h(s["pub"])
    sig = cs.sign_with_label(h(s["priv"]), s["label"], h(s["content"]))
    assert cs.verify_with_label(h(s["pub"]), s["label"], h(s["content"]), sig)
    assert not cs.verify_with_label(h(s["pub"]), s["label"] + "x", h(s["content"]), sig)
    x = v["encrypt_with_label"]
    assert cs.decrypt_with_label(h(x["priv"]), x["label"], h(x["context"]),
                                 h(x["kem_output"]), h(x["ciphertext"])) == h(x["plaintext"])
    kem_out, ct = cs.encrypt_with_label(h(x["pub"]), x["label"], h(x["context"]), h(x["plaintext"]))
    assert cs.decrypt_with_label(h(x["priv"]), x["label"], h(x["context"]), kem_out, ct) == h(x["plaintext"])
    with pytest.raises(VerificationError):
        cs.decrypt_with_label(h(x["priv"]), x["label"], h(x["context"]) + b"x", kem_out, ct)


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_crypto_basics(vector):
    run_vector(FILE, vector, _check)
