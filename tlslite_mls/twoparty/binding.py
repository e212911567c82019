"""The ``tls_binding`` extension: what ties an MLS group to one TLS mode.

Both the initial agreement (:mod:`.handshake`) and resumption of a stored group
(:mod:`.session`) check it, so it lives apart from either.
"""

from __future__ import annotations

from typing import Optional

from ..mls.codec import Reader, Writer
from ..mls.crypto import CipherSuite
from ..mls.errors import DecodeError
from ..mls.extensions import Extension, RequiredCapabilities, find_extension
from ..mls.keypackage import default_capabilities
from ..mls.leafnode import Capabilities
from .config import MLSHandshakeConfig


def opaque(data: bytes) -> bytes:
    """``data`` encoded as an ``opaque x<V>`` extension body."""
    w = Writer()
    w.opaque(data)
    return w.getvalue()


def read_opaque(data: bytes) -> Optional[bytes]:
    """The body of an ``opaque x<V>`` extension, or None if it is not exactly that."""
    try:
        r = Reader(data)
        value = r.opaque()
        return value if r.at_end() else None
    except DecodeError:
        return None


def binding_extension(config: MLSHandshakeConfig) -> Extension:
    """The ``tls_binding`` extension naming this mode's protocol."""
    return Extension(config.binding_extension_type, opaque(config.binding_protocol))


def binding_required_capabilities(config: MLSHandshakeConfig) -> RequiredCapabilities:
    """``required_capabilities`` naming ``tls_binding``, so that no member lacks it."""
    return RequiredCapabilities([config.binding_extension_type], [], [])


def has_binding(extensions: list[Extension], config: MLSHandshakeConfig) -> bool:
    """Whether ``extensions`` bind the group to this mode: a group made for the
    other mode (or for messaging) must not be used or resumed here."""
    ext = find_extension(extensions, config.binding_extension_type)
    return ext is not None and read_opaque(ext.extension_data) == config.binding_protocol


def leaf_capabilities(cs: CipherSuite, config: MLSHandshakeConfig) -> Capabilities:
    """Our leaf's capabilities: the suite's defaults plus both TLS extensions."""
    return default_capabilities(cs, extensions=[config.binding_extension_type,
                                                config.client_hello_hash_extension_type])
