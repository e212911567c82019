"""MLS-TLS resumption in the engine (``confirmed_resumption``, docs/profile.md section 8).

No markers: the response switches both directions to N+2; the server keeps its result
as a candidate next to the last confirmed state until ``confirm()``; concurrent
connections of one session merge their candidates instead of overwriting each other.
"""

from __future__ import annotations

import pytest

from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty import errors as E
from tlslite_mls.twoparty.events import Send, SwitchReceivingKeys, SwitchSendingKeys
from tlslite_mls.twoparty.persistence import Candidate, SessionRecord
from tlslite_mls.twoparty.session import State, TwoPartySession
from tp_util import LABEL, full_update, handshake, sends

ON = {"confirmed_resumption": True}


def _persisted(server_options: dict = {}):  # noqa: B006 - read only
    client, server = handshake(client=dict(ON), server={**ON, **server_options})
    cstore, sstore = MemoryStore(), MemoryStore()
    client.persist(store=cstore)
    server.persist(store=sstore)
    return client, server, cstore, sstore


def _reload(session: TwoPartySession, store) -> TwoPartySession:
    return TwoPartySession.load(session._config, session.persisted_key, store)


def _record(server: TwoPartySession, sstore) -> SessionRecord:
    return SessionRecord.deserialize(sstore.load_group(server.group_id))


def _types(events) -> list:
    return [type(e) for e in events]


def test_response_keys_both_directions_and_confirm_promotes():
    client, server, cstore, sstore = _persisted()
    full_update(client, server)
    confirmed = _record(server, sstore).group_state
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (req,) = sends(c2.resume())
    ev_s = s2.receive(req)
    assert _types(ev_s) == [Send, SwitchSendingKeys, SwitchReceivingKeys]
    assert s2.awaiting_confirmation and s2.update_in_flight
    with pytest.raises(E.UpdateInFlight):
        s2.start_update()  # nothing builds on an unconfirmed candidate
    rec = _record(server, sstore)
    assert rec.group_state == confirmed and [c.epoch for c in rec.candidates] == [4]
    ev_c = c2.receive(ev_s[0].message)
    assert _types(ev_c) == [SwitchSendingKeys, SwitchReceivingKeys]
    assert c2.state is State.IDLE and c2.epoch == s2.epoch == 4
    assert ev_c[0].keys.export(LABEL) == ev_s[1].keys.export(LABEL)
    s2.confirm()
    assert s2.state is State.IDLE
    rec = _record(server, sstore)
    assert rec.candidates == [] and rec.group_state != confirmed
    with pytest.raises(E.UnexpectedMessage):
        s2.confirm()
    full_update(c2, s2)  # and the session goes on as usual
    full_update(s2, c2)


def test_concurrent_requests_merge_their_candidates():
    """Two connections load the same revision; the second write merges, not overwrites."""
    client, server, cstore, sstore = _persisted()
    c2 = _reload(client, cstore)
    (req,) = sends(c2.resume())
    a, b = _reload(server, sstore), _reload(server, sstore)
    resp_a = sends(a.receive(req))[0]
    sends(b.receive(req))
    assert len(_record(server, sstore).candidates) == 2
    c2.receive(resp_a)  # the client went with a
    a.confirm()
    assert _record(server, sstore).candidates == []
    # b's candidate is gone and the confirmed state changed: b stops writing.
    stored = sstore.load_group(server.group_id)
    b.confirm()
    assert b.persisted_key is None and sstore.load_group(server.group_id) == stored
    c3, s3 = _reload(c2, cstore), _reload(server, sstore)
    (req3,) = sends(c3.resume())
    c3.receive(sends(s3.receive(req3))[0])
    assert c3.epoch == s3.epoch == c2.epoch + 2


def test_candidate_dropped_by_the_cap_is_still_promoted_on_an_unchanged_base():
    client, server, cstore, sstore = _persisted({"max_resumption_candidates": 1})
    c2 = _reload(client, cstore)
    (req,) = sends(c2.resume())
    a, b = _reload(server, sstore), _reload(server, sstore)
    resp_a = sends(a.receive(req))[0]
    sends(b.receive(req))  # pushes a's candidate out
    assert len(_record(server, sstore).candidates) == 1
    c2.receive(resp_a)
    a.confirm()  # the client proved it holds a's state, and nothing else was confirmed
    assert a.persisted_key is not None and _record(server, sstore).candidates == []
    c3, s3 = _reload(c2, cstore), _reload(server, sstore)
    (req3,) = sends(c3.resume())
    c3.receive(sends(s3.receive(req3))[0])
    assert c3.epoch == s3.epoch


def test_request_that_no_kept_state_decrypts_changes_nothing():
    """The client's candidate was pushed out by another: its next request (at the
    epoch of the remaining candidate) decrypts under no kept state and is refused."""
    client, server, cstore, sstore = _persisted({"max_resumption_candidates": 1})
    c2 = _reload(client, cstore)
    (req,) = sends(c2.resume())
    c2.receive(sends(_reload(server, sstore).receive(req))[0])  # applied, not confirmed
    sends(_reload(server, sstore).receive(req))  # a replay pushes it out
    c3 = _reload(c2, cstore)
    (req3,) = sends(c3.resume())
    s3 = _reload(server, sstore)
    (kept,) = _record(server, sstore).candidates
    assert kept.epoch == c2.epoch  # the same epoch, another state
    before = sstore.load_group_record(server.group_id)
    with pytest.raises(E.MessageVerificationError):
        s3.receive(req3)
    assert s3.state is State.LOADED
    assert sstore.load_group_record(server.group_id) == before


def test_session_record_versions():
    plain = SessionRecord(1, b"h", b"state")
    assert plain.serialize()[:2] == b"\x00\x01"  # the extension mode's records stay as they were
    assert SessionRecord.deserialize(plain.serialize()) == plain
    with_candidates = SessionRecord(1, b"", b"state", [Candidate(b"i" * 32, 7, b"g"),
                                                       Candidate(b"j" * 32, 9, b"h")])
    data = with_candidates.serialize()
    assert data[:2] == b"\x00\x02"
    assert SessionRecord.deserialize(data) == with_candidates
    with pytest.raises(E.UnsupportedFeature, match="reads version 1 and 2"):
        SessionRecord.deserialize(b"\x00\x03" + data[2:])
    assert "state" not in repr(with_candidates) and "'g'" not in repr(with_candidates)


def test_close_forgets_the_loaded_record():
    client, server, cstore, sstore = _persisted()
    s2 = _reload(server, sstore)
    assert s2._stored is not None
    s2.close()
    assert s2._stored is None
