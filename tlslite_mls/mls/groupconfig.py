"""How one member behaves in its groups: settings no other member sees.

Kept apart from :mod:`.group` so that what reads a group's settings (the state
encoding of :mod:`.groupstate`, the two-party profile's configuration) does not
need the state machine itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from . import auth as _auth
from .constants import WireFormat
from .psk import PreSharedKeyID

#: Finds the value of a PSK a commit or Welcome names, or None if this member lacks it.
PSKLookup = Callable[[PreSharedKeyID], Optional[bytes]]


@dataclass
class GroupConfig:
    """How this member behaves; none of it is shared with other members.

    ``policy`` authenticates every credential (see :mod:`.auth`).
    ``handshake_wire_format`` is how our proposals and commits are framed.
    ``padding`` is the PrivateMessage padding (bytes, or a function of the
    plaintext length). ``ratchet_tree_in_welcome`` puts the tree into the
    GroupInfo of Welcomes so joiners need nothing out of band.
    ``psk_lookup`` finds external PSKs and resumption PSKs of other groups.
    ``resumption_psk_epochs`` is how many past epochs' resumption PSKs the
    group keeps (besides the current one) so that a PreSharedKey proposal can
    name an earlier epoch of this group (section 8.6); older ones are dropped.
    """

    policy: _auth.AuthenticationPolicy = field(default_factory=_auth.AcceptAnyCredential)
    handshake_wire_format: int = WireFormat.PRIVATE_MESSAGE
    padding: Union[int, Callable[[int], int]] = 0
    ratchet_tree_in_welcome: bool = True
    psk_lookup: Optional[PSKLookup] = None
    resumption_psk_epochs: int = 8
    max_generation_gap: int = 1000
    out_of_order_window: int = 64
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.resumption_psk_epochs < 0:
            raise ValueError("resumption_psk_epochs must be 0 or more")
