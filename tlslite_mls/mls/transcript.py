"""Transcript hashes and the confirmation tag (RFC 9420 sections 8.2 and 6.1).

Two running hashes chain every Commit into the group's history:

* ``confirmed_transcript_hash_[n] = Hash(interim_[n-1] || ConfirmedTranscriptHashInput_[n])``
  where the input is ``wire_format || FramedContent || signature``, i.e. the
  AuthenticatedContent of the Commit without its confirmation tag;
* ``interim_transcript_hash_[n] = Hash(confirmed_[n] || InterimTranscriptHashInput_[n])``
  where the input is the confirmation tag as ``opaque<V>``.

The confirmed hash goes into the new GroupContext; the confirmation tag, a MAC
over it under the new epoch's ``confirmation_key``, proves every member derived
the same epoch. The split lets the tag be computed after the confirmed hash.
"""

from __future__ import annotations

from .codec import encode_varint
from .crypto import CipherSuite

__all__ = [
    "confirmed_transcript_hash", "interim_transcript_hash", "confirmation_tag",
    "verify_confirmation_tag", "confirmed_transcript_hash_input",
]


def confirmed_transcript_hash_input(wire_format: int, framed_content: bytes,
                                    signature: bytes) -> bytes:
    """Encode ConfirmedTranscriptHashInput from its parts.

    ``framed_content`` is the already-encoded FramedContent; ``signature`` the
    raw signature bytes (encoded here as ``opaque<V>``).
    """
    return (wire_format.to_bytes(2, "big") + framed_content
            + encode_varint(len(signature)) + signature)


def confirmed_transcript_hash(cs: CipherSuite, interim_before: bytes,
                              confirmed_input: bytes) -> bytes:
    """Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n]).

    ``confirmed_input`` is the encoded ConfirmedTranscriptHashInput. For the
    first Commit of a group ``interim_before`` is the empty string.
    """
    return cs.digest(interim_before + confirmed_input)


def interim_transcript_hash(cs: CipherSuite, confirmed: bytes,
                            confirmation_tag: bytes) -> bytes:
    """Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n])."""
    return cs.digest(confirmed + encode_varint(len(confirmation_tag)) + confirmation_tag)


def confirmation_tag(cs: CipherSuite, confirmation_key: bytes,
                     confirmed_transcript_hash: bytes) -> bytes:
    """MAC(confirmation_key, confirmed_transcript_hash)."""
    return cs.mac(confirmation_key, confirmed_transcript_hash)


def verify_confirmation_tag(cs: CipherSuite, confirmation_key: bytes,
                            confirmed_transcript_hash: bytes, tag: bytes) -> bool:
    """Check a received confirmation tag in constant time."""
    return cs.verify_mac(confirmation_key, confirmed_transcript_hash, tag)
