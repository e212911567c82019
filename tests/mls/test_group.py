"""Groups end to end: create, add, join, commits with paths, proposals, application data."""

from __future__ import annotations

import pytest

from tlslite_mls.mls.constants import WireFormat
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites
from tlslite_mls.mls.errors import (DecodeError, MLSError, ProtocolError, StateError,
                                    VerificationError)
from tlslite_mls.mls.group import Group, GroupConfig, StagedCommit
from tlslite_mls.mls.keypackage import create_key_package
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.proposals import Add, Proposal, Remove

LABEL = "TLS shared secret"


def member(cs, name):
    priv, _ = cs.generate_signature_key_pair()
    return create_key_package(cs, Credential.basic(name), priv)


def exporters_equal(*groups):
    values = {g.export_secret(LABEL, b"", 32) for g in groups}
    return len(values) == 1


def two_party(suite=1, wire_format=WireFormat.PRIVATE_MESSAGE):
    cs = get_cipher_suite(suite)
    cfg = GroupConfig(handshake_wire_format=wire_format)
    alice = Group.create(member(cs, b"alice"), config=cfg)
    bob_kp = member(cs, b"bob")
    pending = alice.commit(proposals=[Proposal.of(Add(bob_kp.key_package))], path=False)
    bob = Group.join(pending.welcome.serialize(), bob_kp, config=cfg)
    alice.retire()
    return pending.group, bob


def step(sender, receiver, **kw):
    pending = sender.commit(**kw)
    staged = receiver.process(pending.message_bytes)
    assert isinstance(staged, StagedCommit)
    sender.retire()
    receiver.retire()
    return pending.group, staged.group


@pytest.mark.parametrize("wire_format", [WireFormat.PUBLIC_MESSAGE, WireFormat.PRIVATE_MESSAGE])
@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_two_party_epochs(suite, wire_format):
    a, b = two_party(suite, wire_format)
    assert a.epoch == b.epoch == 1 and exporters_equal(a, b)
    for i in range(3):
        b, a = step(b, a)
        assert exporters_equal(a, b)
        a, b = step(a, b)
        assert exporters_equal(a, b)
        assert a.epoch == b.epoch == 3 + 2 * i
    for sender, receiver in ((a, b), (b, a)):
        msg = sender.protect_application(b"ping %d" % sender.own_leaf, b"aad")
        got = receiver.process(msg.serialize())
        assert got.data == b"ping %d" % sender.own_leaf and got.authenticated_data == b"aad"


def test_retired_epoch_has_no_secrets():
    a, b = two_party()
    new_b, new_a = step(b, a)
    with pytest.raises(StateError):
        a.export_secret(LABEL, b"", 32)
    assert a.secrets.wiped and "exporter" not in repr(a.secrets).lower().replace("exporter_secret=<", "")


def test_tampered_commit_leaves_state_untouched():
    a, b = two_party()
    before = a.export_secret(LABEL, b"", 32)
    pending = b.commit(wire_format=WireFormat.PUBLIC_MESSAGE)
    raw = bytearray(pending.message_bytes)
    raw[-5] ^= 1
    with pytest.raises((VerificationError, DecodeError)):
        a.process(bytes(raw))
    assert a.epoch == 1 and a.export_secret(LABEL, b"", 32) == before
    staged = a.process(pending.message_bytes)  # the genuine one still works
    assert staged.epoch == 2


def test_replayed_and_wrong_epoch_commits():
    a, b = two_party()
    pending = b.commit()
    a2 = a.process(pending.message_bytes).group
    with pytest.raises(ProtocolError):
        a2.process(pending.message_bytes)  # epoch 1 message in epoch 2
    with pytest.raises(ProtocolError):
        a.process(pending.message_bytes)  # generation already used


def test_own_commit_is_not_processed():
    a, b = two_party(wire_format=WireFormat.PUBLIC_MESSAGE)
    pending = a.commit()
    with pytest.raises(StateError):
        a.process(pending.message_bytes)


