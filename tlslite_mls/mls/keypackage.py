"""KeyPackage (RFC 9420 section 10)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .auth import AuthenticationPolicy, CredentialContext, authenticate
from .codec import U16, Opaque, Struct, Vec, encode_varint, struct
from .constants import GREASE_VALUES, MLS10, CredentialType, LeafNodeSource
from .credentials import Credential
from .crypto import CipherSuite, get_cipher_suite
from .errors import ProtocolError, VerificationError
from .extensions import Extension, RequiredCapabilities, check_unique_extensions
from .leafnode import Capabilities, LeafNode, Lifetime, check_leaf_node, check_lifetime


@struct
class KeyPackage(Struct):
    """A client's signed offer to join a group (RFC 9420 section 10): its leaf, an HPKE
    init key a Welcome is encrypted to, and the suite. Single use."""
    version: U16
    cipher_suite: U16
    init_key: Opaque
    leaf_node: LeafNode
    extensions: Vec[Extension]
    signature: Opaque

    # The encoding is cached (a KeyPackage is encoded for its signature, its reference
    # and the wire, and a received one arrives encoded): assigning a field clears it;
    # the leaf node and extensions are treated as immutable once built, as in LeafNode.
    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        self.__dict__.pop("_encoded", None)

    def serialize(self) -> bytes:
        """This KeyPackage's encoding (the received bytes, for a decoded one)."""
        encoded = self.__dict__.get("_encoded")
        if encoded is None:
            encoded = Struct.serialize(self)
            self.__dict__["_encoded"] = encoded
        return encoded

    @classmethod
    def deserialize(cls, data: bytes) -> "KeyPackage":
        """Decode one complete KeyPackage, keeping its bytes for signature and reference."""
        kp = super().deserialize(data)
        kp.__dict__["_encoded"] = bytes(data)
        return kp

    def tbs(self) -> bytes:
        """KeyPackageTBS: every field but the signature (a prefix of the encoding)."""
        encoded = self.serialize()
        n = len(self.signature)
        return encoded[:len(encoded) - n - len(encode_varint(n))]

    def sign(self, cs: CipherSuite, signature_private: bytes) -> None:
        """Sign with the leaf's signature private key (sets ``signature``)."""
        self.signature = cs.sign_with_label(signature_private, "KeyPackageTBS", self.tbs())

    def verify_signature(self, cs: CipherSuite) -> bool:
        """Whether ``signature`` is the leaf signature key's over KeyPackageTBS."""
        return cs.verify_with_label(self.leaf_node.signature_key, "KeyPackageTBS",
                                    self.tbs(), self.signature)

    def ref(self, cs: CipherSuite) -> bytes:
        """KeyPackageRef (section 5.2)."""
        return cs.ref_hash("MLS 1.0 KeyPackage Reference", self.serialize())


@dataclass(eq=False)
class KeyPackageBundle:
    """A KeyPackage with the three private keys its owner keeps.

    The init key opens the Welcome; the leaf encryption key is the member's
    leaf key in the group afterwards (TreeKEM needs it to decrypt the peer's
    first UpdatePath); the signature key signs everything the member sends.
    """

    key_package: KeyPackage
    init_private: bytes = field(repr=False)
    encryption_private: bytes = field(repr=False)
    signature_private: bytes = field(repr=False)

    @property
    def cipher_suite(self) -> CipherSuite:
        """The KeyPackage's cipher suite."""
        return get_cipher_suite(self.key_package.cipher_suite)


def default_capabilities(cs: CipherSuite, *, extensions: Sequence[int] = (),
                         proposals: Sequence[int] = (),
                         credentials: Sequence[int] = (CredentialType.BASIC, CredentialType.X509),
                         cipher_suites: Optional[Sequence[int]] = None,
                         grease: bool = True) -> Capabilities:
    """Capabilities with one random GREASE value in each list (section 13.5) when ``grease``."""
    suites = list(cipher_suites) if cipher_suites is not None else [cs.suite_id]
    lists = [suites, list(extensions), list(proposals), list(credentials)]
    if grease:
        for values, grease_value in zip(lists, _grease_values(len(lists))):
            values.append(grease_value)
    return Capabilities([MLS10], *lists)


def _grease_values(n: int) -> list[int]:
    """``n`` uniformly random GREASE values from one ``os.urandom`` call (a byte below
    240 picks one of the 15 values without bias; ``secrets.choice`` costs a system
    call per value)."""
    out: list[int] = []
    while len(out) < n:
        out.extend(GREASE_VALUES[b % len(GREASE_VALUES)] for b in os.urandom(n)
                   if b < 240)
    return out[:n]


