"""Epoch changes (docs/profile.md section 5) and resumption (section 6), step by step."""

from __future__ import annotations

import pytest

from tlslite_mls.mls.constants import WireFormat
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.errors import DecodeError, ProtocolError, StateError, VerificationError
from tlslite_mls.mls.keypackage import create_key_package
from tlslite_mls.mls.proposals import Add, GroupContextExtensions, Proposal
from tlslite_mls.store import MemoryStore, StoreConflict
from tlslite_mls.twoparty import errors as E
from tlslite_mls.twoparty.events import Send, SwitchReceivingKeys, SwitchSendingKeys
from tlslite_mls.twoparty.messages import Kind, TwoPartyMLSMessage
from tlslite_mls.twoparty.session import Role, State, TwoPartySession
from tp_util import LABEL, full_update, handshake, sends


def _types(events):
    return [type(e) for e in events]


def _snapshot(s: TwoPartySession):
    return (s.state, s.epoch, s.sending_epoch, s.receiving_epoch, s._pending and s._pending.message,
            s._group.export_state(), s.exporter(b"snap", b"", 16))


def _cu(commit: bytes) -> TwoPartyMLSMessage:
    return TwoPartyMLSMessage(Kind.CONNECTION_UPDATE, commit=commit)


# -- section 5 ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["client", "server"])
def test_update_event_order_and_epochs(who):
    client, server = handshake()
    u, r = (client, server) if who == "client" else (server, client)
    old_u, old_r = u._group, r._group
    (cu,) = sends(u.start_update())
    assert cu.kind == Kind.CONNECTION_UPDATE
    assert u.update_in_flight and u.state is State.AWAIT_MARKER
    assert u.epoch == 1 and u.sending_epoch == u.receiving_epoch == 1  # U switches nothing
    ev = r.receive(cu.serialize())
    assert _types(ev) == [Send, SwitchSendingKeys]
    assert ev[0].message == TwoPartyMLSMessage.marker(2)
    assert r.epoch == 2 and r.sending_epoch == 2 and r.receiving_epoch == 1
    assert old_r.retired  # epoch 1 is gone on R; its TLS keys were derived earlier
    ev2 = u.receive(ev[0].message)
    assert _types(ev2) == [SwitchReceivingKeys, Send, SwitchSendingKeys]
    assert ev2[1].message == TwoPartyMLSMessage.marker(2)
    assert u.epoch == 2 and u.sending_epoch == u.receiving_epoch == 2 and u.state is State.IDLE
    assert old_u.retired
    ev3 = r.receive(ev2[1].message)
    assert _types(ev3) == [SwitchReceivingKeys]
    assert r.receiving_epoch == 2 and r.state is State.IDLE
    assert r._recv_material is None  # the engine lets go of epoch 2's material
    keys = {e.keys.export(LABEL) for e in ev + ev2 + ev3 if not isinstance(e, Send)}
    assert len(keys) == 1
    assert keys.pop() == client.exporter(LABEL, b"", 32) == server.exporter(LABEL, b"", 32)


def test_many_updates_alternating():
    client, server = handshake()
    for i in range(6):
        full_update(*((client, server) if i % 2 else (server, client)))
    assert client.epoch == server.epoch == 7


@pytest.mark.parametrize("order", ["server_first", "client_first"])
def test_crossing_updates_initiator_wins(order):
    client, server = handshake()
    (c_cu,) = sends(client.start_update())
    (s_cu,) = sends(server.start_update())
    client_commit = c_cu.commit
    if order == "server_first":
        assert client.receive(s_cu) == []  # ignored: the client's commit wins
        ev = server.receive(c_cu)
    else:
        ev = server.receive(c_cu)
        assert client.receive(s_cu) == []
    assert _types(ev) == [Send, SwitchSendingKeys]
    assert server._pending is None and server.epoch == 2
    ev2 = client.receive(ev[0].message)
    ev3 = server.receive(ev2[1].message)
    assert _types(ev3) == [SwitchReceivingKeys]
    assert client.epoch == server.epoch == 2
    assert client.exporter(LABEL, b"", 32) == server.exporter(LABEL, b"", 32)
    assert server._last_peer_commit  # the client's commit made epoch 2
    assert client_commit == c_cu.commit


def test_no_second_update_in_flight():
    client, server = handshake()
    (cu,) = sends(client.start_update())
    with pytest.raises(E.UpdateInFlight):
        client.start_update()
    server.receive(cu)
    with pytest.raises(E.UpdateInFlight):
        server.start_update()  # R has switched sending but not reading yet