def test_update_by_reference_and_committers_own_update_refused():
    a, b = two_party()
    msg, ref = b.propose_update()
    got = a.process(msg.serialize())
    assert got.ref == ref
    pending = a.commit(by_reference=[ref])
    staged = b.process(pending.message_bytes)
    assert exporters_equal(pending.group, staged.group)
    # b's new leaf key is the one it proposed
    assert staged.group.own_leaf_node == got.proposal.body.leaf_node
    # a commit carrying the committer's own Update is refused
    msg, ref = b.propose_update()
    with pytest.raises(ProtocolError, match="own Update"):
        b.commit(by_reference=[ref])


def test_three_members_add_and_remove():
    cs = get_cipher_suite(1)
    a, b = two_party()
    c_kp = member(cs, b"carol")
    pending = a.commit(proposals=[Proposal.of(Add(c_kp.key_package))])
    b = b.process(pending.message_bytes).group
    c = Group.join(pending.welcome, c_kp)
    a = pending.group
    assert exporters_equal(a, b, c) and len(a.members()) == 3
    pending = c.commit()
    a, b, c = (a.process(pending.message_bytes).group, b.process(pending.message_bytes).group,
               pending.group)
    assert exporters_equal(a, b, c)
    pending = b.commit(proposals=[Proposal.of(Remove(a.own_leaf))])
    c = c.process(pending.message_bytes).group
    b = pending.group
    assert exporters_equal(b, c) and len(c.members()) == 2
    with pytest.raises(StateError, match="removes us"):
        a.process(pending.message_bytes)
    with pytest.raises(ProtocolError, match="committer"):
        b.commit(proposals=[Proposal.of(Remove(b.own_leaf))])


def test_duplicate_add_refused():
    cs = get_cipher_suite(1)
    a, b = two_party()
    c_kp = member(cs, b"carol")
    with pytest.raises(ProtocolError):
        a.commit(proposals=[Proposal.of(Add(c_kp.key_package))] * 2)
    bob_again = create_key_package(cs, Credential.basic(b"bob"), b._signature_private)
    with pytest.raises(ProtocolError, match="already a member"):
        a.commit(proposals=[Proposal.of(Add(bob_again.key_package))])


def test_welcome_for_someone_else():
    cs = get_cipher_suite(1)
    a = Group.create(member(cs, b"alice"))
    bob_kp, eve_kp = member(cs, b"bob"), member(cs, b"eve")
    pending = a.commit(proposals=[Proposal.of(Add(bob_kp.key_package))])
    with pytest.raises(ProtocolError):
        Group.join(pending.welcome, eve_kp)
    raw = bytearray(pending.welcome.serialize())
    raw[-3] ^= 0x40
    with pytest.raises(MLSError):
        Group.join(bytes(raw), bob_kp)


def test_garbage_messages_raise_typed_errors():
    a, b = two_party()
    for data in (b"", b"\x00\x01", b"\x00\x01\x00\x02" + b"\xff" * 40, bytes(300)):
        with pytest.raises(MLSError):
            a.process(data)
    with pytest.raises(ProtocolError):
        a.process(MLSMessage.wrap(member(get_cipher_suite(1), b"x").key_package))


@pytest.mark.parametrize("suite", supported_cipher_suites())
def test_state_export_import_continues_the_group(suite):
    a, b = two_party(suite)
    b, a = step(b, a)
    a.protect_application(b"advance a's ratchet")
    data = a.export_state()
    assert a._signature_private.hex() not in repr(a) and data[:2] == b"\x00\x02"
    a2 = Group.import_state(data)
    assert a2.epoch == a.epoch and exporters_equal(a2, b)
    pending = a2.commit()
    b3 = b.process(pending.message_bytes).group
    assert exporters_equal(pending.group, b3)
    msg = a2.protect_application(b"after restore")
    assert b.process(msg.serialize()).data == b"after restore"


def test_state_of_unknown_version_refused():
    from tlslite_mls.mls.errors import UnsupportedError
    a, _ = two_party()
    data = a.export_state()
    with pytest.raises(UnsupportedError, match="version 7"):
        Group.import_state(b"\x00\x07" + data[2:])
    with pytest.raises(MLSError):
        Group.import_state(data[:-10])


