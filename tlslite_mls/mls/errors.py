"""The typed errors of the MLS core.

Every failure the core reports is one of these, so callers (the TLS layer in
particular) can map them onto alerts without string matching: decode problems
become ``decode_error``, cryptographic failures ``decrypt_error``, protocol
violations ``illegal_parameter`` and state misuse ``unexpected_message``.
"""

from __future__ import annotations


class MLSError(Exception):
    """Base class of every error raised by the MLS core."""


class DecodeError(MLSError, ValueError):
    """Malformed bytes. ``path`` names the field where decoding failed."""

    def __init__(self, reason: str, path: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path if path is not None else []

    def __str__(self) -> str:
        if self.path:
            return f"{'.'.join(self.path)}: {self.reason}"
        return self.reason


class VerificationError(MLSError):
    """A signature, MAC, AEAD tag, HPKE ciphertext or derived key did not check out."""


class ProtocolError(MLSError):
    """Well-formed input that RFC 9420 or our profile forbids (wrong epoch, bad proposals...)."""


class CredentialError(ProtocolError):
    """The authentication policy refused a credential."""


class StateError(MLSError):
    """An operation that the current state of a group or engine does not allow."""


class UnsupportedError(MLSError):
    """A cipher suite, credential type or feature this implementation does not offer."""


class InvalidKeyError(ProtocolError):
    """A received public key that is not valid for its cipher suite (docs/profile.md
    section 2): wrong length, not on the curve, a small-order or all-zero point,
    an ML-KEM key whose coefficients are not reduced. ``illegal_parameter``."""
