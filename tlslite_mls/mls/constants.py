"""RFC 9420 code points (IANA registries of section 17)."""

from __future__ import annotations

from enum import IntEnum

MLS10 = 1


class ExtensionType(IntEnum):
    APPLICATION_ID = 0x0001
    RATCHET_TREE = 0x0002
    REQUIRED_CAPABILITIES = 0x0003
    EXTERNAL_PUB = 0x0004
    EXTERNAL_SENDERS = 0x0005


class ProposalType(IntEnum):
    ADD = 0x0001
    UPDATE = 0x0002
    REMOVE = 0x0003
    PSK = 0x0004
    REINIT = 0x0005
    EXTERNAL_INIT = 0x0006
    GROUP_CONTEXT_EXTENSIONS = 0x0007


class CredentialType(IntEnum):
    BASIC = 0x0001
    X509 = 0x0002


class LeafNodeSource(IntEnum):
    KEY_PACKAGE = 1
    UPDATE = 2
    COMMIT = 3


class WireFormat(IntEnum):
    PUBLIC_MESSAGE = 0x0001
    PRIVATE_MESSAGE = 0x0002
    WELCOME = 0x0003
    GROUP_INFO = 0x0004
    KEY_PACKAGE = 0x0005


class ContentType(IntEnum):
    APPLICATION = 1
    PROPOSAL = 2
    COMMIT = 3


class SenderType(IntEnum):
    MEMBER = 1
    EXTERNAL = 2
    NEW_MEMBER_PROPOSAL = 3
    NEW_MEMBER_COMMIT = 4


class PSKType(IntEnum):
    EXTERNAL = 1
    RESUMPTION = 2


class ResumptionPSKUsage(IntEnum):
    APPLICATION = 1
    REINIT = 2
    BRANCH = 3


# RFC 9420 section 13.5: GREASE values for every uint16 registry.
GREASE_VALUES = tuple(0x0A0A + 0x1010 * i for i in range(15))

# Proposal types every implementation must support (section 7.2, 13.4).
DEFAULT_PROPOSAL_TYPES = frozenset(int(p) for p in (
    ProposalType.ADD, ProposalType.UPDATE, ProposalType.REMOVE, ProposalType.PSK,
    ProposalType.REINIT, ProposalType.EXTERNAL_INIT, ProposalType.GROUP_CONTEXT_EXTENSIONS))
DEFAULT_EXTENSION_TYPES = frozenset(int(e) for e in ExtensionType)


def is_grease(value: int) -> bool:
    return value in GREASE_VALUES