def test_damaged_private_message_does_not_burn_the_key():
    a, b = two_party()
    pending = b.commit(wire_format=WireFormat.PRIVATE_MESSAGE)
    raw = bytearray(pending.message_bytes)
    raw[-20] ^= 0x01  # in the content ciphertext, past the sender-data sample
    with pytest.raises(VerificationError):
        a.process(bytes(raw))
    staged = a.process(pending.message_bytes)
    assert exporters_equal(staged.group, pending.group)
    msg = b.protect_application(b"x")
    bad = bytearray(msg.serialize())
    bad[-20] ^= 0x01
    with pytest.raises(VerificationError):
        a.process(bytes(bad))
    assert a.process(msg.serialize()).data == b"x"


def _resumption_psk(group, epoch, usage=1):
    from tlslite_mls.mls.constants import PSKType
    from tlslite_mls.mls.proposals import PreSharedKey
    from tlslite_mls.mls.psk import PreSharedKeyID
    psk_id = PreSharedKeyID(PSKType.RESUMPTION, bytes([epoch]) * group.cs.hash_length,
                            usage=usage, psk_group_id=group.group_id, psk_epoch=epoch)
    return Proposal.of(PreSharedKey(psk_id))


def test_commit_with_resumption_psk_of_a_past_epoch():
    """Section 8.6: a PreSharedKey proposal may name an earlier epoch of the group."""
    a, b = two_party()
    b, a = step(b, a)
    a, b = step(a, b)
    assert a.epoch == 3
    for epoch in (1, 2, 3):
        a, b = step(a, b, proposals=[_resumption_psk(a, epoch)])
        assert exporters_equal(a, b)
    b, a = step(b, a, proposals=[_resumption_psk(b, 2), _resumption_psk(b, 5)])
    assert exporters_equal(a, b) and a.epoch == 7


def test_resumption_psks_kept_for_a_bounded_number_of_epochs():
    from tlslite_mls.mls.errors import UnsupportedError
    a, b = two_party()
    a.config = b.config = GroupConfig(resumption_psk_epochs=2)
    first = a.resumption_psk()
    assert a.resumption_psk(a.epoch) == first
    nxt, b = step(a, b)
    assert nxt.resumption_psk(1) == first and nxt.resumption_psk(2) != first
    a = nxt
    for _ in range(3):
        a, b = step(a, b)
    assert a.epoch == 5 and sorted(a._past_resumption_psks) == [3, 4]
    with pytest.raises(StateError, match="resumption_psk_epochs"):
        a.resumption_psk(2)
    with pytest.raises(UnsupportedError, match="epoch 2"):
        a.commit(proposals=[_resumption_psk(a, 2)])
    # The kept PSKs survive a store round trip, and a retired epoch forgets them.
    restored = Group.import_state(a.export_state(), a.config)
    assert restored.resumption_psk(3) == a.resumption_psk(3)
    a, b = step(a, b, proposals=[_resumption_psk(a, 4)])
    with pytest.raises(StateError):
        restored.retire() or restored.resumption_psk(3)
    with pytest.raises(ValueError, match="resumption_psk_epochs"):
        GroupConfig(resumption_psk_epochs=-1)


def test_resumption_psk_for_reinit_or_branch_refused_in_a_commit():
    """Section 8.6: usage reinit and branch are only for ReInit and branching."""
    a, b = two_party()
    for usage in (2, 3):
        with pytest.raises(ProtocolError, match="reinit or branch"):
            a.commit(proposals=[_resumption_psk(a, 1, usage)])
    # A peer that does not check: its commit is refused on receipt.
    b._validate_proposal_list = lambda *args, **kw: None
    forged = b.commit(proposals=[_resumption_psk(b, 1, 2)])
    with pytest.raises(ProtocolError, match="reinit or branch"):
        a.process(forged.message_bytes)


