"""Every code point of the wire profile, in one place.

None of these is assigned by IANA yet, so each is only a default: the TLS and
MLS-TLS settings objects take overrides, and nothing else in the package
hard-codes a number.
"""

from __future__ import annotations

from enum import IntEnum

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
