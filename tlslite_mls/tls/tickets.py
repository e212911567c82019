"""TLS tickets tied to stored MLS groups (docs/profile.md section 6, TLS extension mode).

A mixin of ``MLSTLSConnection`` beside the post-handshake one: the client resumes a
session together with its group (:meth:`MLSTicketMixin.handshakeClientMLSResume`),
the server learns which ticket the client's PSK came from (``_tryDecrypt``) and ties
the tickets it sends to the group (``_serverSendTickets``). The store key is derived
from the resumption secret inside the encrypted ticket (``epoch_keys.store_key``);
tickets carry nothing of MLS. The group is written to the store before the tickets
go out. What happens after such a handshake (the resumption exchange up to epoch
N+2) is the post-handshake mixin's.

Tickets are sealed and opened by OpenSSL in tlslite-ng's format (ticket_seal.py):
through the hook patch's ``_hook_ticket_cipher`` where tlslite-ng has it, else through
``ticket_seal.send_tickets``/``try_decrypt`` in place of tlslite-ng's ticket methods.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Iterator, Optional

from tlslite.constants import ExtensionType, PskKeyExchangeMode
from tlslite.extensions import PskIdentity
from tlslite.handshakehelpers import HandshakeHelpers
from tlslite.tlsconnection import TLSConnection

from . import engine as _engine
from . import ticket_seal
from .epoch_keys import ALIAS_PREFIX, prf_params, store_key
from .errors import MLSResumptionError

__all__ = ["MLSTicketMixin", "TICKET_HOOK"]

# A tlslite-ng with patches/tlslite-ng-0.8.2-hooks.patch asks the connection for the
# ticket AEAD; a released one makes its own (pure Python), so its ticket methods are
# replaced by ticket_seal's here.
TICKET_HOOK = hasattr(TLSConnection, "_hook_ticket_cipher")


class MLSTicketMixin:
    """Ticket handling of ``MLSTLSConnection`` for MLS resumption (module docstring)."""

    _mls_resume_ctx: Any = None
    _mls_offered_session: Any = None

    def handshakeClientMLSResume(self, session: Any, mls_settings: Any = None,  # noqa: N802
                                 settings: Any = None, serverName: Optional[str] = None,  # noqa: N803
                                 alpn: Any = None, async_: bool = False) -> Any:
        """Resume ``session`` (a TLS session of an earlier MLS connection) with its group.

        TLS 1.3 ticket resumption without the MLS extension, then
        ``mls_resumption_request``/``response`` up to epoch N+2 (docs/profile.md section 6),
        all before this call returns. A commit the client still had pending when the
        earlier connection broke is sent again. :class:`MLSResumptionError` when this
        client has no stored group for ``session``; ``handshake_failure`` when the
        server does not resume the TLS session.
        """
        if mls_settings is not None:
            self.mls_settings = mls_settings
        if self.mls_settings is None:
            raise MLSResumptionError("MLS resumption needs the client's MLS settings")
        if session is None or not getattr(session, "tickets", None):
            raise MLSResumptionError("the session has no ticket to resume with")
        cfg = self.mls_settings.validate()
        eng = _engine.load()
        config = _engine.make_config(eng, cfg, serverName or session.serverName or None)
        store = config.the_store()
        key = resolve_group_key(store, store_key(session.resumptionMasterSecret, client=True))
        from ..twoparty.session import TwoPartySession
        try:
            mls = TwoPartySession.load(config, key, store)
        except KeyError:
            raise MLSResumptionError("no stored MLS group for this session") from None
        # tlslite-ng marks the session of a connection that broke as not resumable;
        # section 6 exists precisely to resume those: the server still decides.
        session = copy.copy(session)
        session.resumable = True
        off = copy.copy(self.mls_settings)
        off.mode = "off"  # section 6: ordinary ticket resumption, no MLS extension
        self._mls_resume_ctx = (mls, key, store, self.mls_settings)
        self.mls_settings = off
        return self.handshakeClientCert(None, None, session, settings, None,
                                        serverName=serverName or session.serverName or None, alpn=alpn, async_=async_)

    @staticmethod
    def _derive_key_iv(nonce: Any, user_key: Any, settings: Any) -> tuple:  # noqa: N802
        """tlslite-ng's key and IV of a ticket, on one-shot ``hmac.digest`` (same bytes)."""
        return ticket_seal.derive_key_iv(nonce, user_key, settings.ticketCipher)

    def _hook_ticket_cipher(self, key: Any, settings: Any) -> Any:
        """Hook patch: the AEAD that seals and opens tickets, on OpenSSL."""
        return ticket_seal.ticket_aead(settings.ticketCipher, key)

    def _mls_open_ticket(self, settings: Any, identity: Any = None, ticket: Any = None) -> Any:
        """tlslite-ng's ``_tryDecrypt``, the ticket opened by OpenSSL."""
        if TICKET_HOOK:
            return TLSConnection._tryDecrypt(self, settings, identity, ticket)
        return ticket_seal.try_decrypt(self.version, settings, identity, ticket)

    def _tryDecrypt(self, settings: Any, identity: Any = None, ticket: Any = None) -> Any:  # noqa: N802
        match, payload = self._mls_open_ticket(settings, identity, ticket)
        if match and payload is not None and self.version > (3, 3):
            found = self.__dict__.setdefault("_mls_tickets", [])
            if self.__dict__.get("_mls_tickets_hh") is not self._handshake_hash:
                found.clear()
                self._mls_tickets_hh = self._handshake_hash
            found.append((bytes(match[1]), match[2], bytes(payload.master_secret)))
        return match, payload

    def _mls_ticket_resumes_group(self, hello: Any, settings: Any, prf_name: str) -> bool:
        """Whether the PSK tlslite-ng will select in ``hello`` resumes a stored MLS group.

        Mirrors tlslite-ng's choice (the first identity that is an external PSK, or a
        ticket of this version for ``prf_name``); only a ticket whose group is in the
        store counts. A forged identity does not decrypt, so it resumes nothing.
        """
        psks = hello.getExtension(ExtensionType.pre_shared_key)
        modes = hello.getExtension(ExtensionType.psk_key_exchange_modes)
        if psks is None or modes is None or settings is None or not (
                PskKeyExchangeMode.psk_dhe_ke in modes.modes
                or PskKeyExchangeMode.psk_ke in modes.modes):
            return False
        external = {bytes(c[0]): (c[2] if len(c) > 2 else "sha256")
                    for c in settings.pskConfigs}
        for ident in psks.identities:
            if external.get(bytes(ident.identity)) == prf_name:
                return False  # an external PSK: no MLS group behind it
            # Not _tryDecrypt: that records the tickets of this handshake.
            match, ticket = self._mls_open_ticket(settings, ident)
            if match and ticket.protocol_version == self.version and match[2] == prf_name:
                store = store_of(getattr(self, "_mls_cfg", None))
                group_key = resolve_group_key(store, store_key(bytes(ticket.master_secret), client=False))
                return store.load_group(group_key) is not None
        return False

    def _mls_selected_ticket(self) -> Optional[tuple]:
        """(psk, prf, resumption secret) of the ticket the server resumed, if any."""
        if self.__dict__.get("_mls_tickets_hh") is not self._handshake_hash:
            return None
        prf_name, _ = prf_params(self.session.cipherSuite)
        for psk, prf, secret in self.__dict__.get("_mls_tickets", []):
            if prf == prf_name:
                return psk, prf, secret
        return None

    def _serverSendTickets(self, settings: Any) -> Iterator[Any]:  # noqa: N802
        if settings.ticketKeys and settings.ticket_count and self.version > (3, 3):
            self._mls_before_tickets()
        if TICKET_HOOK:
            yield from TLSConnection._serverSendTickets(self, settings)
        else:
            yield from ticket_seal.send_tickets(self, settings)

    def _mls_before_tickets(self) -> None:
        """Tie the tickets about to go out to the group, in the store, first (section 6)."""
        cfg = getattr(self, "_mls_cfg", None)
        if cfg is None or not cfg.enabled or not self.mls_update_policy.resumable:
            return
        store = store_of(cfg)
        new_key = store_key(self.session.resumptionMasterSecret, client=False)
        # The group negotiated in this handshake; MLSTLSConnection hands it over
        # (as mls_session) only after the handshake, when the tickets are already out.
        fresh = getattr(self, "_mls_pending", None) if getattr(self, "_mls_sh_sent", False) \
            else None
        if fresh is not None:
            fresh.persist(new_key, store)
            return
        selected = self._mls_selected_ticket()
        if selected is None:
            return
        group_key = resolve_group_key(store, store_key(selected[2], client=False))
        if store.load_group(group_key) is not None:
            link_group(store, new_key, group_key, cfg.state_lifetime)
            self._mls_server_group = (group_key, store, cfg)

    def _mls_client_psk(self) -> Optional[bytes]:
        """The ticket PSK of a resumed client handshake (tlslite-ng offers tickets[0])."""
        session = self._mls_offered_session
        if not self.resumed or session is None or not session.tickets:
            return None
        ticket = session.tickets[0]
        return bytes(HandshakeHelpers.calc_res_binder_psk(
            PskIdentity().create(ticket.ticket, 0), session.resumptionMasterSecret,
            session.tickets))


def store_of(cfg: Any) -> Any:
    from ..twoparty.config import default_store
    store = getattr(cfg, "store", None)
    return store if store is not None else default_store()


def resolve_group_key(store: Any, key: bytes) -> bytes:
    """The group key a session key stands for (itself for the group's first connection)."""
    target = store.load_group(ALIAS_PREFIX + key)
    return bytes(target) if target is not None else key


def link_group(store: Any, key: bytes, group_key: bytes, lifetime: Optional[float]) -> None:
    """Make a later connection's session key stand for ``group_key``."""
    if key == group_key:
        return
    store.save_group(ALIAS_PREFIX + key, group_key,
                     expires_at=time.time() + lifetime if lifetime else None)
