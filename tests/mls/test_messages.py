"""messages.json: every RFC 9420 message struct decodes and re-encodes byte for byte."""

from __future__ import annotations

import dataclasses

import pytest

from tlslite_mls.mls.commit import Commit, ProposalOrRef, ProposalOrRefType
from tlslite_mls.mls.constants import MLS10, ContentType, WireFormat
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import DecodeError
from tlslite_mls.mls.framing import FramedContent, PrivateMessage, PublicMessage
from tlslite_mls.mls.keypackage import KeyPackage
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.proposals import (Add, ExternalInit, GroupContextExtensions,
                                       PreSharedKey, Proposal, ReInit, Remove, Update)
from tlslite_mls.mls.ratchettree import RatchetTree
from tlslite_mls.mls.welcome import GroupInfo, GroupSecrets, Welcome
from helpers import h, load_vectors, run_vector, vector_cases

FILE = "messages.json"

# field -> (decoder, expected wire format for MLSMessage-wrapped fields)
MLS_MESSAGES = {
    "mls_welcome": (WireFormat.WELCOME, Welcome),
    "mls_group_info": (WireFormat.GROUP_INFO, GroupInfo),
    "mls_key_package": (WireFormat.KEY_PACKAGE, KeyPackage),
    "public_message_application": (WireFormat.PUBLIC_MESSAGE, PublicMessage),
    "public_message_proposal": (WireFormat.PUBLIC_MESSAGE, PublicMessage),
    "public_message_commit": (WireFormat.PUBLIC_MESSAGE, PublicMessage),
    "private_message": (WireFormat.PRIVATE_MESSAGE, PrivateMessage),
}
PUBLIC_CONTENT_TYPES = {
    "public_message_application": ContentType.APPLICATION,
    "public_message_proposal": ContentType.PROPOSAL,
    "public_message_commit": ContentType.COMMIT,
}
BARE_STRUCTS = {
    "group_secrets": GroupSecrets,
    "add_proposal": Add,
    "update_proposal": Update,
    "remove_proposal": Remove,
    "pre_shared_key_proposal": PreSharedKey,
    "re_init_proposal": ReInit,
    "external_init_proposal": ExternalInit,
    "group_context_extensions_proposal": GroupContextExtensions,
    "commit": Commit,
}


def _check(v):
    for name, (wire_format, cls) in MLS_MESSAGES.items():
        data = h(v[name])
        msg = MLSMessage.deserialize(data)
        assert msg.version == MLS10 and msg.wire_format == wire_format, name
        assert isinstance(msg.body, cls), name
        assert msg.serialize() == data, name
        # Re-encoding from a freshly built value, not from cached bytes.
        assert MLSMessage.wrap(msg.body).serialize() == data, name
        if name in PUBLIC_CONTENT_TYPES:
            assert msg.body.content.content_type == PUBLIC_CONTENT_TYPES[name]
            assert (msg.body.membership_tag is not None) == msg.body.content.sender.is_member
    for name, cls in BARE_STRUCTS.items():
        data = h(v[name])
        value = cls.deserialize(data)
        assert value.serialize() == data, name
        if cls in (Add, Update, Remove, PreSharedKey, ReInit, ExternalInit,
                   GroupContextExtensions):
            # ... and wrapped as a Proposal it round-trips with its type in front.
            prop = Proposal.of(value)
            wire = prop.serialize()
            assert wire == int(cls.PROPOSAL_TYPE).to_bytes(2, "big") + data
            assert Proposal.deserialize(wire) == prop
    tree = h(v["ratchet_tree"])
    # The ratchet_tree encoding does not depend on the cipher suite.
    assert RatchetTree.from_extension_bytes(get_cipher_suite(1), tree).to_extension_bytes() == tree


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_messages(vector):
    run_vector(FILE, vector, _check)


def test_framed_content_encoded_bytes_are_kept():
    """A decoded message re-encodes from its original bytes (no re-serialization)."""
    v = load_vectors(FILE)[0]
    msg = MLSMessage.deserialize(h(v["public_message_commit"]))
    content = msg.body.content
    assert content._encoded is not None
    assert h(v["public_message_commit"])[4:].startswith(content.encoded())
    # A changed copy does not inherit the cached bytes.
    moved = dataclasses.replace(content, epoch=content.epoch + 1)
    assert moved.encoded() != content.encoded()
    assert FramedContent.deserialize(moved.encoded()) == moved


def test_truncated_structs_raise_decode_error():
    v = load_vectors(FILE)[1]
    for name in list(MLS_MESSAGES) + list(BARE_STRUCTS):
        data = h(v[name])
        cls = MLSMessage if name in MLS_MESSAGES else BARE_STRUCTS[name]
        # every prefix up to 300 bytes, then a stride through the rest
        cuts = list(range(min(len(data), 300))) + list(range(300, len(data), 37))
        for n in cuts:
            with pytest.raises(DecodeError):
                cls.deserialize(data[:n])


def test_proposal_or_ref():
    ref = ProposalOrRef.by_reference(b"\x11" * 32)
    assert ProposalOrRef.deserialize(ref.serialize()) == ref
    assert ref.serialize()[0] == ProposalOrRefType.REFERENCE
    val = ProposalOrRef.by_value(Proposal.of(Remove(4)))
    assert ProposalOrRef.deserialize(val.serialize()) == val
    with pytest.raises(DecodeError, match="ProposalOrRefType"):
        ProposalOrRef.deserialize(b"\x03")
    with pytest.raises(ValueError):
        ProposalOrRef(ProposalOrRefType.PROPOSAL, reference=b"x")
    c = Commit([val, ref], None)
    assert Commit.deserialize(c.serialize()) == c


def test_proposal_type_must_match_body():
    with pytest.raises(ValueError):
        Proposal(1, Remove(0))
    with pytest.raises(DecodeError) as e:
        Proposal.deserialize(b"\x00\x03\x00\x00")
    assert "Remove" in str(e.value)


def test_mls_message_wrap_checks_body():
    with pytest.raises(ValueError):
        MLSMessage(MLS10, WireFormat.WELCOME, Remove(1))
    with pytest.raises(ValueError):
        MLSMessage.wrap(Remove(1))
