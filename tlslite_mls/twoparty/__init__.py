"""The two-party MLS profile (draft-kohbrok-mls-two-party-profile as docs/profile.md settles it).

Sans-IO: no sockets and no TLS here. ``handshake`` does the initial agreement,
``session`` the epoch changes and resumption, ``messages`` the wire structs.
"""

from __future__ import annotations

from .config import MLSHandshakeConfig, SHARED_SECRET_LABEL
from .errors import Declined, TwoPartyError
from .events import KeyMaterial, Send, SwitchReceivingKeys, SwitchSendingKeys
from .handshake import InitiatorHandshake, ResponderHandshake
from .messages import TwoPartyMessage, TwoPartyMLSMessage
from .session import Role, State, TwoPartySession

__all__ = [
    "Declined", "InitiatorHandshake", "KeyMaterial", "MLSHandshakeConfig", "ResponderHandshake",
    "Role", "SHARED_SECRET_LABEL", "Send", "State", "SwitchReceivingKeys", "SwitchSendingKeys",
    "TwoPartyError", "TwoPartyMLSMessage", "TwoPartyMessage", "TwoPartySession",
]
