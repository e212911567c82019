"""The initial key agreement of the two-party profile (docs/profile.md sections 2 and 3).

The TLS client is the profile's initiator: it puts a fresh KeyPackage into its
ClientHello and turns the server's Welcome into a :class:`TwoPartySession`. The TLS
server is the responder: it checks the KeyPackage, creates the group (epoch 0, leaf 0),
commits an Add of the client without a path (epoch 1), and answers with the Welcome.
Both then take ``mls_secret = session.exporter("TLS shared secret", "", Hash.length)``.

What binds the group to TLS:

* ``tls_binding`` (protocol string of the mode) in the client's KeyPackage leaf, listed
  in its capabilities; the server refuses a KeyPackage without it (it may have been
  published for messaging) and puts it into the GroupContext, with
  ``required_capabilities`` naming it, so every signature and exporter output of the
  group is bound to this use;
* ``group_id`` = ``b"tls13"`` + 32 random bytes; the client checks the prefix;
* ``tls_client_hello_hash`` in the Welcome's GroupInfo: the server's signature covers
  the ClientHello the client really sent. A mismatch is :class:`ClientHelloHashMismatch`
  (``illegal_parameter``).

Refusals the TLS layer should answer with classic TLS (unsupported suite, credential
refused by the server's policy, lifetime, a replayed KeyPackage) raise :class:`Declined`;
everything else is an engine error with an ``alert``.
"""

from __future__ import annotations

import hmac
import os
from typing import Any, Optional

from ..mls import auth as _auth
from ..mls.constants import ExtensionType
from ..mls.crypto import get_cipher_suite, supported_cipher_suites
from ..mls.errors import CredentialError, DecodeError, MLSError, ProtocolError
from ..mls.extensions import Extension, RequiredCapabilities, find_extension
from ..mls.group import Group
from ..mls.keypackage import KeyPackage, KeyPackageBundle, create_key_package, create_leaf_node
from ..mls.leafnode import LIFETIME_TOLERANCE, check_lifetime
from ..mls.proposals import Add, Proposal
from ..mls.welcome import Welcome
from .binding import (binding_extension, binding_required_capabilities, has_binding,
                      leaf_capabilities, opaque, read_opaque)
from .config import MLSHandshakeConfig, _AcceptOwnLeaf
from .errors import (BindingError, ClientHelloHashMismatch, Declined, IllegalParameter,
                     UnexpectedMessage, as_engine_error)
from .session import Role, TwoPartySession

__all__ = ["MLSHandshakeConfig", "InitiatorHandshake", "ResponderHandshake",
           "TwoPartySession", "Declined"]


