"""Our own RFC 9420 core behind the :class:`interop.peer.Peer` interface."""

from __future__ import annotations

from typing import Optional

from interop.peer import PeerError, PeerUnsupported, Peer
from tlslite_mls.mls.constants import WireFormat
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites
from tlslite_mls.mls.errors import MLSError
from tlslite_mls.mls.group import (ApplicationMessage, Group, GroupConfig, ProposalMessage,
                                   StagedCommit)
from tlslite_mls.mls.keypackage import KeyPackageBundle, create_key_package
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.proposals import Add, Proposal


class OursPeer(Peer):
    """One member driven through our :class:`~tlslite_mls.mls.group.Group`."""

    name = "tlslite_mls"
    suites = frozenset(supported_cipher_suites())

    def __init__(self, suite: int, identity: bytes) -> None:
        if suite not in supported_cipher_suites():  # suites registered later count too
            raise PeerUnsupported(f"suite 0x{suite:04x} is not supported")
        self.suite = suite
        self.cs = get_cipher_suite(suite)
        self.identity = identity
        self.signature_private, _ = self.cs.generate_signature_key_pair()
        self.group: Optional[Group] = None
        self._bundles: dict[bytes, KeyPackageBundle] = {}

    def _bundle(self) -> KeyPackageBundle:
        bundle = create_key_package(self.cs, Credential.basic(self.identity),
                                    self.signature_private)
        self._bundles[bundle.key_package.ref(self.cs)] = bundle
        return bundle

    def _config(self, public: bool = False) -> GroupConfig:
        return GroupConfig(handshake_wire_format=WireFormat.PUBLIC_MESSAGE if public
                           else WireFormat.PRIVATE_MESSAGE)

    def _adopt(self, group: Group) -> None:
        if self.group is not None:
            self.group.retire()
        self.group = group

    def _need_group(self) -> Group:
        if self.group is None:
            raise PeerError("not in a group")
        return self.group

    def key_package(self) -> bytes:
        return MLSMessage.wrap(self._bundle().key_package).serialize()

    def create_group(self, group_id: bytes) -> None:
        self.group = Group.create(self._bundle(), group_id=group_id, config=self._config())

    def add(self, key_package: bytes) -> tuple[bytes, bytes]:
        try:
            kp = MLSMessage.deserialize(key_package).body
            pending = self._need_group().commit(proposals=[Proposal.of(Add(kp))])
        except MLSError as e:
            raise PeerError(f"{type(e).__name__}: {e}") from e
        self._adopt(pending.group)
        assert pending.welcome is not None
        return pending.message_bytes, MLSMessage.wrap(pending.welcome).serialize()

    def join(self, welcome: bytes) -> None:
        try:
            body = MLSMessage.deserialize(welcome).body
            for entry in body.secrets:
                bundle = self._bundles.get(entry.new_member)
                if bundle is not None:
                    self.group = Group.join(body, bundle, config=self._config())
                    return
        except MLSError as e:
            raise PeerError(f"{type(e).__name__}: {e}") from e
        raise PeerError("Welcome has nothing for our KeyPackages")

    def commit_update(self, public: bool) -> bytes:
        group = self._need_group()
        wire_format = WireFormat.PUBLIC_MESSAGE if public else WireFormat.PRIVATE_MESSAGE
        pending = group.commit(wire_format=wire_format)
        self._adopt(pending.group)
        return pending.message_bytes

    def process(self, message: bytes) -> tuple[str, Optional[bytes]]:
        try:
            result = self._need_group().process(message)
        except MLSError as e:
            raise PeerError(f"{type(e).__name__}: {e}") from e
        if isinstance(result, StagedCommit):
            self._adopt(result.group)
            return "commit", None
        if isinstance(result, ApplicationMessage):
            return "application", result.data
        assert isinstance(result, ProposalMessage)
        return "proposal", None

    def protect(self, data: bytes) -> bytes:
        return self._need_group().protect_application(data).serialize()

    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        return self._need_group().export_secret(label, context, length)

    def epoch(self) -> int:
        return self._need_group().epoch

    def close(self) -> None:
        if self.group is not None:
            self.group.retire()
            self.group = None
        self._bundles.clear()


def make_ours_peer(suite: int, identity: bytes) -> OursPeer:
    return OursPeer(suite, identity)
