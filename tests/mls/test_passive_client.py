"""passive-client-*.json: a member that only receives, through the public Group API.

Each vector gives a KeyPackage with its private keys, a Welcome for it (and
the ratchet tree when the Welcome does not carry one), the external PSKs the
group uses, and a list of epochs: the proposals and the commit that lead to
each, and the epoch_authenticator the member must arrive at. The other
members commit with proposals by value and by reference, add and remove
members, update, inject external and resumption PSKs (of the current and of
earlier epochs) and change the group context; the passive member must follow
every step (RFC 9420 sections 12.4.2 and 12.4.3). Every other epoch the member
also goes through export_state/import_state, so the stored form is held to the
same vectors.
"""

from __future__ import annotations

import pytest

from tlslite_mls.mls.constants import PSKType, WireFormat
from tlslite_mls.mls.group import Group, GroupConfig, StagedCommit
from tlslite_mls.mls.keypackage import KeyPackageBundle
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.ratchettree import RatchetTree
from tlslite_mls.mls.crypto import get_cipher_suite
from helpers import h, run_vector, vector_cases

FILES = ("passive-client-welcome.json", "passive-client-handling-commit.json",
         "passive-client-random.json")


def _config(v) -> GroupConfig:
    external = {h(p["psk_id"]): h(p["psk"]) for p in v["external_psks"]}

    def lookup(psk_id):
        if psk_id.psktype == PSKType.EXTERNAL:
            return external.get(psk_id.psk_id)
        return None

    return GroupConfig(psk_lookup=lookup)


def _check(v) -> None:
    kp_msg = MLSMessage.deserialize(h(v["key_package"]))
    assert kp_msg.wire_format == WireFormat.KEY_PACKAGE
    bundle = KeyPackageBundle(kp_msg.body, h(v["init_priv"]), h(v["encryption_priv"]),
                              h(v["signature_priv"]))
    cs = get_cipher_suite(v["cipher_suite"])
    tree = None
    if v["ratchet_tree"] is not None:
        tree = RatchetTree.from_extension_bytes(cs, h(v["ratchet_tree"]))
    welcome = MLSMessage.deserialize(h(v["welcome"]))
    assert welcome.wire_format == WireFormat.WELCOME
    group = Group.join(welcome.body, bundle, ratchet_tree=tree, config=_config(v))
    assert group.epoch_authenticator == h(v["initial_epoch_authenticator"])
    for n, epoch in enumerate(v["epochs"]):
        for proposal in epoch["proposals"]:
            group.process(h(proposal))
        staged = group.process(h(epoch["commit"]))
        assert isinstance(staged, StagedCommit), f"epoch {n}: not a commit"
        old, group = group, staged.group
        old.retire()
        assert group.epoch_authenticator == h(epoch["epoch_authenticator"]), f"epoch {n}"
        if n % 2:
            # Every other epoch the member is stored and restored, as a server would.
            group = Group.import_state(group.export_state(), group.config)


@pytest.mark.parametrize("vector", vector_cases(FILES[0]))
def test_passive_client_welcome(vector):
    run_vector(FILES[0], vector, _check)


@pytest.mark.parametrize("vector", vector_cases(FILES[1]))
def test_passive_client_handling_commit(vector):
    run_vector(FILES[1], vector, _check)


@pytest.mark.parametrize("vector", vector_cases(FILES[2]))
def test_passive_client_random(vector):
    run_vector(FILES[2], vector, _check)