class InitiatorHandshake:
    """The TLS client's side of the initial agreement (one per connection)."""

    def __init__(self, config: MLSHandshakeConfig) -> None:
        self.config = config
        self._bundle: Optional[KeyPackageBundle] = None
        self._key_package: Optional[bytes] = None
        self._done = False

    def key_package(self) -> bytes:
        """The bare KeyPackage for the ClientHello: fresh per handshake, the same bytes
        on every call (the second ClientHello after a HelloRetryRequest resends it)."""
        if self._key_package is None:
            for suite in self.config.suites:
                ident = self.config.identity_for(suite)
                if ident is not None:
                    break
            else:
                raise ValueError("no credential and signature key for any configured suite")
            cs = get_cipher_suite(suite)
            credential, signature_private = ident
            self._bundle = create_key_package(
                cs, credential, signature_private,
                capabilities=leaf_capabilities(cs, self.config),
                lifetime_seconds=self.config.key_package_lifetime,
                leaf_extensions=[binding_extension(self.config)])
            self._key_package = self._bundle.key_package.serialize()
        return self._key_package

    def process_welcome(self, welcome: bytes, client_hello_hash: bytes) -> TwoPartySession:
        """Join from the server's bare Welcome and check everything docs/profile.md asks for.

        ``client_hello_hash`` is the TLS transcript hash up to and including the final
        ClientHello. Raises an engine error (with ``alert``) on any failure.
        """
        if self._bundle is None:
            raise UnexpectedMessage("a Welcome without a KeyPackage having been sent")
        if self._done:
            raise UnexpectedMessage("the Welcome was already processed")
        config = self.config
        bundle = self._bundle
        leaf = bundle.key_package.leaf_node
        policy = _AcceptOwnLeaf(config.client_policy(), leaf.credential, leaf.signature_key)
        group: Optional[Group] = None
        try:
            parsed = Welcome.deserialize(bytes(welcome))
            group = Group.join(parsed, bundle, config=config.group_config(policy))
            self._check_group(group, client_hello_hash)
        except BaseException as e:
            if group is not None:
                group.retire()
            new = as_engine_error(e)
            if new is e:
                raise
            raise new from e
        self._done = True
        # The init key has done its job; the leaf key now lives in the group.
        self._bundle = None
        return TwoPartySession(group, Role.INITIATOR, config, key_epochs=group.epoch)

    def _check_group(self, group: Group, client_hello_hash: bytes) -> None:
        config = self.config
        if not group.group_id.startswith(config.group_id_prefix):
            raise BindingError(f"group_id does not start with {config.group_id_prefix!r}")
        if not has_binding(group.extensions, config):
            raise BindingError("the GroupContext lacks the tls_binding of this mode")
        req = find_extension(group.extensions, ExtensionType.REQUIRED_CAPABILITIES)
        if req is None or config.binding_extension_type not in \
                RequiredCapabilities.deserialize(req.extension_data).extension_types:
            raise BindingError("required_capabilities does not name tls_binding")
        info = group.joined_group_info
        assert info is not None
        if group.epoch != 1 or len(group.members()) != 2 or group.own_leaf != 1 \
                or info.signer != 0:
            raise IllegalParameter("the Welcome is not the profile's two-member group at "
                                   "epoch 1 with the server at leaf 0")
        ext = find_extension(info.extensions, config.client_hello_hash_extension_type)
        got = read_opaque(ext.extension_data) if ext is not None else None
        if got is None:
            raise ClientHelloHashMismatch("the GroupInfo carries no tls_client_hello_hash")
        if not hmac.compare_digest(got, bytes(client_hello_hash)):
            raise ClientHelloHashMismatch("tls_client_hello_hash does not match the "
                                          "ClientHello sent")


