"""HPKE private keys as other implementations serialize them (crypto/hpke.py)."""

import pytest

from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import DecodeError, VerificationError

P521 = get_cipher_suite(5)  # DHKEM(P-521) suite


def _p521_key_with_leading_zero() -> tuple[bytes, bytes]:
    for i in range(64):
        priv, pub = P521.hpke.kem.derive_key_pair(bytes([i]) * 66)
        if priv[0] == 0:
            return priv, pub
    raise AssertionError("no P-521 scalar with a zero top byte in 64 tries")


def test_p521_private_key_of_65_bytes_is_left_padded():
    """A 65-byte P-521 scalar (top zero byte dropped, as in the official vectors) opens."""
    priv, pub = _p521_key_with_leading_zero()
    short = priv[1:]
    assert len(short) == 65
    kem = P521.hpke.kem
    assert kem.public_key(short) == pub
    assert kem.canonical_private(short) == priv
    kem_output, ct = P521.encrypt_with_label(pub, "label", b"ctx", b"plain")
    assert P521.decrypt_with_label(short, "label", b"ctx", kem_output, ct) == b"plain"
    # The other backend (used with additional data) takes the short form too.
    kem_output, ct = P521.hpke.seal(pub, b"info", b"aad", b"plain")
    assert P521.hpke.open(short, kem_output, b"info", b"aad", ct) == b"plain"


def test_hpke_private_keys_of_wrong_length_refused():
    priv, pub = _p521_key_with_leading_zero()
    kem_output, ct = P521.encrypt_with_label(pub, "label", b"ctx", b"plain")
    for bad in (b"", b"\x00" + priv, b"\x01" * 67):
        with pytest.raises(DecodeError, match="private key"):
            P521.hpke.kem.load_private(bad)
        with pytest.raises(VerificationError):
            P521.decrypt_with_label(bad, "label", b"ctx", kem_output, ct)
    # A 65-byte key that is not the right scalar still fails to open.
    with pytest.raises(VerificationError):
        P521.decrypt_with_label(priv[1:-1] + b"\x00\x00", "label", b"ctx", kem_output, ct)
