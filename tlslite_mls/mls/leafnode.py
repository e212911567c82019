"""LeafNode, Capabilities and Lifetime (RFC 9420 section 7.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from .codec import U16, U64, Reader, Struct, Vec, Writer, struct
from .constants import (DEFAULT_EXTENSION_TYPES, DEFAULT_PROPOSAL_TYPES, ExtensionType,
                        LeafNodeSource)
from .credentials import Credential
from .crypto import CipherSuite
from .errors import DecodeError, ProtocolError, VerificationError
from .extensions import Extension, RequiredCapabilities, find_extension


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
    ``parent_hash`` iff source is commit.

    The encoding of everything but the signature is cached: a leaf is
    serialized for its signature, the tree hash, the ratchet_tree extension
    and KeyPackage references many times per commit. Assigning any field
    clears the cache; nested values (capabilities, extensions) are treated as
    immutable once the leaf is built, as everywhere in the tree code.
    """

    encryption_key: bytes
    signature_key: bytes
    credential: Credential
    capabilities: Capabilities
    leaf_node_source: int
    lifetime: Optional[Lifetime] = None
    parent_hash: Optional[bytes] = None
    extensions: list[Extension] = field(default_factory=list)
    signature: bytes = b""

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name != "_content" and name != "signature":  # the signature is not content
            object.__setattr__(self, "_content", None)

    def _write_content(self, w: Writer) -> None:
        cached = self.__dict__.get("_content")
        if cached is not None:
            w.buf += cached
            return
        start = len(w.buf)
        self._encode_content(w)
        object.__setattr__(self, "_content", bytes(w.buf[start:]))

    def _encode_content(self, w: Writer) -> None:
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
        start = r.pos
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
            content_end = r.pos
            name = "signature"
            signature = r.opaque()
        except DecodeError as e:
            e.path.insert(0, name)
            raise
        node = cls(encryption_key, signature_key, credential, capabilities, source,
                   lifetime, parent_hash, extensions, signature)
        # The content as received is what the signature covers (and what re-encoding
        # the decoded fields gives: the codec accepts only minimal encodings).
        object.__setattr__(node, "_content", r.data[start:content_end])
        return node

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
    """Section 10.1: a KeyPackage must be within its lifetime (give or take some clock
    skew), and ``max_lifetime`` caps how long a lifetime may be at all."""
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


def required_capabilities(extensions: Sequence[Extension]) -> Optional[RequiredCapabilities]:
    """The ``required_capabilities`` of a GroupContext's extensions, if any."""
    ext = find_extension(extensions, ExtensionType.REQUIRED_CAPABILITIES)
    if ext is None:
        return None
    try:
        return RequiredCapabilities.deserialize(ext.extension_data)
    except DecodeError as e:
        e.path.insert(0, "GroupContext.extensions.required_capabilities")
        raise


def check_required_capabilities(leaf: LeafNode, required: Optional[RequiredCapabilities],
                                where: str = "LeafNode") -> None:
    """Section 7.3/11.1: the leaf supports everything the group requires."""
    if required is None:
        return
    caps = leaf.capabilities
    missing = [t for t in required.extension_types
               if t not in caps.extensions and t not in DEFAULT_EXTENSION_TYPES]
    missing += [t for t in required.proposal_types
                if t not in caps.proposals and t not in DEFAULT_PROPOSAL_TYPES]
    missing += [t for t in required.credential_types if t not in caps.credentials]
    if missing:
        raise ProtocolError(f"{where}: lacks required capabilities "
                            f"{', '.join(f'0x{t:04x}' for t in missing)}")


def check_leaf_node(cs: CipherSuite, leaf: LeafNode, *, where: str = "LeafNode",
                    group_id: Optional[bytes] = None, leaf_index: Optional[int] = None,
                    expected_source: Optional[int] = None,
                    required: Optional[RequiredCapabilities] = None,
                    now: Optional[int] = None, verify_signature: bool = True,
                    signature_key_checked: bool = False) -> None:
    """The checks of section 7.3 that need only the leaf itself and the group.

    Credentials (the authentication policy) and key uniqueness within a tree
    are checked by the callers that know the policy and the tree.
    ``now`` (Unix seconds) enables the lifetime check of key_package leaves.
    ``signature_key_checked``: the caller knows the signature key passed this check
    before (a member keeping its key), so the costly point check is not repeated.
    """
    # The keys first (docs/profile.md section 2): a key nobody can hold is illegal_parameter,
    # not a signature failure or an error in its first use.
    cs.check_hpke_public_key(leaf.encryption_key, f"{where} encryption_key")
    if not signature_key_checked:
        cs.check_signature_public_key(leaf.signature_key, f"{where} signature_key")
    source = leaf.leaf_node_source
    if expected_source is not None and source != expected_source:
        raise ProtocolError(f"{where}: leaf_node_source is {source}, "
                            f"expected {int(expected_source)}")
    if source == LeafNodeSource.KEY_PACKAGE:
        ok = not verify_signature or leaf.verify_signature(cs)
    else:
        if group_id is None or leaf_index is None:
            raise ProtocolError(f"{where}: an update/commit leaf is only valid at a known "
                                "place in a known group")
        ok = not verify_signature or leaf.verify_signature(cs, group_id, leaf_index)
    if not ok:
        raise VerificationError(f"{where}: invalid LeafNode signature")
    caps = leaf.capabilities
    if leaf.credential.credential_type not in caps.credentials:
        raise ProtocolError(f"{where}: credential type "
                            f"{leaf.credential.credential_type} is not in its capabilities")
    seen: set[int] = set()
    for ext in leaf.extensions:
        if ext.extension_type not in caps.extensions:
            raise ProtocolError(f"{where}: extension 0x{ext.extension_type:04x} is used but "
                                "not listed in its capabilities")
        if ext.extension_type in seen:
            raise ProtocolError(f"{where}: extension 0x{ext.extension_type:04x} appears twice")
        seen.add(ext.extension_type)
    check_required_capabilities(leaf, required, where)
    if now is not None and source == LeafNodeSource.KEY_PACKAGE:
        if leaf.lifetime is None:
            raise ProtocolError(f"{where}: key_package leaf without a lifetime")
        check_lifetime(leaf.lifetime, now)