def create_leaf_node(cs: CipherSuite, credential: Credential, signature_private: bytes, *,
                     capabilities: Optional[Capabilities] = None,
                     lifetime_seconds: int = 12 * 3600,
                     not_before: Optional[int] = None,
                     leaf_extensions: Sequence[Extension] = (),
                     signer: Optional[object] = None) -> tuple[LeafNode, bytes]:
    """A signed key_package leaf and its encryption private key.

    A group creator needs only this (no init key, no KeyPackage signature).
    """
    now = int(time.time())
    start = now - 60 if not_before is None else not_before
    signer = signer or cs.signature.load_private(signature_private)
    enc_priv, enc_pub = cs.generate_hpke_key_pair()
    leaf = LeafNode(
        encryption_key=enc_pub,
        signature_key=cs.signature.public_key(signer),
        credential=credential,
        capabilities=capabilities or default_capabilities(cs),
        leaf_node_source=LeafNodeSource.KEY_PACKAGE,
        lifetime=Lifetime(start, start + lifetime_seconds),
        extensions=list(leaf_extensions))
    leaf.sign(cs, signer)
    return leaf, enc_priv


def create_key_package(cs: CipherSuite, credential: Credential, signature_private: bytes, *,
                       capabilities: Optional[Capabilities] = None,
                       lifetime_seconds: int = 12 * 3600,
                       not_before: Optional[int] = None,
                       leaf_extensions: Sequence[Extension] = (),
                       extensions: Sequence[Extension] = ()) -> KeyPackageBundle:
    """A fresh, signed KeyPackage. ``not_before`` defaults to now minus a little skew."""
    signer = cs.signature.load_private(signature_private)
    leaf, enc_priv = create_leaf_node(cs, credential, signature_private,
                                      capabilities=capabilities,
                                      lifetime_seconds=lifetime_seconds, not_before=not_before,
                                      leaf_extensions=leaf_extensions, signer=signer)
    init_priv, init_pub = cs.generate_hpke_key_pair()
    kp = KeyPackage(MLS10, cs.suite_id, init_pub, leaf, list(extensions), b"")
    kp.sign(cs, signer)
    return KeyPackageBundle(kp, init_priv, enc_priv, signature_private)


def validate_key_package(kp: KeyPackage, *, cipher_suite: Optional[int] = None,
                         now: Optional[int] = None, max_lifetime: Optional[int] = None,
                         required: Optional[RequiredCapabilities] = None,
                         credential_types_in_use: Sequence[int] = (),
                         policy: Optional[AuthenticationPolicy] = None,
                         role: str = "peer") -> CipherSuite:
    """KeyPackage validation (section 10.1); returns the KeyPackage's cipher suite."""
    if kp.version != MLS10:
        raise ProtocolError(f"KeyPackage version {kp.version} is not mls10")
    if cipher_suite is not None and kp.cipher_suite != cipher_suite:
        raise ProtocolError(
            f"KeyPackage cipher suite 0x{kp.cipher_suite:04x} differs from the group's")
    cs = get_cipher_suite(kp.cipher_suite)
    cs.check_hpke_public_key(kp.init_key, "KeyPackage init_key")
    cs.check_signature_public_key(kp.leaf_node.signature_key, "KeyPackage leaf signature_key")
    if not kp.verify_signature(cs):
        raise VerificationError("invalid KeyPackage signature")
    if kp.init_key == kp.leaf_node.encryption_key:
        raise ProtocolError("KeyPackage init_key equals the leaf encryption key")
    check_unique_extensions(kp.extensions, "KeyPackage.extensions")
    leaf = kp.leaf_node
    now = int(time.time()) if now is None else now
    check_leaf_node(cs, leaf, where="KeyPackage leaf", expected_source=LeafNodeSource.KEY_PACKAGE,
                    required=required, now=now)
    if cs.suite_id not in leaf.capabilities.cipher_suites or \
            MLS10 not in leaf.capabilities.versions:
        raise ProtocolError("KeyPackage leaf does not list its own version and cipher suite")
    for ctype in credential_types_in_use:
        if ctype not in leaf.capabilities.credentials:
            raise ProtocolError(f"KeyPackage leaf does not support credential type "
                                f"0x{ctype:04x} used in the group")
    if max_lifetime is not None:
        check_lifetime(leaf.lifetime, now, max_lifetime)  # type: ignore[arg-type]
    if policy is not None:
        authenticate(policy, leaf.credential, CredentialContext(cs, leaf.signature_key, role))
    return cs
