"""MLS extensions (RFC 9420 section 13) and the typed bodies this project uses."""

from __future__ import annotations

from typing import Iterable, Optional

from .codec import U16, Opaque, Struct, Vec, struct
from .errors import ProtocolError


@struct
class Extension(Struct):
    extension_type: U16
    extension_data: Opaque


@struct
class RequiredCapabilities(Struct):
    """Body of ``required_capabilities`` (section 11.1)."""

    extension_types: Vec[U16]
    proposal_types: Vec[U16]
    credential_types: Vec[U16]


def find_extension(extensions: Iterable[Extension], ext_type: int) -> Optional[Extension]:
    for ext in extensions:
        if ext.extension_type == ext_type:
            return ext
    return None


def check_unique_extensions(extensions: Iterable[Extension], where: str) -> None:
    """RFC 9420 section 13: each extension type at most once per list."""
    seen: set[int] = set()
    for ext in extensions:
        if ext.extension_type in seen:
            raise ProtocolError(f"{where}: extension 0x{ext.extension_type:04x} appears twice")
        seen.add(ext.extension_type)
