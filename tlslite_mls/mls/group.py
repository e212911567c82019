"""One member's view of an MLS group: the RFC 9420 state machine.

A :class:`Group` is the state of one epoch. Operations that change the epoch
never mutate it: :meth:`Group.commit` returns a :class:`PendingCommit` whose
``group`` is the next epoch (merged only when the caller decides, which the
two-party profile needs: an updater keeps using epoch e until the peer's
marker arrives), and :meth:`Group.process` returns a :class:`StagedCommit`
for a received commit. A rejected message therefore leaves the group exactly
as it was. What does change in place is per-epoch bookkeeping that RFC 9420
itself makes stateful: the secret-tree ratchets and the proposal cache.

When a new epoch is adopted, :meth:`Group.retire` drops every secret of the
old one (section 9.2), except what the caller explicitly derived from it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from .commit import Commit, ProposalOrRef, ProposalOrRefType
from .constants import (MLS10, ContentType, ExtensionType, LeafNodeSource, ProposalType,
                        PSKType, WireFormat)
from .credentials import Credential
from .crypto import CipherSuite, get_cipher_suite
from .errors import (DecodeError, ProtocolError, StateError, UnsupportedError,
                     VerificationError)
from .extensions import Extension, check_unique_extensions, find_extension
from .framing import (AuthenticatedContent, FramedContent, PrivateMessage, PublicMessage,
                      Sender, protect_private, protect_public, sign_framed_content,
                      unprotect_private, unprotect_public)
from .groupconfig import GroupConfig, PSKLookup  # noqa: F401  (public here too)
from .groupcontext import GroupContext
from .groupstate import GroupStateParts, decode_group_state, encode_group_state
from .keypackage import KeyPackage, KeyPackageBundle, validate_key_package
from .keyschedule import (EpochSecrets, derive_epoch_secrets, epoch_secrets_from_joiner,
                          mls_exporter, welcome_secret)
from .leafnode import LeafNode, check_required_capabilities, required_capabilities
from .messages import MLSMessage
from .proposals import (Add, GroupContextExtensions, PreSharedKey, Proposal, Remove, Update,
                        make_proposal_ref)
from .proposal_list import (ResolvedProposal, apply_proposals, needs_path,
                            validate_proposal_list)
from .psk import PreSharedKeyID, psk_secret as compute_psk_secret
from .ratchettree import RatchetTree, validate_leaf_node, validate_tree
from .secrettree import SecretTree
from .transcript import (confirmation_tag, confirmed_transcript_hash,
                         interim_transcript_hash, verify_confirmation_tag)
from .treekem import NewPath, TreePrivateState, create_update_path, decrypt_update_path, \
    merge_update_path
from .welcome import (GroupInfo, GroupSecrets, PathSecret, EncryptedGroupSecrets, Welcome,
                      decrypt_group_info, decrypt_group_secrets, encrypt_group_info,
                      encrypt_group_secrets)

@dataclass(eq=False)
class ApplicationMessage:
    """Application data a member sent, as :meth:`Group.process` returns it: the sender's
    leaf, the plaintext, and the authenticated data that travelled in the clear."""
    sender: int
    data: bytes
    authenticated_data: bytes = b""


@dataclass(eq=False)
class ProposalMessage:
    """A proposal received and cached for the next commit (:meth:`Group.process`);
    ``ref`` is what a commit names it by."""
    sender: int
    proposal: Proposal
    ref: bytes


@dataclass(eq=False)
class StagedCommit:
    """A received commit, validated and applied to a copy: ``group`` is the next epoch."""

    sender: int
    commit: Commit
    group: "Group"
    proposals: list[Proposal]
    message: MLSMessage

    @property
    def epoch(self) -> int:
        """The epoch this commit leads to."""
        return self.group.epoch


@dataclass(eq=False)
class PendingCommit:
    """A commit we created: send ``message`` (and ``welcome``), adopt ``group`` later."""

    message: Optional[MLSMessage]
    group: "Group"
    welcome: Optional[Welcome] = None
    group_info: Optional[GroupInfo] = None

    @property
    def message_bytes(self) -> bytes:
        """The encoded commit message to send; :class:`StateError` if the commit was
        made with ``frame_message=False``."""
        if self.message is None:
            raise StateError("this commit was made without a message to send")
        return self.message.serialize()


@dataclass(eq=False)
class _CachedProposal:
    proposal: Proposal
    sender: int


class Group:
    """The state of one member in one epoch."""

    def __init__(self, cs: CipherSuite, context: GroupContext, tree: RatchetTree,
                 private: TreePrivateState, signature_private: bytes,
                 secrets: EpochSecrets, interim_transcript_hash: bytes,
                 config: GroupConfig, secret_tree: Optional[SecretTree] = None,
                 signer: Optional[object] = None,
                 context_bytes: Optional[bytes] = None) -> None:
        self.cs = cs
        self.context = context
        # ``context_bytes``: the caller serialized ``context`` already (the key
        # schedule needs the encoding too).
        self._context_bytes = context.serialize() if context_bytes is None else context_bytes
        self.tree = tree
        self.private = private
        self._signature_private = signature_private
        self._signer = signer or cs.signature.load_private(signature_private)
        self.secrets = secrets
        self.interim_transcript_hash = interim_transcript_hash
        self.config = config
        if secret_tree is None:
            secret_tree = SecretTree(cs, secrets.encryption_secret, tree.n_leaves,
                                     max_generation_gap=config.max_generation_gap,
                                     out_of_order_window=config.out_of_order_window)
        self.secret_tree = secret_tree
        secrets.drop_derivation_secrets()
        self._proposals: dict[bytes, _CachedProposal] = {}
        self._own_update_keys: dict[bytes, bytes] = {}
        # The GroupInfo a joiner learnt the group from (its extensions carry
        # application data such as the TLS binding); None for other members.
        self.joined_group_info: Optional[GroupInfo] = None
        self._last_confirmation_tag: Optional[bytes] = None
        # Resumption PSKs of past epochs by epoch, at most
        # config.resumption_psk_epochs of them (section 8.6).
        self._past_resumption_psks: dict[int, bytes] = {}
        self.retired = False

    def __repr__(self) -> str:
        return (f"<Group 0x{self.cs.suite_id:04x} epoch {self.epoch} leaf {self.own_leaf} "
                f"of {len(list(self.tree.members()))} members>")

    # --- accessors -------------------------------------------------------------------
    @property
    def group_id(self) -> bytes:
        """The group's id (for the two-party profile: ``b"tls13"`` and 32 random bytes)."""
        return self.context.group_id

    @property
    def epoch(self) -> int:
        """The epoch number of this state."""
        return self.context.epoch

    @property
    def own_leaf(self) -> int:
        """Our leaf index in the ratchet tree."""
        return self.private.leaf_index

    @property
    def own_leaf_node(self) -> LeafNode:
        """Our current LeafNode (credential, signature and encryption keys)."""
        leaf = self.tree.leaf(self.own_leaf)
        assert leaf is not None
        return leaf

    @property
    def extensions(self) -> list[Extension]:
        """The GroupContext extensions every member agreed to (e.g. ``tls_binding``)."""
        return self.context.extensions

    @property
    def epoch_authenticator(self) -> bytes:
        """The epoch authenticator (section 8.7): equal for every member of the epoch,
        so comparing it out of band detects a split view of the group."""
        return self._secret("epoch_authenticator")

    def member_leaf(self, index: int) -> LeafNode:
        """The LeafNode at ``index``; :class:`ProtocolError` if it is blank or out of
        range, so a message from a non-member cannot be attributed."""
        leaf = self.tree.leaf(index) if 0 <= index < self.tree.n_leaves else None
        if leaf is None:
            raise ProtocolError(f"leaf {index} is not a member of the group")
        return leaf

    def members(self) -> list[tuple[int, LeafNode]]:
        """``(leaf index, LeafNode)`` of every current member."""
        return list(self.tree.members())

    def _secret(self, name: str) -> bytes:
        if self.retired:
            raise StateError(f"epoch {self.epoch} was retired; its secrets are gone")
        return self.secrets.require(name)

    def export_secret(self, label: Union[str, bytes], context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (section 8.5)."""
        return mls_exporter(self.cs, self._secret("exporter_secret"), label, context, length)

    def resumption_psk(self, epoch: Optional[int] = None) -> bytes:
        """The resumption PSK of this epoch, or of a past one the group still keeps."""
        value = self._own_resumption_psk(self.epoch if epoch is None else epoch)
        if value is None:
            raise StateError(
                f"no resumption PSK for epoch {epoch}: the group is at epoch {self.epoch} and "
                f"keeps {self.config.resumption_psk_epochs} past epochs "
                f"(GroupConfig.resumption_psk_epochs)")
        return value

    def _own_resumption_psk(self, epoch: int) -> Optional[bytes]:
        if epoch == self.epoch or self.retired:
            return self._secret("resumption_psk")  # refuses once retired
        return self._past_resumption_psks.get(epoch)

    def _kept_resumption_psks(self, next_epoch: int) -> dict[int, bytes]:
        """The past resumption PSKs the epoch ``next_epoch`` keeps: ours included."""
        keep = self.config.resumption_psk_epochs
        kept = dict(self._past_resumption_psks)
        kept[self.epoch] = self._secret("resumption_psk")
        return {e: v for e, v in kept.items() if next_epoch - keep <= e < next_epoch}

    def export_state(self) -> bytes:
        """This epoch's state as bytes, for a store (see :mod:`.groupstate`)."""
        return encode_group_state(GroupStateParts(
            self.cs, self.context, self.tree, self.private, self._signature_private,
            self.secrets, self.interim_transcript_hash, self.secret_tree,
            self._past_resumption_psks, self.retired))

    @classmethod
    def import_state(cls, data: bytes, config: Optional[GroupConfig] = None) -> "Group":
        """A group back from :meth:`export_state` bytes; ``config`` is not stored, so
        the caller gives the one the group should run with now."""
        config = config or GroupConfig()
        parts = decode_group_state(data, config)
        group = cls(parts.cs, parts.context, parts.tree, parts.private,
                    parts.signature_private, parts.secrets, parts.interim_transcript_hash,
                    config, secret_tree=parts.secret_tree)
        group._past_resumption_psks = parts.past_resumption_psks
        return group

    def fork(self) -> "Group":
        """A scratch copy of this epoch: what ``import_state(export_state())`` gives,
        without the codec round trip or reloading the signing key.

        Everything that processing a message or :meth:`retire` changes (the secret
        tree, the secrets, the private keys, the caches) is copied; the tree, the
        context and the configuration are shared, as they are never changed in place.
        """
        new = Group.__new__(Group)
        new.__dict__.update(self.__dict__)
        new.tree = self.tree.copy()
        new.private = self.private.copy()
        new.secrets = dataclasses.replace(self.secrets)
        new.secret_tree = self.secret_tree.copy()
        new._proposals = dict(self._proposals)
        new._own_update_keys = dict(self._own_update_keys)
        new._past_resumption_psks = dict(self._past_resumption_psks)
        return new

    def retire(self) -> None:
        """Drop every secret of this epoch: called once the next epoch is in use."""
        if self.retired:
            return
        self.retired = True
        self.secrets.wipe()
        self.secret_tree.wipe()
        self.private.wipe()
        self._proposals.clear()
        self._own_update_keys.clear()
        self._past_resumption_psks.clear()

    # --- creation --------------------------------------------------------------------
    @classmethod
    def create(cls, bundle: KeyPackageBundle, *, group_id: Optional[bytes] = None,
               extensions: Sequence[Extension] = (),
               config: Optional[GroupConfig] = None) -> "Group":
        """A one-member group at epoch 0 (section 11), with our KeyPackage's leaf.

        The creator's leaf is the KeyPackage's leaf node as is, so the creator
        keeps its encryption key for the peer's first UpdatePath.
        """
        kp = bundle.key_package
        return cls.create_with_leaf(get_cipher_suite(kp.cipher_suite), kp.leaf_node,
                                    bundle.encryption_private, bundle.signature_private,
                                    group_id=group_id, extensions=extensions, config=config)

    @classmethod
    def create_with_leaf(cls, cs: CipherSuite, leaf: LeafNode, encryption_private: bytes,
                         signature_private: bytes, *, group_id: Optional[bytes] = None,
                         extensions: Sequence[Extension] = (),
                         config: Optional[GroupConfig] = None) -> "Group":
        """:meth:`create` from a leaf alone (see ``keypackage.create_leaf_node``)."""
        config = config or GroupConfig()
        check_unique_extensions(extensions, "GroupContext.extensions")
        check_required_capabilities(leaf, required_capabilities(extensions))
        tree = RatchetTree.with_leaf(cs, leaf)
        context = GroupContext(MLS10, cs.suite_id, group_id or os.urandom(32), 0,
                               tree.tree_hash(), b"", list(extensions))
        gc = context.serialize()
        secrets = derive_epoch_secrets(cs, os.urandom(cs.hash_length), None, None, gc)
        tag = confirmation_tag(cs, secrets.confirmation_key, b"")
        interim = interim_transcript_hash(cs, b"", tag)
        # ``leaf`` and ``encryption_private`` come from one create_leaf_node call.
        private = TreePrivateState.for_leaf(cs, 0, encryption_private, leaf.encryption_key)
        return cls(cs, context, tree, private, signature_private, secrets, interim,
                   config)

    # --- framing helpers -------------------------------------------------------------
    def _frame(self, content_type: int, body: object, authenticated_data: bytes,
               wire_format: int) -> AuthenticatedContent:
        content = FramedContent(self.group_id, self.epoch, Sender.member(self.own_leaf),
                                authenticated_data, content_type, body)
        return sign_framed_content(self.cs, wire_format, content, self._signer,
                                   self._context_bytes)

    def _protect(self, auth_content: AuthenticatedContent) -> MLSMessage:
        if auth_content.wire_format == WireFormat.PUBLIC_MESSAGE:
            body: Union[PublicMessage, PrivateMessage] = protect_public(
                self.cs, auth_content, self.context, self._secret("membership_key"))
        else:
            body = protect_private(self.cs, auth_content, self.secret_tree,
                                   self._secret("sender_data_secret"), self.config.padding)
        return MLSMessage.wrap(body)

    def protect_application(self, data: bytes, authenticated_data: bytes = b"") -> MLSMessage:
        """An application message (always a PrivateMessage, section 6.2)."""
        auth_content = self._frame(ContentType.APPLICATION, data, authenticated_data,
                                   WireFormat.PRIVATE_MESSAGE)
        return self._protect(auth_content)

    # --- proposals -------------------------------------------------------------------
    def propose(self, proposal: Proposal, *, authenticated_data: bytes = b"",
                wire_format: Optional[int] = None) -> tuple[MLSMessage, bytes]:
        """Send a proposal; returns the message and its ProposalRef (cached for our commit)."""
        if proposal.proposal_type == ProposalType.UPDATE:
            raise ValueError("use propose_update() for Update proposals")
        return self._send_proposal(proposal, authenticated_data, wire_format)

    def propose_update(self, *, leaf_extensions: Optional[Sequence[Extension]] = None,
                       authenticated_data: bytes = b"",
                       wire_format: Optional[int] = None) -> tuple[MLSMessage, bytes]:
        """An Update proposal with a fresh leaf key; another member must commit it by reference."""
        old = self.own_leaf_node
        priv, pub = self.cs.generate_hpke_key_pair()
        leaf = dataclasses.replace(old, encryption_key=pub,
                                   leaf_node_source=LeafNodeSource.UPDATE, lifetime=None,
                                   parent_hash=None, signature=b"",
                                   extensions=list(old.extensions if leaf_extensions is None
                                                   else leaf_extensions))
        leaf.sign(self.cs, self._signer, self.group_id, self.own_leaf)
        self._own_update_keys[pub] = priv
        return self._send_proposal(Proposal.of(Update(leaf)), authenticated_data, wire_format)

    def _send_proposal(self, proposal: Proposal, authenticated_data: bytes,
                       wire_format: Optional[int]) -> tuple[MLSMessage, bytes]:
        wf = self.config.handshake_wire_format if wire_format is None else wire_format
        auth_content = self._frame(ContentType.PROPOSAL, proposal, authenticated_data, wf)
        ref = make_proposal_ref(self.cs, auth_content)
        self._proposals[ref] = _CachedProposal(proposal, self.own_leaf)
        return self._protect(auth_content), ref

    # --- commit creation -------------------------------------------------------------
    def commit(self, *, proposals: Sequence[Proposal] = (),
               by_reference: Optional[Sequence[bytes]] = None,
               path: Optional[bool] = None,
               authenticated_data: bytes = b"",
               wire_format: Optional[int] = None,
               group_info_extensions: Sequence[Extension] = (),
               leaf_extensions: Optional[Sequence[Extension]] = None,
               frame_message: bool = True,
               ) -> PendingCommit:
        """Create a commit of ``proposals`` (by value) and cached proposals (by reference).

        ``by_reference`` defaults to every cached proposal. ``path`` defaults to
        an UpdatePath whenever one is allowed; a path is forced where section
        12.4 requires one. The returned ``group`` is the next epoch; this group
        stays usable (and unchanged) until the caller adopts it. With
        ``frame_message=False`` the commit is signed (the transcript needs the
        signature) but not protected for sending: for a commit only a Welcome
        reports, as the two-party profile's first one.
        """
        refs = list(self._proposals) if by_reference is None else list(by_reference)
        resolved = [ResolvedProposal(p, self.own_leaf, False) for p in proposals]
        for ref in refs:
            cached = self._proposals.get(ref)
            if cached is None:
                raise StateError(f"no cached proposal with reference {ref.hex()}")
            resolved.append(ResolvedProposal(cached.proposal, cached.sender, True))
        for item in resolved:
            if item.proposal.proposal_type == ProposalType.ADD:
                self._validate_key_package(item.proposal.body.key_package)  # type: ignore
        path_required = needs_path(resolved)
        with_path = path_required if path is None else path
        if path_required and not with_path:
            raise ValueError("this commit needs an UpdatePath (section 12.4)")
        self._validate_proposal_list(resolved, committer=self.own_leaf)

        tree = self.tree.copy()
        extensions, added, psk_ids = apply_proposals(tree, self.extensions, resolved)
        private = self.private.copy()
        private.prune(tree)

        new_path: Optional[NewPath] = None
        update_path = None
        if with_path:
            template = self.own_leaf_node
            if leaf_extensions is not None:
                template = dataclasses.replace(template, extensions=list(leaf_extensions))
            new_path = create_update_path(tree, self.own_leaf, template,
                                          self._signer, self.group_id)
        tree_hash = tree.tree_hash()
        provisional = GroupContext(MLS10, self.cs.suite_id, self.group_id, self.epoch + 1,
                                   tree_hash, self.context.confirmed_transcript_hash,
                                   extensions)
        if new_path is not None:
            update_path = new_path.encrypt(tree, provisional.serialize(),
                                           [index for index, _ in added])
            private = new_path.private_state
            commit_secret: Optional[bytes] = new_path.commit_secret
        else:
            commit_secret = None

        commit = Commit([ProposalOrRef.by_value(p) for p in proposals]
                        + [ProposalOrRef.by_reference(ref) for ref in refs], update_path)
        wf = self.config.handshake_wire_format if wire_format is None else wire_format
        auth_content = self._frame(ContentType.COMMIT, commit, authenticated_data, wf)
        psk = self._psk_secret(psk_ids)
        new_group, joiner_secret = self._next_epoch(
            tree, private, extensions, auth_content, commit_secret, psk, tree_hash)
        auth_content.auth.confirmation_tag = new_group._last_confirmation_tag
        message = self._protect(auth_content) if frame_message else None

        welcome = group_info = None
        if added or group_info_extensions:
            group_info = new_group.group_info(group_info_extensions)
        if added:
            welcome = self._welcome(new_group, group_info, added, joiner_secret, psk,
                                    psk_ids, new_path)
        if new_path is not None:
            new_path.wipe()
        return PendingCommit(message, new_group, welcome, group_info)

    def group_info(self, extensions: Sequence[Extension] = ()) -> GroupInfo:
        """A signed GroupInfo of this epoch (with the ratchet tree if configured)."""
        exts = list(extensions)
        if self.config.ratchet_tree_in_welcome and \
                find_extension(exts, ExtensionType.RATCHET_TREE) is None:
            exts.insert(0, Extension(ExtensionType.RATCHET_TREE, self.tree.to_extension_bytes()))
        check_unique_extensions(exts, "GroupInfo.extensions")
        tag = confirmation_tag(self.cs, self._secret("confirmation_key"),
                               self.context.confirmed_transcript_hash)
        info = GroupInfo(self.context, exts, tag, self.own_leaf, b"")
        info.sign(self.cs, self._signer)
        return info

    def _welcome(self, new_group: "Group", group_info: GroupInfo,
                 added: list[tuple[int, KeyPackage]], joiner_secret: bytes,
                 psk: Optional[bytes], psk_ids: list[PreSharedKeyID],
                 new_path: Optional[NewPath]) -> Welcome:
        cs = self.cs
        encrypted_info = encrypt_group_info(cs, welcome_secret(cs, joiner_secret, psk),
                                            group_info.serialize())
        secrets = []
        for index, kp in added:
            ps = new_path.path_secret_for(index) if new_path is not None else None
            group_secrets = GroupSecrets(joiner_secret,
                                         PathSecret(ps) if ps is not None else None, psk_ids)
            secrets.append(EncryptedGroupSecrets(
                kp.ref(cs), encrypt_group_secrets(cs, kp.init_key, encrypted_info,
                                                  group_secrets)))
        return Welcome(cs.suite_id, secrets, encrypted_info)

    # --- epoch transition (shared by commit creation and processing) -----------------
    def _next_epoch(self, tree: RatchetTree, private: TreePrivateState,
                    extensions: list[Extension], auth_content: AuthenticatedContent,
                    commit_secret: Optional[bytes], psk: Optional[bytes],
                    tree_hash: bytes) -> tuple["Group", bytes]:
        cs = self.cs
        confirmed = confirmed_transcript_hash(cs, self.interim_transcript_hash,
                                              auth_content.confirmed_transcript_hash_input())
        context = GroupContext(MLS10, cs.suite_id, self.group_id, self.epoch + 1, tree_hash,
                               confirmed, extensions)
        context_bytes = context.serialize()
        # No welcome_secret: members never use it (a Welcome derives its own).
        secrets = derive_epoch_secrets(cs, self._secret("init_secret"), commit_secret, psk,
                                       context_bytes, with_welcome=False)
        tag = confirmation_tag(cs, secrets.confirmation_key, confirmed)
        interim = interim_transcript_hash(cs, confirmed, tag)
        joiner = secrets.joiner_secret
        assert joiner is not None
        group = Group(cs, context, tree, private, self._signature_private, secrets, interim,
                      self.config, signer=self._signer, context_bytes=context_bytes)
        group._last_confirmation_tag = tag
        group._past_resumption_psks = self._kept_resumption_psks(context.epoch)
        return group, joiner

    def _psk_secret(self, psk_ids: list[PreSharedKeyID]) -> Optional[bytes]:
        if not psk_ids:
            return None
        return compute_psk_secret(self.cs, [(psk_id, self._find_psk(psk_id))
                                            for psk_id in psk_ids])

    def _find_psk(self, psk_id: PreSharedKeyID) -> bytes:
        """A PSK a commit names: this group's resumption PSKs first, then ``psk_lookup``."""
        ours = psk_id.psktype == PSKType.RESUMPTION and psk_id.psk_group_id == self.group_id
        if ours:
            own = self._own_resumption_psk(psk_id.psk_epoch)
            if own is not None:
                return own
        lookup = self.config.psk_lookup
        value = lookup(psk_id) if lookup is not None else None
        if value is None:
            if ours:
                raise UnsupportedError(
                    f"a PreSharedKey proposal names the resumption PSK of epoch "
                    f"{psk_id.psk_epoch}, which this member does not keep (epoch {self.epoch}, "
                    f"{self.config.resumption_psk_epochs} past epochs kept)")
            raise UnsupportedError("a PreSharedKey proposal names a PSK this member "
                                   "does not have")
        return value

    # --- proposal validation and application -----------------------------------------
    def _validate_key_package(self, kp: KeyPackage) -> None:
        validate_key_package(
            kp, cipher_suite=self.cs.suite_id, now=int(self.config.clock()),
            required=required_capabilities(self.extensions),
            credential_types_in_use={leaf.credential.credential_type
                                     for _, leaf in self.tree.members()},
            policy=self.config.policy)

    def _validate_proposal_list(self, resolved: list[ResolvedProposal], committer: int) -> None:
        validate_proposal_list(self.cs, self.tree, resolved, committer)

    # --- receiving -------------------------------------------------------------------
    def _signature_key_of(self, content: FramedContent) -> bytes:
        sender = content.sender
        if not sender.is_member:
            raise ProtocolError("only members may send to this group")
        return self.member_leaf(sender.index).signature_key

    def unprotect(self, message: MLSMessage) -> AuthenticatedContent:
        """Authenticate a Public/PrivateMessage of the current epoch."""
        if self.retired:
            raise StateError(f"epoch {self.epoch} was retired")
        body = message.body
        if message.wire_format == WireFormat.PUBLIC_MESSAGE:
            return unprotect_public(self.cs, body, self.context,  # type: ignore[arg-type]
                                    self._secret("membership_key"), self._signature_key_of)
        if message.wire_format == WireFormat.PRIVATE_MESSAGE:
            return unprotect_private(self.cs, body, self.context,  # type: ignore[arg-type]
                                     self.secret_tree, self._secret("sender_data_secret"),
                                     self._signature_key_of, self._context_bytes)
        raise ProtocolError(f"wire format {message.wire_format} is not a group message")

    def process(self, message: Union[bytes, MLSMessage]
                ) -> Union[ApplicationMessage, ProposalMessage, StagedCommit]:
        """Process a received message. A commit is returned staged, not applied."""
        if isinstance(message, (bytes, bytearray)):
            message = MLSMessage.deserialize(bytes(message))
        auth_content = self.unprotect(message)
        content = auth_content.content
        sender = content.sender.index
        if content.content_type == ContentType.APPLICATION:
            return ApplicationMessage(sender, content.application_data,  # type: ignore
                                      content.authenticated_data)
        if sender == self.own_leaf:
            raise StateError("this is our own message; merge the pending commit instead")
        if content.content_type == ContentType.PROPOSAL:
            proposal = content.proposal
            assert proposal is not None
            self._check_received_proposal(proposal, sender)
            ref = make_proposal_ref(self.cs, auth_content)
            self._proposals[ref] = _CachedProposal(proposal, sender)
            return ProposalMessage(sender, proposal, ref)
        return self._stage_commit(auth_content, message)

    def _check_received_proposal(self, proposal: Proposal, sender: int) -> None:
        t = proposal.proposal_type
        if t == ProposalType.ADD:
            self._validate_key_package(proposal.body.key_package)  # type: ignore[union-attr]
        elif t == ProposalType.UPDATE:
            leaf = proposal.body.leaf_node  # type: ignore[union-attr]
            validate_leaf_node(self.cs, leaf, self.tree, policy=self.config.policy,
                               group_id=self.group_id, leaf_index=sender,
                               expected_source=LeafNodeSource.UPDATE,
                               group_extensions=self.extensions,
                               previous=self.member_leaf(sender).credential)
            if leaf.encryption_key == self.member_leaf(sender).encryption_key:
                raise ProtocolError("Update proposal keeps the old encryption key")
        elif t == ProposalType.REMOVE:
            target = proposal.body.removed  # type: ignore[union-attr]
            self.member_leaf(target)
        elif t in (ProposalType.REINIT, ProposalType.EXTERNAL_INIT):
            raise UnsupportedError(f"proposal type 0x{t:04x} is not supported")

    def _stage_commit(self, auth_content: AuthenticatedContent,
                      message: MLSMessage) -> StagedCommit:
        content = auth_content.content
        committer = content.sender.index
        commit = content.commit
        assert commit is not None
        if auth_content.auth.confirmation_tag is None:
            raise ProtocolError("commit without a confirmation tag")
        resolved: list[ResolvedProposal] = []
        for por in commit.proposals:
            if por.type == ProposalOrRefType.PROPOSAL:
                assert por.proposal is not None
                self._check_received_proposal(por.proposal, committer)
                resolved.append(ResolvedProposal(por.proposal, committer, False))
            else:
                cached = self._proposals.get(por.reference)  # type: ignore[arg-type]
                if cached is None:
                    raise ProtocolError("commit references an unknown proposal")
                resolved.append(ResolvedProposal(cached.proposal, cached.sender, True))
        self._validate_proposal_list(resolved, committer)
        path_required = needs_path(resolved)
        if path_required and commit.path is None:
            raise ProtocolError("commit lacks the UpdatePath its proposals require")

        tree = self.tree.copy()
        extensions, added, psk_ids = apply_proposals(tree, self.extensions, resolved)
        private = self.private.copy()
        # Our own Update committed by the peer: take its private key.
        for r in resolved:
            if r.proposal.proposal_type == ProposalType.UPDATE and r.sender == self.own_leaf:
                key = r.proposal.body.leaf_node.encryption_key  # type: ignore[union-attr]
                own = self._own_update_keys.get(key)
                if own is None:
                    raise StateError("commit applies an Update of ours we no longer hold")
                private = TreePrivateState.for_leaf(self.cs, self.own_leaf, own)
        if self.tree.leaf(self.own_leaf) is not None and tree.leaf(self.own_leaf) is None:
            raise StateError("this commit removes us from the group")
        private.prune(tree)

        commit_secret = None
        if commit.path is not None:
            merge_update_path(tree, committer, commit.path, self.group_id,
                              policy=self.config.policy, group_extensions=extensions)
            provisional = GroupContext(MLS10, self.cs.suite_id, self.group_id, self.epoch + 1,
                                       tree.tree_hash(), self.context.confirmed_transcript_hash,
                                       extensions)
            decrypted = decrypt_update_path(tree, private, committer, commit.path,
                                            provisional.serialize(),
                                            [index for index, _ in added])
            private = decrypted.private_state
            commit_secret = decrypted.commit_secret
        psk = self._psk_secret(psk_ids)
        new_group, _ = self._next_epoch(tree, private, extensions, auth_content,
                                        commit_secret, psk, tree.tree_hash())
        if not verify_confirmation_tag(self.cs, new_group.secrets.confirmation_key,
                                       new_group.context.confirmed_transcript_hash,
                                       auth_content.auth.confirmation_tag):
            new_group.retire()
            raise VerificationError("bad confirmation tag on the commit")
        return StagedCommit(committer, commit, new_group, [r.proposal for r in resolved],
                            message)

    # --- joining ---------------------------------------------------------------------
    @classmethod
    def join(cls, welcome: Union[Welcome, bytes], bundle: KeyPackageBundle, *,
             ratchet_tree: Optional[RatchetTree] = None,
             config: Optional[GroupConfig] = None) -> "Group":
        """Join from a Welcome (section 12.4.3.1) with the KeyPackage it was made for."""
        config = config or GroupConfig()
        if isinstance(welcome, (bytes, bytearray)):
            welcome = Welcome.deserialize(bytes(welcome))
        kp = bundle.key_package
        if welcome.cipher_suite != kp.cipher_suite:
            raise ProtocolError("Welcome cipher suite differs from our KeyPackage's")
        cs = get_cipher_suite(kp.cipher_suite)
        group_secrets = decrypt_group_secrets(cs, bundle.init_private, welcome, kp.ref(cs))
        psk = None
        if group_secrets.psks:
            lookup = config.psk_lookup
            values = []
            for psk_id in group_secrets.psks:
                value = lookup(psk_id) if lookup is not None else None
                if value is None:
                    raise UnsupportedError("Welcome needs a PSK this member does not have")
                values.append((psk_id, value))
            psk = compute_psk_secret(cs, values)
        w_secret = welcome_secret(cs, group_secrets.joiner_secret, psk)
        info = decrypt_group_info(cs, w_secret, welcome.encrypted_group_info)
        context = info.group_context
        if context.version != MLS10 or context.cipher_suite != cs.suite_id:
            raise ProtocolError("GroupInfo version or cipher suite differs from the Welcome's")
        check_unique_extensions(info.extensions, "GroupInfo.extensions")
        tree_ext = find_extension(info.extensions, ExtensionType.RATCHET_TREE)
        if tree_ext is not None:
            tree = RatchetTree.from_extension_bytes(cs, tree_ext.extension_data)
        elif ratchet_tree is not None:
            tree = ratchet_tree.copy()
        else:
            raise ProtocolError("Welcome has no ratchet_tree extension and no tree was given")
        signer = tree.leaf(info.signer) if info.signer < tree.n_leaves else None
        if signer is None:
            raise ProtocolError("GroupInfo signer is not a member")
        if not info.verify_signature(cs, signer.signature_key):
            raise VerificationError("invalid GroupInfo signature")
        validate_tree(tree, context.group_id, policy=config.policy, known_valid=kp.leaf_node,
                      tree_hash=context.tree_hash, group_extensions=context.extensions,
                      now=None)
        own = tree.find_leaf(lambda leaf: leaf == kp.leaf_node)
        if own is None:
            raise ProtocolError("our KeyPackage's leaf is not in the Welcome's tree")
        path_secret = group_secrets.path_secret.path_secret if group_secrets.path_secret else None
        # The bundle's leaf key pair was generated together: its public half is the
        # KeyPackage leaf's, which the tree's leaf was just found identical to.
        private = TreePrivateState.for_joiner(cs, tree, own, bundle.encryption_private,
                                              info.signer, path_secret,
                                              kp.leaf_node.encryption_key)
        secrets = epoch_secrets_from_joiner(cs, group_secrets.joiner_secret, psk,
                                            context.serialize())
        if not verify_confirmation_tag(cs, secrets.confirmation_key,
                                       context.confirmed_transcript_hash,
                                       info.confirmation_tag):
            raise VerificationError("bad confirmation tag in the Welcome's GroupInfo")
        interim = interim_transcript_hash(cs, context.confirmed_transcript_hash,
                                          info.confirmation_tag)
        group = cls(cs, context, tree, private, bundle.signature_private, secrets, interim,
                    config)
        group.joined_group_info = info
        return group
