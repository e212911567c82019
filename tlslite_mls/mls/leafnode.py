"""LeafNode, Capabilities and Lifetime (RFC 9420 section 7.2)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Optional

from .codec import U16, U64, Reader, Struct, Vec, Writer, struct
from .constants import DEFAULT_EXTENSION_TYPES, DEFAULT_PROPOSAL_TYPES, MLS10, LeafNodeSource
from .credentials import Credential
from .crypto import CipherSuite
from .errors import DecodeError, ProtocolError, VerificationError
from .extensions import Extension, RequiredCapabilities, check_unique_extensions

if TYPE_CHECKING:
    from .auth import AuthenticationPolicy


@struct
class Capabilities(Struct):
    versions: Vec[U16]
    cipher_suites: Vec[U16]
    extensions: Vec[U16]
    proposals: Vec[U16]
    credentials: Vec[U16]


@struct
class Lifetime(Struct):
    not_before: U64
    not_after: U64


@dataclass(eq=True)
class LeafNode(Struct):
    """A member's leaf. ``lifetime`` is set iff source is key_package,
    ``parent_hash`` iff source is commit."""

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: int
    lifetime: Optional[Lifetime] = None
    parent_hash: Optional[bytes] = None
    extensions: list[Extension] = field(default_factory=list)
    signature: bytes = b""

    def _write_content(self, w: Writer) -> None:
        w.opaque(self.encryption_key)
        w.opaque(self.signature_key)
        self.credential.write(w)
        self.capabilities.write(w)
        w.u8(self.leaf_node_source)
        if self.leaf_node_source == LeafNodeSource.KEY_PACKAGE:
            if self.lifetime is None:
                raise ValueError("key_package leaf needs a lifetime")
            self.lifetime.write(w)
        elif self.leaf_node_source == LeafNodeSource.COMMIT:
            if self.parent_hash is None:
                raise ValueError("commit leaf needs a parent_hash")
            w.opaque(self.parent_hash)
        w.structs(self.extensions)

    def write(self, w: Writer) -> None:
        self._write_content(w)
        w.opaque(self.signature)

    @classmethod
    def read(cls, r: Reader) -> "LeafNode":
        name = "encryption_key"
        try:
            encryption_key = r.opaque()
            name = "signature_key"
            signature_key = r.opaque()
            name = "credential"
            credential = Credential.read(r)
            name = "capabilities"
            capabilities = Capabilities.read(r)
            name = "leaf_node_source"
            source = r.u8()
            lifetime = parent_hash = None
            if source == LeafNodeSource.KEY_PACKAGE:
                name = "lifetime"
                lifetime = Lifetime.read(r)
            elif source == LeafNodeSource.COMMIT:
                name = "parent_hash"
                parent_hash = r.opaque()
            elif source != LeafNodeSource.UPDATE:
                raise DecodeError(f"invalid leaf_node_source {source}")
            name = "extensions"
            extensions = r.vector(Extension.read)
            name = "signature"
            signature = r.opaque()
        except DecodeError as e:
            e.path.insert(0, name)
            raise
        return cls(encryption_key, signature_key, credential, capabilities, source,
                   lifetime, parent_hash, extensions, signature)

    def tbs(self, group_id: Optional[bytes] = None, leaf_index: Optional[int] = None) -> bytes:
        """LeafNodeTBS: group_id and leaf_index bind update and commit leaves to a place."""
        w = Writer()
        self._write_content(w)
        if self.leaf_node_source != LeafNodeSource.KEY_PACKAGE:
            if group_id is None or leaf_index is None:
                raise ValueError("update/commit leaf signatures need group_id and leaf_index")
            w.opaque(group_id)
            w.u32(leaf_index)
        return bytes(w.buf)

    def sign(self, cs: CipherSuite, signature_private: bytes,
             group_id: Optional[bytes] = None, leaf_index: Optional[int] = None) -> None:
        self.signature = cs.sign_with_label(signature_private, "LeafNodeTBS",
                                            self.tbs(group_id, leaf_index))

    def verify_signature(self, cs: CipherSuite, group_id: Optional[bytes] = None,
                         leaf_index: Optional[int] = None) -> bool:
        return cs.verify_with_label(self.signature_key, "LeafNodeTBS",
                                    self.tbs(group_id, leaf_index), self.signature)


LIFETIME_TOLERANCE = 300  # seconds of clock skew accepted on not_before/not_after


def check_lifetime(lifetime: Lifetime, now: int, max_lifetime: Optional[int] = None) -> None:
    """Section 10.1: the KeyPackage must be within its lifetime (with some clock skew)."""
    if lifetime.not_before > now + LIFETIME_TOLERANCE:
        raise ProtocolError("leaf lifetime has not started yet")
    if lifetime.not_after + LIFETIME_TOLERANCE < now:
        raise ProtocolError("leaf lifetime has expired")
    if lifetime.not_after < lifetime.not_before:
        raise ProtocolError("leaf lifetime ends before it starts")
    if max_lifetime is not None and lifetime.not_after - lifetime.not_before > max_lifetime:
        raise ProtocolError(
            f"leaf lifetime of {lifetime.not_after - lifetime.not_before} s exceeds "
            f"the allowed {max_lifetime} s")


def check_capabilities(leaf: LeafNode, required: Optional[RequiredCapabilities],
                       credential_types_in_use: Iterable[int] = ()) -> None:
    """Section 7.3: the leaf supports what the group requires and uses."""
    caps = leaf.capabilities
    check_unique_extensions(leaf.extensions, "LeafNode.extensions")
    for ext in leaf.extensions:
        if ext.extension_type not in DEFAULT_EXTENSION_TYPES and \
                ext.extension_type not in caps.extensions:
            raise ProtocolError(
                f"leaf carries extension 0x{ext.extension_type:04x} it does not list in capabilities")
    if leaf.credential.credential_type not in caps.credentials:
        raise ProtocolError("leaf's own credential type is missing from its capabilities")
    for ctype in credential_types_in_use:
        if ctype not in caps.credentials:
            raise ProtocolError(f"leaf does not support credential type 0x{ctype:04x} used in the group")
    if required is not None:
        for ext_type in required.extension_types:
            if ext_type not in caps.extensions and ext_type not in DEFAULT_EXTENSION_TYPES:
                raise ProtocolError(f"leaf lacks required extension 0x{ext_type:04x}")
        for prop in required.proposal_types:
            if prop not in caps.proposals and prop not in DEFAULT_PROPOSAL_TYPES:
                raise ProtocolError(f"leaf lacks required proposal type 0x{prop:04x}")
        for ctype in required.credential_types:
            if ctype not in caps.credentials:
                raise ProtocolError(f"leaf lacks required credential type 0x{ctype:04x}")


def validate_leaf_node(leaf: LeafNode, cs: CipherSuite, *, source: int,
                       group_id: Optional[bytes] = None, leaf_index: Optional[int] = None,
                       now: Optional[int] = None,
                       required: Optional[RequiredCapabilities] = None,
                       credential_types_in_use: Iterable[int] = (),
                       policy: Optional["AuthenticationPolicy"] = None,
                       role: str = "peer",
                       previous: Optional[Credential] = None) -> None:
    """Leaf node validation of section 7.3, except key uniqueness (the tree checks that)."""
    if leaf.leaf_node_source != source:
        raise ProtocolError(
            f"leaf_node_source is {leaf.leaf_node_source}, expected {source} here")
    if not leaf.verify_signature(cs, group_id, leaf_index):
        raise VerificationError("invalid LeafNode signature")
    if cs.suite_id not in leaf.capabilities.cipher_suites:
        raise ProtocolError("leaf does not list the group's cipher suite in its capabilities")
    if MLS10 not in leaf.capabilities.versions:
        raise ProtocolError("leaf does not list mls10 in its capabilities")
    check_capabilities(leaf, required, credential_types_in_use)
    if source == LeafNodeSource.KEY_PACKAGE:
        check_lifetime(leaf.lifetime, int(time.time()) if now is None else now)
    if policy is not None:
        from .auth import CredentialContext, authenticate
        authenticate(policy, leaf.credential,
                     CredentialContext(cs, leaf.signature_key, role, previous))