def test_state_of_version_1_still_read():
    """Version 1 states (before past resumption PSKs were kept) load with none kept."""
    a, b = two_party()
    data = b.export_state()  # b joined at epoch 1: no past epochs
    assert data.endswith(b"\x00")  # an empty list of past resumption PSKs
    old = Group.import_state(b"\x00\x01" + data[2:-1])
    assert old.epoch == b.epoch and exporters_equal(old, a) and not old._past_resumption_psks


def test_fork_is_an_independent_scratch_copy():
    """Group.fork: processing and retiring the copy leaves the original as it was (the
    PrivateMessage consumes a secret-tree key of the copy only), and the copy reaches
    the epoch an export/import copy reaches."""
    a, b = two_party()
    pending = b.commit()
    before = a.export_state()
    scratch = a.fork()
    staged = scratch.process(pending.message_bytes)
    via_codec = Group.import_state(before, a.config).process(pending.message_bytes)
    assert staged.group.export_state() == via_codec.group.export_state()
    scratch.retire()
    assert scratch.secrets.wiped and not a.secrets.wiped
    assert a.export_state() == before
    assert a.process(pending.message_bytes).epoch == 2  # the key is still unused here


# --- an epoch change does no work twice (and skips none it must do) ----------------

def test_received_leaf_keeps_its_content_bytes_equal_to_a_fresh_encoding():
    """LeafNode.read keeps the bytes it decoded as the content encoding (signature
    check, tree hash); they must be exactly what encoding the values gives."""
    import dataclasses

    from tlslite_mls.mls.codec import Writer
    from tlslite_mls.mls.leafnode import LeafNode
    a, b = two_party()
    pending = a.commit()
    leaf = pending.group.own_leaf_node
    decoded = LeafNode.deserialize(leaf.serialize())
    fresh = Writer()
    dataclasses.replace(decoded)._encode_content(fresh)
    assert decoded.__dict__["_content"] == bytes(fresh.buf)
    assert decoded.serialize() == leaf.serialize()
    # Changing a field still drops the kept bytes; setting the signature does not.
    decoded.signature = b"x"
    assert decoded.__dict__["_content"] == bytes(fresh.buf)
    decoded.encryption_key = bytes(32)
    assert decoded.__dict__["_content"] is None


def test_received_commit_content_reuses_its_body_bytes_and_encodes_the_same():
    """A PrivateMessage's content is rebuilt from its plaintext; its encoding (what
    the signature covers) reuses the body bytes and must equal a fresh encoding."""
    from tlslite_mls.mls.framing import FramedContent
    a, b = two_party()
    pending = a.commit()
    got = b.fork().unprotect(MLSMessage.deserialize(pending.message_bytes)).content
    assert got._encoded is not None  # set from the plaintext, not encoded afresh
    fresh = FramedContent(got.group_id, got.epoch, got.sender, got.authenticated_data,
                          got.content_type, got.body)
    assert got.encoded() == fresh.encoded()
    assert got.body_bytes() == got.body.serialize()


def test_update_path_leaf_with_a_new_bad_signature_key_is_still_refused():
    """The point check is skipped only for the signature key the tree already holds."""
    import dataclasses

    from tlslite_mls.mls.errors import InvalidKeyError
    a, b = two_party()
    forged = a.fork()
    own = forged.own_leaf
    forged.tree.set_leaf(own, dataclasses.replace(forged.tree.leaf(own),
                                                  signature_key=bytes(32)))
    pending = forged.commit()
    with pytest.raises(InvalidKeyError, match="signature_key"):
        b.fork().process(pending.message_bytes)


def test_unchanged_signature_key_is_not_point_checked_again(monkeypatch):
    a, b = two_party()
    cs = a.cs
    checked = []
    original = type(cs).check_signature_public_key

    def counting(self, key, where=""):
        checked.append(bytes(key))
        return original(self, key, where)
    monkeypatch.setattr(type(cs), "check_signature_public_key", counting)
    pending = a.commit()
    staged = b.fork().process(pending.message_bytes)
    assert isinstance(staged, StagedCommit)
    assert a.own_leaf_node.signature_key not in checked
