"""Every code point of the wire profile, in one place.

None of these is assigned by IANA yet, so each is only a default: the TLS and
MLS-TLS settings objects take overrides, and nothing else in the package
hard-codes a number.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Mapping

# TLS ExtensionType tls_using_mls_handshake (draft TBD0): private-use range.
TLS_EXT_MLS_HANDSHAKE = 0xFF4D

# TLS HandshakeType mls_handshake (draft TBD1): no private range exists for
# handshake types; 224 is far from every assigned value.
TLS_HS_MLS_HANDSHAKE = 224


class TwoPartyMLSMessageType(IntEnum):
    """TwoPartyMLSMessage.tpmlsmt, which the extension draft leaves undefined; 0 reserved."""

    CONNECTION_UPDATE = 1
    EPOCH_KEY_UPDATE = 2
    RESUMPTION_REQUEST = 3
    RESUMPTION_RESPONSE = 4


# MLS ExtensionTypes of this profile.
MLS_EXT_TLS_BINDING = 0xF0A1             # LeafNode and GroupContext: opaque protocol<V>
MLS_EXT_TLS_CLIENT_HELLO_HASH = 0xF0A2   # GroupInfo: opaque hash<V>

# tls_binding.protocol values: keep the two modes apart cryptographically.
TLS_BINDING_EXTENSION_MODE = b"tls13-mls-handshake/1"
TLS_BINDING_MLS_TLS = b"mls-tls/1"

# group_id = GROUP_ID_PREFIX || 32 random bytes.
GROUP_ID_PREFIX = b"tls13"
GROUP_ID_RANDOM_LENGTH = 32


class MLSTLSMessageType(IntEnum):
    """MLS-TLS TwoPartyMessage.msg_type."""

    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    CONNECTION_UPDATE = 3
    EPOCH_KEY_UPDATE = 4
    RESUMPTION_REQUEST = 5
    RESUMPTION_RESPONSE = 6


# Placeholders for draft-ietf-mls-pq-ciphersuites-06 TBD1..TBD11, in order.
PQ_CIPHER_SUITES = tuple(range(0xF001, 0xF00C))

# KeyPackage lifetimes longer than this are refused (seconds).
MAX_KEY_PACKAGE_LIFETIME = 24 * 60 * 60


# -- checking overrides ---------------------------------------------------------------
# Both modes' settings take the code points above as options; these checks are shared so
# that a bad override is refused the same way (ValueError naming the field) in both.

# MLS ExtensionTypes RFC 9420 assigns (application_id .. external_senders): an override
# must not collide with them, or a peer would parse our extension as one of those.
_RFC9420_EXTENSION_TYPES = range(0x0001, 0x0006)


def check_type_table(name: str, table: Mapping[Any, int], kinds: type) -> dict:
    """A complete, collision-free table kind -> 16-bit code point (a copy)."""
    try:
        out = {kinds(k): v for k, v in dict(table).items()}
    except (TypeError, ValueError):
        raise ValueError(f"{name} must map each {kinds.__name__} to a code point") from None
    if set(out) != set(kinds):
        raise ValueError(f"{name} must give a code point for every {kinds.__name__}")
    values = list(out.values())
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFF
               for v in values) or len(set(values)) != len(values):
        raise ValueError(f"{name}: code points must be distinct 16-bit values")
    return out


def check_mls_code_points(binding_extension_type: Any, client_hello_hash_extension_type: Any,
                          group_id_prefix: Any) -> bytes:
    """Check the MLS-side code points of docs/profile.md sections 1 and 2; the prefix as bytes."""
    for name, v in (("binding_extension_type", binding_extension_type),
                    ("client_hello_hash_extension_type", client_hello_hash_extension_type)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 0xFFFF \
                or v in _RFC9420_EXTENSION_TYPES:
            raise ValueError(f"{name} must be a 16-bit MLS ExtensionType that RFC 9420 does "
                             f"not assign, not {v!r}")
    if binding_extension_type == client_hello_hash_extension_type:
        raise ValueError("binding_extension_type and client_hello_hash_extension_type "
                         "must differ")
    if not isinstance(group_id_prefix, (bytes, bytearray)) or \
            not 0 < len(group_id_prefix) <= MAX_GROUP_ID_PREFIX:
        raise ValueError(f"group_id_prefix must be 1..{MAX_GROUP_ID_PREFIX} bytes, "
                         f"not {group_id_prefix!r}")
    return bytes(group_id_prefix)


# Longest group_id prefix accepted: the group_id travels in every MLS message.
MAX_GROUP_ID_PREFIX = 64
