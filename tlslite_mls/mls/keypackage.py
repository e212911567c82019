"""KeyPackage (RFC 9420 section 10)."""

from __future__ import annotations

from .codec import U16, Opaque, Struct, Vec, Writer, struct
from .crypto import CipherSuite
from .extensions import Extension
from .leafnode import LeafNode


@struct
class KeyPackage(Struct):
    version: U16
    cipher_suite: U16
    init_key: Opaque
    leaf_node: LeafNode
    extensions: Vec[Extension]
    signature: Opaque

    def tbs(self) -> bytes:
        w = Writer()
        w.u16(self.version)
        w.u16(self.cipher_suite)
        w.opaque(self.init_key)
        self.leaf_node.write(w)
        w.structs(self.extensions)
        return bytes(w.buf)

    def sign(self, cs: CipherSuite, signature_private: bytes) -> None:
        self.signature = cs.sign_with_label(signature_private, "KeyPackageTBS", self.tbs())

    def verify_signature(self, cs: CipherSuite) -> bool:
        return cs.verify_with_label(self.leaf_node.signature_key, "KeyPackageTBS",
                                    self.tbs(), self.signature)

    def ref(self, cs: CipherSuite) -> bytes:
        """KeyPackageRef (section 5.2)."""
        return cs.ref_hash("MLS 1.0 KeyPackage Reference", self.serialize())
