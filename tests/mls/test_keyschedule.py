"""key-schedule.json: the epoch key schedule of RFC 9420 section 8, epoch after epoch."""

import pytest

from tlslite_mls.mls.constants import MLS10
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import StateError
from tlslite_mls.mls.groupcontext import GroupContext
from tlslite_mls.mls.keyschedule import (
    EpochSecrets, derive_epoch_secrets, epoch_secrets_from_joiner, external_key_pair,
    joiner_secret, mls_exporter, welcome_key_nonce, welcome_secret,
)
from helpers import h, run_vector, vector_cases

FILE = "key-schedule.json"

_DERIVED = ("joiner_secret", "welcome_secret", "sender_data_secret", "encryption_secret",
            "exporter_secret", "external_secret", "confirmation_key", "membership_key",
            "resumption_psk", "epoch_authenticator", "init_secret")


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    group_id = h(v["group_id"])
    init_secret = h(v["initial_init_secret"])
    for n, e in enumerate(v["epochs"]):
        gc = GroupContext(MLS10, v["cipher_suite"], group_id, n, h(e["tree_hash"]),
                          h(e["confirmed_transcript_hash"]), []).serialize()
        assert gc == h(e["group_context"]), f"epoch {n}: group_context"
        secrets = derive_epoch_secrets(cs, init_secret, h(e["commit_secret"]),
                                       h(e["psk_secret"]), gc)
        for name in _DERIVED:
            assert getattr(secrets, name) == h(e[name]), f"epoch {n}: {name}"
        # the Welcome path reaches the same epoch from joiner_secret alone
        joined = epoch_secrets_from_joiner(cs, h(e["joiner_secret"]), h(e["psk_secret"]), gc)
        assert joined == secrets
        assert welcome_secret(cs, h(e["joiner_secret"]), h(e["psk_secret"])) == h(e["welcome_secret"])
        _, pub = external_key_pair(cs, secrets.external_secret)
        assert pub == h(e["external_pub"]), f"epoch {n}: external_pub"
        x = e["exporter"]
        # the vectors use the label's text (hex digits) itself as the label
        assert mls_exporter(cs, secrets.exporter_secret, x["label"], h(x["context"]),
                            x["length"]) == h(x["secret"]), f"epoch {n}: exporter"
        init_secret = secrets.init_secret
        secrets.wipe()
        assert secrets.wiped and secrets.init_secret is None


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_key_schedule(vector):
    run_vector(FILE, vector, _check)


CS = get_cipher_suite(1)


def _epoch() -> EpochSecrets:
    return derive_epoch_secrets(CS, bytes(32), b"\x01" * 32, None, b"group context")


def test_no_psk_equals_zero_psk_secret():
    assert _epoch() == derive_epoch_secrets(CS, bytes(32), b"\x01" * 32, bytes(32),
                                            b"group context")


def test_no_commit_secret_equals_zero_commit_secret():
    a = derive_epoch_secrets(CS, b"\x02" * 32, None, None, b"gc")
    b = derive_epoch_secrets(CS, b"\x02" * 32, bytes(32), None, b"gc")
    assert a == b
    assert joiner_secret(CS, b"\x02" * 32, None, b"gc") == a.joiner_secret


def test_group_context_binds_every_secret():
    a = _epoch()
    b = derive_epoch_secrets(CS, bytes(32), b"\x01" * 32, None, b"group contexT")
    for name, value in a.as_dict().items():
        assert value != getattr(b, name), name


def test_repr_hides_secrets():
    s = _epoch()
    text = repr(s) + str(s)
    for value in s.as_dict().values():
        assert value.hex() not in text
        assert repr(value) not in text


def test_wipe_drops_everything():
    s = _epoch()
    s.wipe(keep_init_secret=True)
    assert s.init_secret is not None
    assert all(v is None for k, v in s.as_dict().items() if k != "init_secret")
    with pytest.raises(StateError):
        s.require("exporter_secret")
    s.wipe()
    assert all(v is None for v in s.as_dict().values())
    assert "wiped" in repr(s)


def test_welcome_key_nonce_sizes():
    for suite in range(1, 8):
        cs = get_cipher_suite(suite)
        key, nonce = welcome_key_nonce(cs, bytes(cs.hash_length))
        assert (len(key), len(nonce)) == (cs.key_size, cs.nonce_size)


def test_exporter_label_and_length():
    s = _epoch()
    a = mls_exporter(CS, s.exporter_secret, "label", b"ctx", 42)
    assert len(a) == 42
    assert a == mls_exporter(CS, s.exporter_secret, b"label", b"ctx", 42)
    assert a != mls_exporter(CS, s.exporter_secret, "label", b"ctX", 42)
    with pytest.raises(ValueError):
        mls_exporter(CS, s.exporter_secret, "label", b"", 1 << 16)