def test_unexpected_marker_changes_nothing():
    client, server = handshake()
    before = _snapshot(server)
    with pytest.raises(E.UnexpectedMessage) as info:
        server.receive(TwoPartyMLSMessage.marker(2))
    assert info.value.alert == "unexpected_message" and isinstance(info.value, StateError)
    assert _snapshot(server) == before


def test_wrong_epoch_marker():
    client, server = handshake()
    (cu,) = sends(client.start_update())
    before = _snapshot(client)
    for bad in (1, 3, 2**64 - 1):
        with pytest.raises(E.WrongEpoch) as info:
            client.receive(TwoPartyMLSMessage.marker(bad))
        assert info.value.alert == "illegal_parameter"
    assert _snapshot(client) == before
    ev = server.receive(cu)
    with pytest.raises(E.WrongEpoch):
        server.receive(TwoPartyMLSMessage.marker(3))
    client.receive(ev[0].message)


def test_duplicated_commit():
    client, server = handshake()
    (cu,) = sends(client.start_update())
    ev = server.receive(cu)
    with pytest.raises(E.UnexpectedMessage):
        server.receive(cu)  # R waits for the marker
    ev2 = client.receive(ev[0].message)
    server.receive(ev2[1].message)
    before = _snapshot(server)
    with pytest.raises(E.WrongEpoch):
        server.receive(cu)  # an old epoch's commit
    assert _snapshot(server) == before


def test_forged_commit_changes_nothing_and_genuine_one_still_works():
    client, server = handshake()
    (cu,) = sends(client.start_update())
    before = _snapshot(server)
    forged = bytearray(cu.commit)
    forged[-3] ^= 1
    with pytest.raises(VerificationError) as info:
        server.receive(_cu(bytes(forged)))
    assert info.value.alert == "decrypt_error"
    assert _snapshot(server) == before
    ev = server.receive(cu)  # the secret tree key was not burnt by the forgery
    client.receive(ev[0].message)


@pytest.mark.parametrize("cut", [1, 10, 40])
def test_truncated_commit(cut):
    client, server = handshake()
    (cu,) = sends(client.start_update())
    wire = cu.serialize()
    with pytest.raises(DecodeError) as info:
        server.receive(wire[:-cut])
    assert info.value.alert == "decode_error"
    server.receive(wire)


@pytest.mark.parametrize("data", [b"", b"\x00\x01", b"\x00\x01\x00\x07" + bytes(8),
                                  b"\x00\x02\x00\x02" + bytes(8), b"\x00\x01\x00\x02" + bytes(7),
                                  b"\x00\x01\x00\x02" + bytes(9)])
def test_garbage_messages(data):
    client, _ = handshake()
    with pytest.raises(DecodeError):
        client.receive(data)


def test_public_message_commit_accepted():
    client, server = handshake()
    pc = client._group.commit(wire_format=WireFormat.PUBLIC_MESSAGE)
    ev = server.receive(_cu(pc.message_bytes))
    assert _types(ev) == [Send, SwitchSendingKeys]
    assert server.epoch == 2
    assert server.exporter(LABEL, b"", 32) == pc.group.export_secret(LABEL, b"", 32)


def test_commit_with_proposals_refused():
    client, server = handshake()
    same = GroupContextExtensions(list(client._group.extensions))
    pc = client._group.commit(proposals=[Proposal.of(same)])
    before = _snapshot(server)
    with pytest.raises(E.InvalidCommit) as info:
        server.receive(_cu(pc.message_bytes))
    assert info.value.alert == "illegal_parameter"
    assert _snapshot(server) == before


def test_commit_adding_a_third_member_refused():
    client, server = handshake()
    cs = server._group.cs
    priv, _ = cs.generate_signature_key_pair()
    leaf = client._group.own_leaf_node
    third = create_key_package(cs, Credential.basic(b"server.test"), priv,
                               leaf_extensions=leaf.extensions, capabilities=leaf.capabilities)
    pc = server._group.commit(proposals=[Proposal.of(Add(third.key_package))])
    with pytest.raises(E.InvalidCommit):
        client.receive(_cu(pc.message_bytes))


def test_application_message_where_commit_belongs():
    client, server = handshake()
    msg = client._group.protect_application(b"hello").serialize()
    with pytest.raises(E.InvalidCommit):
        server.receive(_cu(msg))


def test_own_commit_reflected():
    client, server = handshake()
    pc = server._group.commit()
    with pytest.raises(ProtocolError) as info:
        server.receive(_cu(pc.message_bytes))
    assert info.value.alert in ("illegal_parameter", "decrypt_error")
    public = server._group.commit(wire_format=WireFormat.PUBLIC_MESSAGE)
    with pytest.raises(E.InvalidCommit):
        server.receive(_cu(public.message_bytes))


