"""What an established extension-mode connection keeps: its keys, its MLS group and
its record layer -- not the handshake's messages, settings copies and transcript
copies, which an idle connection would otherwise hold for hours (issue: server memory
per idle connection)."""

from __future__ import annotations

import gc
import types
from collections import Counter

from tlslite import HandshakeSettings
from tlslite.extensions import TLSExtension
from tlslite.handshakehashes import HandshakeHashes
from tlslite.messages import HandshakeMsg

from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.epoch_keys import early_secret, prf_params
from tlslite_mls.tls.transcript import TLS13HandshakeHashes
from tlsutil import client_mls, pair, server_mls, tls13_settings

_NOT_STATE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
              types.CodeType)


def _reachable(root, shared) -> list:
    """Objects reachable from ``root``, not through ``shared`` objects (what the
    caller passed in and keeps) nor through modules, classes and functions."""
    stop = {id(o) for o in shared}
    seen: dict = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in stop or isinstance(obj, _NOT_STATE):
            continue
        seen[id(obj)] = obj
        stack.extend(gc.get_referents(obj))
    return list(seen.values())


def _handshake_leftovers(reachable: list) -> Counter:
    kept = Counter()
    for obj in reachable:
        if isinstance(obj, (HandshakeMsg, TLSExtension, HandshakeSettings)):
            kept[type(obj).__name__] += 1
        elif isinstance(obj, (HandshakeHashes, TLS13HandshakeHashes)):
            kept["transcript hash objects"] += 1
    return kept


def test_established_connections_keep_no_handshake_messages_or_copies(pki):
    """After the handshake and the first epoch change, neither side keeps a handshake
    message, an extension, a copy of the handshake settings, transcript hash objects
    beyond tlslite-ng's running transcript and its post-handshake authentication base
    (``_handshake_hash``, ``_first_handshake_hashes``), or the EarlySecret (epoch keys
    need only the salt derived from it)."""
    kept = {}

    def run(sock, server):
        mls = server_mls() if server else client_mls()
        settings = tls13_settings()
        conn = MLSTLSConnection(sock)
        if server:
            conn.handshakeServerMLS(mls, certChain=pki.chain(), privateKey=pki.key(),
                                    settings=settings)
            data = conn.read()
            conn.write(data)
            data = conn.read()
            conn.write(data)
        else:
            conn.handshakeClientMLS(mls, settings=settings)
            for _ in range(2):  # the client's first epoch change completes with the echo
                conn.write(b"ping")
                assert conn.read() == b"ping"
        assert conn.mls_negotiated and conn.mls_epoch_changes >= 1
        gc.collect()
        reachable = _reachable(conn, [mls, settings, pki.chain(), pki.key()])
        kept["server" if server else "client"] = _handshake_leftovers(reachable)
        name, size = prf_params(conn.session.cipherSuite)
        early = bytes(early_secret(name, size, None))  # no PSK here: a known value
        kept["early " + ("server" if server else "client")] = [
            o for o in reachable if isinstance(o, (bytes, bytearray)) and o == early]
        conn.close()

    c, s = pair(lambda sock: run(sock, False), lambda sock: run(sock, True))
    assert c.error is None and s.error is None, (c.error, s.error)
    for side in ("server", "client"):
        left = kept[side]
        assert left["transcript hash objects"] <= 2, (side, left)
        del left["transcript hash objects"]
        assert not left, f"the {side} connection still holds {dict(left)}"
        assert not kept["early " + side], f"the {side} connection still holds its EarlySecret"