class ResponderHandshake:
    """The TLS server's side of the initial agreement."""

    def __init__(self, config: MLSHandshakeConfig) -> None:
        self.config = config

    def accept(self, key_package: bytes, client_hello_hash: bytes
               ) -> tuple[bytes, TwoPartySession]:
        """Check the client's bare KeyPackage, build the group, return (Welcome, session).

        Raises :class:`Declined` (fall back to classic TLS) for an unsupported suite, a
        credential the policy refuses, a lifetime that is over, not started or longer
        than ``max_key_package_lifetime``, or a KeyPackage already used; an engine error
        (``decode_error``, ``decrypt_error``, ``illegal_parameter``) for a bad one.
        """
        kp, cs, ident = self._checked(key_package)
        config = self.config
        leaf = kp.leaf_node
        # The Add commit validates the KeyPackage in full (signatures, capabilities
        # against the group's required_capabilities, the credential through the
        # server policy): done once there rather than here and again there.
        welcome, session = self._build(kp, cs, ident, config.server_policy(),
                                       client_hello_hash)
        # Single use (docs/profile.md section 2): the ref stays claimed while the KeyPackage
        # could still be accepted, clock skew included. Claimed only once the
        # KeyPackage proved valid, so garbage cannot fill the cache.
        store = config.the_store()
        try:
            fresh = store.claim_key_package(kp.ref(cs),
                                            leaf.lifetime.not_after + LIFETIME_TOLERANCE)
        except Exception as exc:
            session.close()
            raise _unavailable(exc) from exc
        if not fresh:
            session.close()
            raise Declined("KeyPackage already used (replay cache)")
        return welcome, session

    def check(self, key_package: bytes) -> None:
        """Raise :class:`Declined` now for what ``accept`` would decline without any
        cryptography (suite, server credential, lifetime).

        For a server that must choose, before it answers a ClientHello with no key
        share, between taking MLS and asking for a share (HelloRetryRequest). Other
        failures (a malformed KeyPackage, a refused credential, a replay) surface only
        from ``accept``; a malformed KeyPackage raises its engine error here too.
        """
        self._checked(key_package)

    def _checked(self, key_package: bytes) -> tuple[KeyPackage, Any, Any]:
        config = self.config
        try:
            kp = KeyPackage.deserialize(bytes(key_package))
        except DecodeError as e:
            raise as_engine_error(e) from None
        suite = kp.cipher_suite
        if suite not in config.suites or suite not in supported_cipher_suites():
            raise Declined(f"MLS cipher suite 0x{suite:04x} is not acceptable")
        ident = config.identity_for(suite)
        if ident is None:
            raise Declined(f"no server credential for MLS cipher suite 0x{suite:04x}")
        leaf = kp.leaf_node
        if not has_binding(leaf.extensions, config):
            raise BindingError("the KeyPackage lacks the tls_binding of this mode")
        if leaf.lifetime is None:
            raise IllegalParameter("KeyPackage leaf without a lifetime")
        try:
            check_lifetime(leaf.lifetime, int(config.clock()), config.max_key_package_lifetime)
        except ProtocolError as e:
            raise Declined(f"KeyPackage lifetime: {e}") from None
        return kp, get_cipher_suite(suite), ident

    def _build(self, kp: KeyPackage, cs, ident, policy, client_hello_hash: bytes  # type: ignore[no-untyped-def]
               ) -> tuple[bytes, TwoPartySession]:
        config = self.config
        credential, signature_private = ident
        binding = binding_extension(config)
        # The creator leaf keeps source key_package until our first commit renews it;
        # its lifetime must outlast the connection and its resumptions.
        leaf, encryption_private = create_leaf_node(
            cs, credential, signature_private, capabilities=leaf_capabilities(cs, config),
            lifetime_seconds=config.creator_leaf_lifetime, leaf_extensions=[binding])
        group_id = config.group_id_prefix + os.urandom(config.group_id_random_length)
        extensions = [Extension(ExtensionType.REQUIRED_CAPABILITIES, binding_required_capabilities(config).serialize()),
                      binding]
        group = Group.create_with_leaf(cs, leaf, encryption_private, signature_private,
                                       group_id=group_id, extensions=extensions,
                                       config=config.group_config(policy))
        try:
            # Only the Welcome reports this commit: it is never sent as a message.
            pc = group.commit(
                proposals=[Proposal.of(Add(kp))], path=False, frame_message=False,
                group_info_extensions=[Extension(config.client_hello_hash_extension_type,
                                                 opaque(bytes(client_hello_hash)))])
        except CredentialError as e:
            raise Declined(f"client credential refused: {e}",
                           "bad_certificate" if isinstance(e, _auth.CertificateError)
                           else "access_denied") from None
        except MLSError as e:
            raise as_engine_error(e) from e
        finally:
            group.retire()
        assert pc.welcome is not None
        session = TwoPartySession(pc.group, Role.RESPONDER, config, key_epochs=pc.group.epoch)
        return pc.welcome.serialize(), session


def _unavailable(exc: Exception) -> Exception:
    """A store failure as ``StoreUnavailable`` (named apart from protocol failures, so a
    server can decline MLS instead of failing the connection)."""
    from ..store.errors import StoreUnavailable
    if isinstance(exc, StoreUnavailable):
        return exc
    return StoreUnavailable(f"state store failed: {type(exc).__name__}: {exc}")