def test_commit_for_another_group():
    client, server = handshake()
    other_client, _ = handshake()
    (cu,) = sends(other_client.start_update())
    with pytest.raises(E.IllegalParameter, match="another group"):
        server.receive(cu)


def test_resumption_messages_outside_resumption():
    client, server = handshake()
    (cu,) = sends(client.start_update())
    for kind in (Kind.RESUMPTION_REQUEST, Kind.RESUMPTION_RESPONSE):
        with pytest.raises(E.UnexpectedMessage):
            server.receive(TwoPartyMLSMessage(kind, commit=cu.commit))


# -- persistence and section 6 -----------------------------------------------------------

def _persisted_pair(**kw):
    client, server = handshake(**kw)
    cstore, sstore = MemoryStore(), MemoryStore()
    client.persist(store=cstore)
    server.persist(store=sstore)
    return client, server, cstore, sstore


def _reload(session: TwoPartySession, store):
    return TwoPartySession.load(session._config, session.persisted_key, store)


def _finish_resumption(p, q, request):
    """Drive request -> response -> markers; return the events for inspection."""
    ev_q = q.receive(request)
    assert _types(ev_q) == [Send] and ev_q[0].message.kind == Kind.RESUMPTION_RESPONSE
    ev_p = p.receive(ev_q[0].message)
    assert _types(ev_p) == [Send, SwitchSendingKeys]
    ev_q2 = q.receive(ev_p[0].message)
    assert _types(ev_q2) == [SwitchReceivingKeys, Send, SwitchSendingKeys]
    ev_p2 = p.receive(ev_q2[1].message)
    assert _types(ev_p2) == [SwitchReceivingKeys]
    assert p.epoch == q.epoch
    assert ev_p[1].keys.export(LABEL) == ev_q2[0].keys.export(LABEL)
    assert p.exporter(LABEL, b"", 32) == q.exporter(LABEL, b"", 32)
    assert p.state is State.IDLE and q.state is State.IDLE


def test_resumption_quiet():
    client, server, cstore, sstore = _persisted_pair()
    full_update(client, server)
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    assert c2.state is State.LOADED and c2.sending_epoch is None and c2.epoch == 2
    with pytest.raises(E.UnexpectedMessage):
        c2.start_update()
    (req,) = sends(c2.resume())
    assert req.kind == Kind.RESUMPTION_REQUEST
    _finish_resumption(c2, s2, req)
    assert c2.epoch == 4  # N + 2
    full_update(c2, s2)  # the resumed session carries on normally


def test_resumption_reuses_pending_commit():
    client, server, cstore, sstore = _persisted_pair()
    (cu,) = sends(client.start_update())  # the connection breaks before it arrives
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (req,) = sends(c2.resume())
    assert req.commit == cu.commit
    _finish_resumption(c2, s2, req)
    assert c2.epoch == 3


def test_resumption_commit_already_applied_is_not_applied_twice():
    client, server, cstore, sstore = _persisted_pair()
    (cu,) = sends(client.start_update())
    server.receive(cu)  # server at epoch 2; its marker never reaches the client
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    assert c2.epoch == 1 and s2.epoch == 2
    (req,) = sends(c2.resume())
    assert req.commit == cu.commit
    _finish_resumption(c2, s2, req)
    assert c2.epoch == s2.epoch == 3


def test_resumption_after_peer_applied_our_pending_commit():
    client, server, cstore, sstore = _persisted_pair()
    (cu,) = sends(server.start_update())
    client.receive(cu)  # client at 2, server still at 1 with its commit pending
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    assert c2.epoch == 2 and s2.epoch == 1 and s2._pending is not None
    (req,) = sends(c2.resume())
    _finish_resumption(c2, s2, req)
    assert c2.epoch == 4


def test_resumption_after_crossing_updates_broke():
    client, server, cstore, sstore = _persisted_pair()
    sends(client.start_update())
    sends(server.start_update())
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (req,) = sends(c2.resume())
    _finish_resumption(c2, s2, req)  # the server drops its own pending commit
    assert c2.epoch == 3


@pytest.mark.parametrize("order", ["client_first", "server_first"])
def test_crossing_resumption_requests(order):
    client, server, cstore, sstore = _persisted_pair()
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (c_req,) = sends(c2.resume())
    (s_req,) = sends(s2.resume())
    if order == "client_first":
        ev = s2.receive(c_req)
        assert c2.receive(s_req) == []
    else:
        assert c2.receive(s_req) == []
        ev = s2.receive(c_req)
    (resp,) = sends(ev)
    ev_p = c2.receive(resp)
    ev_q = s2.receive(ev_p[0].message)
    c2.receive(ev_q[1].message)
    assert c2.epoch == s2.epoch == 3
    assert c2.exporter(LABEL, b"", 32) == s2.exporter(LABEL, b"", 32)


