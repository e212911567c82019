"""LeafNode, Capabilities and Lifetime (RFC 9420 section 7.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .codec import U16, U64, Reader, Struct, Vec, Writer, struct
from .constants import LeafNodeSource
from .credentials import Credential
from .crypto import CipherSuite
from .errors import DecodeError
from .extensions import Extension


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
