"""The ``tls_using_mls_handshake`` TLS extension and its registration in tlslite-ng.

The draft's struct is a ``select`` on the handshake type: a bare KeyPackage in
ClientHello and a bare Welcome in ServerHello (docs/profile.md section 3). Both are
opaque at this layer, so one class carries either body; the MLS core decodes it.

tlslite-ng keeps its extension parsers in class-level dicts keyed by type, and
documents "add your class to the dict" as the way to extend it. Registration is
idempotent and process wide; registering a type only changes how the bytes are
held after parsing, never what tlslite-ng accepts, so plain tlslite-ng
connections in the same process are unaffected.
"""

from __future__ import annotations

from typing import Optional

from tlslite.constants import ExtensionType
from tlslite.extensions import TLSExtension
from tlslite.utils.codec import Parser

from ..codepoints import TLS_EXT_MLS_HANDSHAKE

# An extension_data field is opaque<0..2^16-1> (docs/profile.md section 9).
MAX_EXTENSION_BODY = 0xFFFF


class MLSBodyTooLarge(ValueError):
    """A KeyPackage or Welcome does not fit into one TLS extension.

    Post-quantum suites with x509 credentials get there (README: which suite and
    credential combinations fit): the KeyPackage carries the whole chain once, the
    Welcome both members' chains. Raised before anything is sent.
    """


def describe_key_package(key_package: bytes) -> str:
    """What a KeyPackage is, for error messages: its suite and credential."""
    from ..mls.keypackage import KeyPackage
    try:
        kp = KeyPackage.deserialize(key_package)
    except ValueError:
        return "MLS KeyPackage"
    cred = kp.leaf_node.credential
    kind = f"x509 credential of {len(cred.certificates)} certificate(s)" \
        if cred.certificates else "basic credential"
    return f"MLS KeyPackage for suite 0x{kp.cipher_suite:04x} with a {kind}"


class MLSHandshakeExtension(TLSExtension):
    """``tls_using_mls_handshake``: KeyPackage (ClientHello) or Welcome (ServerHello)."""

    def __init__(self, ext_type: int = TLS_EXT_MLS_HANDSHAKE, server: bool = False) -> None:
        TLSExtension.__init__(self, extType=ext_type, server=server)
        self.body: bytes = b""

    @property
    def extData(self) -> bytearray:  # noqa: N802 - tlslite-ng's name
        return bytearray(self.body)

    def create(self, body: bytes, what: str = "MLS object") -> "MLSHandshakeExtension":  # type: ignore[override]
        """``what`` names the object in the error raised when it does not fit."""
        if len(body) > MAX_EXTENSION_BODY:
            raise MLSBodyTooLarge(
                f"{what} of {len(body)} bytes does not fit into a TLS extension "
                f"(at most {MAX_EXTENSION_BODY} bytes)")
        self.body = bytes(body)
        return self

    def parse(self, p: Parser) -> "MLSHandshakeExtension":
        self.body = bytes(p.getFixBytes(p.getRemainingLength()))
        return self

    def __repr__(self) -> str:
        return f"MLSHandshakeExtension(type=0x{self.extType:04x}, {len(self.body)} bytes)"


class _Factory:
    """A picklable constructor bound to one code point (tlslite calls it without args)."""

    def __init__(self, ext_type: int, server: bool) -> None:
        self.ext_type = ext_type
        self.server = server

    def __call__(self) -> MLSHandshakeExtension:
        return MLSHandshakeExtension(self.ext_type, server=self.server)


def register_extension(ext_type: int = TLS_EXT_MLS_HANDSHAKE) -> None:
    """Make tlslite-ng parse ``ext_type`` into :class:`MLSHandshakeExtension`.

    Only the ClientHello/universal and the ServerHello dicts are filled: in a
    HelloRetryRequest or a Certificate entry the extension stays a generic
    ``TLSExtension``, which still carries ``extType`` for the checks that
    reject it there.
    """
    if not 0 <= ext_type <= 0xFFFF:
        raise ValueError(f"extension type {ext_type} out of range")
    if ext_type not in TLSExtension._universalExtensions:
        TLSExtension._universalExtensions[ext_type] = _Factory(ext_type, False)
    if ext_type not in TLSExtension._serverExtensions:
        TLSExtension._serverExtensions[ext_type] = _Factory(ext_type, True)
    if ext_type == TLS_EXT_MLS_HANDSHAKE and not hasattr(ExtensionType,
                                                          "tls_using_mls_handshake"):
        # TLSEnum names come from vars(cls): this makes alerts and reprs readable.
        setattr(ExtensionType, "tls_using_mls_handshake", ext_type)


def find_all(extensions: Optional[list], ext_type: int) -> list:
    """Every extension of ``ext_type`` (tlslite's getExtension raises on duplicates)."""
    return [e for e in (extensions or []) if e.extType == ext_type]


register_extension()
