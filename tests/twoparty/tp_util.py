"""Helpers of the two-party tests: configs, a handshake, and a pump between two engines."""

from __future__ import annotations

import os
from typing import Any, Optional

from tlslite_mls.mls.auth import AcceptAnyCredential
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty.events import Send, SwitchReceivingKeys, SwitchSendingKeys
from tlslite_mls.twoparty.handshake import (InitiatorHandshake, MLSHandshakeConfig,
                                            ResponderHandshake)

CH_HASH = bytes(range(32))
LABEL = b"TLS shared secret"


def identity(suite: int, name: bytes) -> tuple[Credential, bytes]:
    priv, _ = get_cipher_suite(suite).generate_signature_key_pair()
    return Credential.basic(name), priv


def configs(suite: int = 1, *, store: Any = None, client: Optional[dict] = None,
            server: Optional[dict] = None) -> tuple[MLSHandshakeConfig, MLSHandshakeConfig]:
    """A client config that expects the server's basic identity, and a server config."""
    store = store if store is not None else MemoryStore()
    s_cred, s_key = identity(suite, b"server.test")
    ckw: dict = dict(suites=[suite], expected_identity=b"server.test", store=store)
    ckw.update(client or {})
    skw: dict = dict(suites=[suite], credential=s_cred, signature_key=s_key, store=store)
    skw.update(server or {})
    return MLSHandshakeConfig(**ckw), MLSHandshakeConfig(**skw)


def handshake(suite: int = 1, **kw: Any):
    """(client session, server session) after the initial agreement."""
    cc, sc = configs(suite, **kw)
    ini = InitiatorHandshake(cc)
    welcome, server = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    client = ini.process_welcome(welcome, CH_HASH)
    return client, server


def sends(events) -> list:
    return [e.message for e in events if isinstance(e, Send)]


def full_update(updater, receiver) -> None:
    """One complete epoch change started by ``updater``; checks the event order."""
    (cu,) = sends(updater.start_update())
    ev = receiver.receive(cu)
    assert [type(e) for e in ev] == [Send, SwitchSendingKeys]
    ev2 = updater.receive(ev[0].message)
    assert [type(e) for e in ev2] == [SwitchReceivingKeys, Send, SwitchSendingKeys]
    ev3 = receiver.receive(ev2[1].message)
    assert [type(e) for e in ev3] == [SwitchReceivingKeys]
    assert ev[1].keys.export(LABEL) == ev2[0].keys.export(LABEL)
    for e in ev + ev2 + ev3:
        if not isinstance(e, Send):
            e.keys.wipe()


def random_name() -> bytes:
    return b"c-" + os.urandom(4).hex().encode()
