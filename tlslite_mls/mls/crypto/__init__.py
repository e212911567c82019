"""Cipher suites: primitives (hashes, aead, signature, hpke) and the MLS recipes (suite)."""

from .signature import SigningKey
from .suite import CipherSuite, get_cipher_suite, register_cipher_suite, supported_cipher_suites

__all__ = ["CipherSuite", "SigningKey", "get_cipher_suite", "register_cipher_suite",
           "supported_cipher_suites"]
