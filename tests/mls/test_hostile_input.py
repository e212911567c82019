"""Hostile bytes against the public entry points: only typed MLS errors come out.

Valid messages are mutated (bit flips, truncation, insertion, splicing) and fed to
the decoders and to a group; whatever happens, the only exceptions allowed are
subclasses of MLSError, and a rejected message leaves the group unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tlslite_mls.mls.constants import WireFormat
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import MLSError
from tlslite_mls.mls.group import Group, GroupConfig
from tlslite_mls.mls.keypackage import KeyPackage, create_key_package
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.proposals import Add, Proposal
from tlslite_mls.mls.welcome import Welcome

CS = get_cipher_suite(1)
LABEL = "TLS shared secret"


def _member(name):
    priv, _ = CS.generate_signature_key_pair()
    return create_key_package(CS, Credential.basic(name), priv)


def _setup():
    alice = Group.create(_member(b"alice"))
    bob_kp = _member(b"bob")
    pending = alice.commit(proposals=[Proposal.of(Add(bob_kp.key_package))], path=False)
    bob = Group.join(pending.welcome, bob_kp)
    return pending.group, bob, bob_kp, pending.welcome.serialize()


ALICE, BOB, BOB_KP, WELCOME = _setup()
SAMPLES = {
    "public": BOB.commit(wire_format=WireFormat.PUBLIC_MESSAGE).message_bytes,
    "private": BOB.commit(wire_format=WireFormat.PRIVATE_MESSAGE).message_bytes,
    "application": BOB.protect_application(b"hello").serialize(),
}


def mutate(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "splice", "set"]))
    pos = draw(st.integers(0, max(0, len(data) - 1)))
    if kind == "flip":
        b = bytearray(data)
        b[pos] ^= 1 << draw(st.integers(0, 7))
        return bytes(b)
    if kind == "truncate":
        return data[:pos]
    if kind == "insert":
        return data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:]
    if kind == "set":
        b = bytearray(data)
        b[pos] = draw(st.sampled_from([0x00, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF]))
        return bytes(b)
    other = draw(st.sampled_from(sorted(SAMPLES.values())))
    return data[:pos] + other[pos:]


FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_group_process_only_raises_mls_errors(which, data):
    bad = mutate(SAMPLES[which], data.draw)
    before = ALICE.export_secret(LABEL, b"", 32)
    try:
        ALICE.process(bad)
    except MLSError:
        pass
    assert ALICE.epoch == 1 and ALICE.export_secret(LABEL, b"", 32) == before


@FAST
@given(st.data())
def test_join_only_raises_mls_errors(data):
    bad = mutate(WELCOME, data.draw)
    try:
        Group.join(bad, BOB_KP)
    except MLSError:
        pass


@FAST
@given(st.binary(max_size=600))
def test_decoders_on_random_bytes(data):
    for cls in (MLSMessage, KeyPackage, Welcome):
        try:
            cls.deserialize(data)
        except MLSError:
            pass


@FAST
@given(st.data())
def test_decoders_on_mutated_key_packages(data):
    bad = mutate(BOB_KP.key_package.serialize(), data.draw)
    try:
        KeyPackage.deserialize(bad)
    except MLSError:
        pass
