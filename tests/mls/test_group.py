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
    assert a._signature_private.hex() not in repr(a) and data[:2] == b"\x00\x01"
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
