"""Hostile clients: a tlslite-ng handshake whose outgoing ClientHello is changed just
before it is serialised, and the changes docs/profile.md section 4 names.

Shared by the probe and the alert tests, so a check here and a test there exercise
the very same malformed input.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from tlslite.constants import ExtensionType
from tlslite.extensions import KeyShareEntry, TLSExtension
from tlslite.messages import ClientHello

from ..tls import MLSHandshakeExtension, MLSTLSConnection

Mutation = Callable[[ClientHello], None]

# A GREASE group (RFC 8701): no server supports it, so a ClientHello whose only key
# share is for it gets a HelloRetryRequest from any server that will not use MLS alone.
GREASE_GROUP = 0x0A0A


def mutating_connection(mutate: Mutation, sends: Sequence[int] = (1,),
                        base: type = MLSTLSConnection) -> type:
    """A connection class that applies ``mutate`` to its ClientHello number ``sends``
    (1: the first, 2: the one after a HelloRetryRequest), after the MLS extension
    was put in."""
    class Mutating(base):  # type: ignore[valid-type,misc]
        count = 0

        def _sendMsg(self, msg: Any, *a: Any, **kw: Any) -> Any:  # noqa: N802
            gen = base._sendMsg(self, msg, *a, **kw)
            if isinstance(msg, ClientHello):
                type(self).count += 1
                if type(self).count in sends:
                    mutate(msg)
            return gen
    return Mutating


def in_turn(*mutations: Mutation) -> Mutation:
    """The first mutation on the first call, the second on the second, ..."""
    left = list(mutations)

    def mutate(msg: ClientHello) -> None:
        left.pop(0)(msg)
    return mutate


def mls_extensions(msg: Any, ext_type: int) -> list:
    return [e for e in (msg.extensions or []) if e.extType == ext_type]


def set_key_package(ext_type: int, body: Callable[[bytes], bytes]) -> Mutation:
    """Replace the KeyPackage by ``body(old)``."""
    def mutate(msg: ClientHello) -> None:
        ext = mls_extensions(msg, ext_type)[0]
        ext.body = body(bytes(ext.body))
    return mutate


def empty_key_package(ext_type: int) -> Mutation:
    return set_key_package(ext_type, lambda old: b"")


def truncated_key_package(ext_type: int) -> Mutation:
    return set_key_package(ext_type, lambda old: old[:len(old) // 2])


def garbage_key_package(ext_type: int) -> Mutation:
    return set_key_package(ext_type, lambda old: b"\x00\x01\xff\xff\xff")


def flipped_key_package(ext_type: int) -> Mutation:
    """The last byte changed: what a second ClientHello must not do."""
    return set_key_package(ext_type, lambda old: old[:-1] + bytes([old[-1] ^ 1]))


def duplicated_extension(ext_type: int) -> Mutation:
    def mutate(msg: ClientHello) -> None:
        body = mls_extensions(msg, ext_type)[0].body
        msg.extensions.insert(0, MLSHandshakeExtension(ext_type).create(body))
    return mutate


def with_early_data(msg: ClientHello) -> None:
    psk = msg.getExtension(ExtensionType.pre_shared_key)
    pos = msg.extensions.index(psk) if psk is not None else len(msg.extensions)
    msg.extensions.insert(pos, TLSExtension(extType=ExtensionType.early_data).create(b""))


def grease_key_share_only(msg: ClientHello) -> None:
    """The only key share is for a GREASE group, listed first in supported_groups."""
    groups = msg.getExtension(ExtensionType.supported_groups)
    groups.groups = [GREASE_GROUP] + [g for g in groups.groups if g != GREASE_GROUP]
    shares = msg.getExtension(ExtensionType.key_share)
    shares.client_shares = [KeyShareEntry().create(GREASE_GROUP, bytearray(os.urandom(32)))]
