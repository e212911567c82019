"""tls/hkdf.py gives the bytes of tlslite-ng's HKDF-Expand-Label and Derive-Secret."""

from __future__ import annotations

import os

import pytest
from tlslite.handshakehashes import HandshakeHashes
from tlslite.utils.cryptomath import HKDF_expand_label, derive_secret, secureHMAC

from tlslite_mls.tls import hkdf


@pytest.mark.parametrize("algorithm", ["sha256", "sha384"])
@pytest.mark.parametrize("length", [1, 12, 16, 32, 48, 64, 97])
def test_expand_label_matches_tlslite(algorithm, length):
    secret, context = bytearray(os.urandom(48)), bytearray(os.urandom(32))
    assert hkdf.expand_label(secret, b"key", context, length, algorithm) == \
        HKDF_expand_label(secret, bytearray(b"key"), context, length, algorithm)


@pytest.mark.parametrize("algorithm", ["sha256", "sha384"])
def test_derive_secret_and_extract_match_tlslite(algorithm):
    secret = bytearray(os.urandom(32))
    hashes = HandshakeHashes()
    hashes.update(bytearray(b"ClientHello..Finished"))
    assert hkdf.derive_secret(secret, b"derived", None, algorithm) == \
        derive_secret(secret, bytearray(b"derived"), None, algorithm)
    assert hkdf.derive_secret(secret, b"c ap traffic", hashes.digest(algorithm), algorithm) \
        == derive_secret(secret, bytearray(b"c ap traffic"), hashes, algorithm)
    assert hkdf.extract(b"salt", secret, algorithm) == \
        secureHMAC(bytearray(b"salt"), secret, algorithm)


def test_rfc8448_client_handshake_traffic_secret():
    """RFC 8448 section 3 (simple 1-RTT): handshake secret -> c hs traffic."""
    hs = bytes.fromhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac")
    transcript = bytes.fromhex(
        "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8")
    assert hkdf.derive_secret(hs, b"c hs traffic", transcript, "sha256") == bytes.fromhex(
        "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21")
