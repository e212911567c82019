"""A stand-in for ``tlslite_mls.twoparty.handshake`` with the same interface.

Used only while the real two-party engine is not in the tree. The KeyPackage
is a real RFC 9420 KeyPackage (real signature, ``tls_binding`` leaf
extension); the "Welcome" is a small private format: the suite, then an HPKE
ciphertext to the KeyPackage's init key holding a random epoch secret and the
ClientHello hash. Enough to exercise every TLS path: secrets agree only if the
client really holds the init key, a wrong ClientHello hash fails, garbage
fails to decode.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional

from tlslite_mls.codepoints import MLS_EXT_TLS_BINDING, TLS_BINDING_EXTENSION_MODE
from tlslite_mls.mls.codec import Reader, Writer
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import DecodeError, ProtocolError
from tlslite_mls.mls.extensions import Extension, find_extension
from tlslite_mls.mls.keypackage import (KeyPackage, create_key_package, default_capabilities,
                                        validate_key_package)


class Declined(Exception):
    """The responder will not use this KeyPackage."""


@dataclass
class MLSHandshakeConfig:
    suites: list = field(default_factory=lambda: [1])
    credential: Any = None
    signature_key: Optional[bytes] = None
    auth_policy: Any = None
    store: Any = None
    binding_protocol: bytes = TLS_BINDING_EXTENSION_MODE
    key_package_lifetime: int = 3600


def _identity(cfg: MLSHandshakeConfig, suite: int) -> tuple[Credential, bytes]:
    if cfg.credential is not None:
        return cfg.credential, cfg.signature_key
    cs = get_cipher_suite(suite)
    priv, _ = cs.generate_signature_key_pair()
    return Credential.basic(b"anon-" + os.urandom(4).hex().encode()), priv


def _name(cred: Credential) -> bytes:
    return cred.identity if cred.identity else b"x509"


class TwoPartySession:
    def __init__(self, suite: int, secret: bytes, local: bytes, peer: bytes) -> None:
        self.cipher_suite = suite
        self.epoch = 1
        self.local_identity = local
        self.peer_identity = peer
        self._secret = secret

    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        cs = get_cipher_suite(self.cipher_suite)
        return cs.expand_with_label(cs.derive_secret(self._secret, label), "exported",
                                    cs.digest(context), length)


class InitiatorHandshake:
    def __init__(self, config: MLSHandshakeConfig) -> None:
        self.config = config
        self._bundle = None
        self._kp: Optional[bytes] = None

    def key_package(self) -> bytes:
        if self._kp is None:
            suite = self.config.suites[0]
            cs = get_cipher_suite(suite)
            cred, key = _identity(self.config, suite)
            self._cred = cred
            ext = Extension(MLS_EXT_TLS_BINDING, _opaque(self.config.binding_protocol))
            self._bundle = create_key_package(cs, cred, key, leaf_extensions=[ext],
                                              capabilities=default_capabilities(
                                                  cs, extensions=[MLS_EXT_TLS_BINDING]),
                                              lifetime_seconds=self.config.key_package_lifetime)
            self._kp = self._bundle.key_package.serialize()
        return self._kp

    def process_welcome(self, welcome: bytes, client_hello_hash: bytes) -> TwoPartySession:
        r = Reader(welcome)
        suite = r.u16()
        kem_output = r.opaque()
        ct = r.opaque()
        server_name = r.opaque()
        r.finish()
        if suite != self._bundle.key_package.cipher_suite:
            raise ProtocolError("Welcome cipher suite differs from the KeyPackage's")
        cs = get_cipher_suite(suite)
        plain = cs.decrypt_with_label(self._bundle.init_private, "Welcome", b"", kem_output, ct)
        secret, ch_hash = plain[:cs.hash_length], plain[cs.hash_length:]
        if ch_hash != client_hello_hash:
            raise ProtocolError("tls_client_hello_hash does not match the ClientHello sent")
        return TwoPartySession(suite, secret, _name(self._cred), server_name)


def _opaque(data: bytes) -> bytes:
    w = Writer()
    w.opaque(data)
    return w.getvalue()


class ResponderHandshake:
    def __init__(self, config: MLSHandshakeConfig) -> None:
        self.config = config

    def accept(self, key_package: bytes, client_hello_hash: bytes):
        kp = KeyPackage.deserialize(key_package)
        if kp.cipher_suite not in self.config.suites:
            raise Declined(f"MLS cipher suite 0x{kp.cipher_suite:04x} not acceptable")
        cs = validate_key_package(kp)
        binding = find_extension(kp.leaf_node.extensions, MLS_EXT_TLS_BINDING)
        if binding is None or Reader(binding.extension_data).opaque() != \
                self.config.binding_protocol:
            raise ProtocolError("KeyPackage lacks the tls_binding of this mode")
        cred, _ = _identity(self.config, kp.cipher_suite)
        secret = os.urandom(cs.hash_length)
        kem_output, ct = cs.encrypt_with_label(kp.init_key, "Welcome", b"",
                                               secret + client_hello_hash)
        w = Writer()
        w.u16(kp.cipher_suite)
        w.opaque(kem_output)
        w.opaque(ct)
        w.opaque(_name(cred))
        session = TwoPartySession(kp.cipher_suite, secret, _name(cred),
                                  _name(kp.leaf_node.credential))
        return w.getvalue(), session


def load() -> SimpleNamespace:
    return SimpleNamespace(MLSHandshakeConfig=MLSHandshakeConfig,
                           InitiatorHandshake=InitiatorHandshake,
                           ResponderHandshake=ResponderHandshake, Declined=Declined)


__all__ = ["load", "DecodeError"]