def test_server_resumes_client_answers():
    client, server, cstore, sstore = _persisted_pair()
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (req,) = sends(s2.resume())
    _finish_resumption(s2, c2, req)
    assert s2.role is Role.RESPONDER and c2.role is Role.INITIATOR


def test_resumption_twice_in_a_row_after_breaks_mid_resumption():
    client, server, cstore, sstore = _persisted_pair()
    c2, s2 = _reload(client, cstore), _reload(server, sstore)
    (req,) = sends(c2.resume())
    s2.receive(req)  # the response is lost
    c3, s3 = _reload(c2, cstore), _reload(s2, sstore)
    (req3,) = sends(c3.resume())
    assert req3.commit == req.commit
    _finish_resumption(c3, s3, req3)
    assert c3.epoch == 3


def test_stored_state_written_before_message_is_handed_out():
    client, server, cstore, sstore = _persisted_pair()
    key = client.persisted_key
    assert key == client.group_id
    (cu,) = sends(client.start_update())
    assert cstore.load_pending_commit(key) is not None
    ev = server.receive(cu)
    rec = TwoPartySession.load(server._config, key, sstore)
    assert rec.epoch == 2  # the store already has the epoch the marker announces
    client.receive(ev[0].message)
    assert cstore.load_pending_commit(key) is None
    assert _reload(client, cstore).epoch == 2


def test_store_conflict_leaves_state_untouched():
    client, server, cstore, sstore = _persisted_pair()
    c2 = _reload(client, cstore)
    s_a, s_b = _reload(server, sstore), _reload(server, sstore)  # two server processes
    (req,) = sends(c2.resume())
    s_a.receive(req)
    before = _snapshot(s_b)
    with pytest.raises(StoreConflict):
        s_b.receive(req)
    assert _snapshot(s_b) == before


def test_load_errors():
    client, server, cstore, sstore = _persisted_pair()
    with pytest.raises(KeyError):
        TwoPartySession.load(client._config, b"nothing here", cstore)
    record = cstore.load_group_record(client.persisted_key)
    cstore.save_group(b"future", b"\x00\x09" + record.state[2:])
    with pytest.raises(E.UnsupportedFeature):
        TwoPartySession.load(client._config, b"future", cstore)
    cstore.save_group(b"broken", b"\x00\x01\x00")
    with pytest.raises(DecodeError):
        TwoPartySession.load(client._config, b"broken", cstore)
    with pytest.raises(StateError):
        client.persist(store=cstore)


def test_persist_needs_a_new_key():
    client, _, cstore, _ = _persisted_pair()
    other, _ = handshake()
    with pytest.raises(StoreConflict):
        other.persist(key=client.persisted_key, store=cstore)
    assert other.persisted_key is None
    other.persist(key=b"another key", store=cstore)


def test_resumption_request_for_unknown_epoch():
    client, server, cstore, sstore = _persisted_pair()
    old = client._group.commit().message_bytes  # a commit the server never saw, epoch 1
    full_update(client, server)
    full_update(client, server)
    s2 = _reload(server, sstore)
    before = _snapshot(s2)
    with pytest.raises(E.WrongEpoch):
        s2.receive(TwoPartyMLSMessage(Kind.RESUMPTION_REQUEST, commit=old))
    assert _snapshot(s2) == before
    # One epoch behind but not the commit we applied: refused as well.
    c2 = _reload(client, cstore)
    s3 = _reload(server, sstore)
    stale = client._group.commit().message_bytes
    (cu,) = sends(c2.resume())
    s3.receive(cu)
    s4 = _reload(s3, sstore)
    with pytest.raises(E.WrongEpoch):
        s4.receive(TwoPartyMLSMessage(Kind.RESUMPTION_REQUEST, commit=stale))


def test_resume_only_when_loaded():
    client, server = handshake()
    with pytest.raises(E.UpdateInFlight):
        client.resume()


def test_close_wipes():
    client, server = handshake()
    sends(client.start_update())
    g, p = client._group, client._pending.group
    client.close()
    assert g.retired and p.retired


def test_load_refuses_a_group_of_the_other_mode():
    import dataclasses
    from tlslite_mls.codepoints import TLS_BINDING_MLS_TLS
    client, _, cstore, _ = _persisted_pair()
    other_mode = dataclasses.replace(client._config, binding_protocol=TLS_BINDING_MLS_TLS)
    with pytest.raises(E.BindingError):
        TwoPartySession.load(other_mode, client.persisted_key, cstore)
    assert TwoPartySession.load(client._config, client.persisted_key, cstore).epoch == client.epoch
