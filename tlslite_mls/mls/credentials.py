"""Credentials (RFC 9420 section 5.3): ``basic`` and ``x509``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .codec import Reader, Struct, Writer
from .constants import CredentialType
from .errors import DecodeError


@dataclass(eq=True)
class Credential(Struct):
    """A credential; ``identity`` for basic, ``certificates`` (DER, leaf first) for x509."""

    credential_type: int
    identity: bytes = b""
    certificates: list[bytes] = field(default_factory=list)

    @classmethod
    def basic(cls, identity: bytes) -> "Credential":
        """A basic credential: a name only, which proves nothing by itself (pin the
        signature key to authenticate it)."""
        return cls(CredentialType.BASIC, identity=identity)

    @classmethod
    def x509(cls, certificates: list[bytes]) -> "Credential":
        """An x509 credential: DER certificates, end entity first, each signed by the
        next."""
        return cls(CredentialType.X509, certificates=list(certificates))

    def write(self, w: Writer) -> None:
        w.u16(self.credential_type)
        if self.credential_type == CredentialType.BASIC:
            w.opaque(self.identity)
        elif self.credential_type == CredentialType.X509:
            w.vector(self.certificates, Writer.opaque)
        else:
            raise ValueError(f"cannot encode credential type {self.credential_type}")

    @classmethod
    def read(cls, r: Reader) -> "Credential":
        ctype = r.u16()
        if ctype == CredentialType.BASIC:
            return cls(ctype, identity=r.opaque())
        if ctype == CredentialType.X509:
            try:
                return cls(ctype, certificates=r.vector(Reader.opaque))
            except DecodeError as e:
                e.path.insert(0, "certificates")
                raise
        raise DecodeError(f"unknown credential type 0x{ctype:04x}", ["credential_type"])
