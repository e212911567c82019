"""The empty ``key_share`` of a client that requires MLS (docs/profile.md section 3).

A client that never falls back to classic TLS has no use for an (EC)DHE share: the MLS
secret takes that slot. It sends ``key_share`` with an empty ``client_shares`` list
(RFC 8446 section 4.2.8 allows it) and keeps ``supported_groups``, saving the share's
key generation. tlslite-ng's handshake code reads the (EC)DHE slot through one share
of a group both sides support, so each side puts a placeholder share, never sent and
never used for a key exchange, into its parsed copy of the ClientHello (the bytes
already sent and hashed are untouched):

* the client once the ServerHello carries the Welcome (``_FixedSecret`` returns the
  MLS secret for it);
* the server when it is going to take the KeyPackage, so tlslite-ng does not answer
  with a HelloRetryRequest. A server that declines MLS leaves the ClientHello alone,
  and tlslite-ng asks for a share as RFC 8446 says; the client then refuses.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Optional

from tlslite.constants import ExtensionType, GroupName
from tlslite.extensions import KeyShareEntry

__all__ = ["offers_psk", "shareless_hello_group", "add_placeholder_share"]

_TLS13 = (3, 4)


def offers_psk(settings: Any, session: Any) -> bool:
    """Whether tlslite-ng's ClientHello will offer a PSK (a ticket or an external PSK):
    resumption is ``psk_dhe_ke`` without MLS (section 6), so it keeps real shares."""
    return bool(settings.pskConfigs) or bool(getattr(session, "tickets", None))


def _acceptable_groups(settings: Any) -> list[int]:
    return [getattr(GroupName, name) for name in
            chain(settings.keyShares, settings.eccCurves, settings.dhGroups)]


def shareless_hello_group(hello: Any, settings: Any) -> Optional[int]:
    """For a TLS 1.3 ClientHello without a PSK and with an empty ``client_shares`` list:
    the group a placeholder share gets (the server's first that the client supports).
    None for every other ClientHello, which tlslite-ng answers on its own (a client
    that sent shares of other groups may fall back, so it gets its HelloRetryRequest)."""
    versions = hello.getExtension(ExtensionType.supported_versions)
    shares = hello.getExtension(ExtensionType.key_share)
    supported = hello.getExtension(ExtensionType.supported_groups)
    if versions is None or _TLS13 not in versions.versions or shares is None \
            or supported is None or hello.getExtension(ExtensionType.pre_shared_key):
        return None
    if shares.client_shares:
        return None
    groups = _acceptable_groups(settings)
    return next((g for g in groups if g in supported.groups), None)


def add_placeholder_share(hello: Any, group: int) -> None:
    """A share of ``group`` in the parsed ClientHello: never sent, never used for (EC)DHE."""
    hello.getExtension(ExtensionType.key_share).client_shares.append(
        KeyShareEntry().create(group, bytearray(1), None))
