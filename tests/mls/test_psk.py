"""psk_secret.json: chaining external PSKs into the psk_secret (RFC 9420 section 8.4)."""

import pytest

from tlslite_mls.mls.constants import PSKType, ResumptionPSKUsage
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import ProtocolError
from tlslite_mls.mls.psk import PreSharedKeyID, check_psk_ids, psk_label, psk_secret
from helpers import h, run_vector, vector_cases

FILE = "psk_secret.json"


def _check(v):
    cs = get_cipher_suite(v["cipher_suite"])
    psks = [(PreSharedKeyID(PSKType.EXTERNAL, h(p["psk_nonce"]), psk_id=h(p["psk_id"])),
             h(p["psk"])) for p in v["psks"]]
    assert psk_secret(cs, psks) == h(v["psk_secret"])


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_psk_secret(vector):
    run_vector(FILE, vector, _check)


CS = get_cipher_suite(1)


def _ext(i: int) -> PreSharedKeyID:
    return PreSharedKeyID(PSKType.EXTERNAL, bytes([i]) * 32, psk_id=b"id%d" % i)


def test_empty_is_zero():
    assert psk_secret(CS, []) == bytes(32)
    assert psk_secret(get_cipher_suite(5), []) == bytes(64)


def test_order_and_id_matter():
    a, b = (_ext(1), b"k1"), (_ext(2), b"k2")
    assert psk_secret(CS, [a, b]) != psk_secret(CS, [b, a])
    assert psk_secret(CS, [a]) != psk_secret(CS, [(_ext(3), b"k1")])


def test_psk_label_encoding():
    pid = PreSharedKeyID(PSKType.RESUMPTION, b"n" * 32, usage=ResumptionPSKUsage.APPLICATION,
                         psk_group_id=b"g", psk_epoch=7)
    assert psk_label(pid, 2, 3) == pid.serialize() + b"\x00\x02\x00\x03"


def test_check_psk_ids():
    check_psk_ids(CS, [_ext(1), _ext(2)])
    with pytest.raises(ProtocolError, match="twice"):
        check_psk_ids(CS, [_ext(1), _ext(1)])
    with pytest.raises(ProtocolError, match="psk_nonce"):
        check_psk_ids(CS, [PreSharedKeyID(PSKType.EXTERNAL, b"short", psk_id=b"x")])
