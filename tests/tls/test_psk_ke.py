"""Ticket resumption and MLS: psk_dhe_ke carries it, psk_ke cannot (docs/profile.md section 3).

psk_ke has no (EC)DHE slot for the MLS secret to take, so a server leaves the
extension out; whichever side required MLS aborts with handshake_failure, and
``preferred`` on both sides resumes with classic TLS 1.3.
"""

from __future__ import annotations

import pytest
from tlslite.constants import AlertDescription
from tlslite.errors import TLSLocalAlert, TLSRemoteAlert
from tlslite.extensions import PskIdentity
from tlslite.handshakehelpers import HandshakeHelpers

from tlslite_mls.tls import MLSTLSConnection
from tlslite_mls.tls.epoch_keys import early_secret, prf_params
from tlslite_mls.tls.post_handshake import UpdatePolicy
from tlsutil import (assert_epoch_formula_gives_handshake_secrets, client_mls, pair,
                     server_mls, tls13_settings)

TICKET_KEYS = [bytearray(b"k" * 32)]


def _server(pki, mls, psk_modes=("psk_dhe_ke", "psk_ke"), policy=None):
    def run(sock):
        conn = MLSTLSConnection(sock, mls_settings=mls)
        if policy is not None:
            conn.mls_update_policy = policy
        conn.handshakeServer(certChain=pki.chain(), privateKey=pki.key(),
                             settings=tls13_settings(ticketKeys=TICKET_KEYS,
                                                     psk_modes=list(psk_modes)))
        conn.write(b"echo:" + bytes(conn.read()))
        return conn
    return run


def _client(mls, session=None, psk_modes=("psk_dhe_ke", "psk_ke"), policy=None,
            positional=False):
    def run(sock):
        conn = MLSTLSConnection(sock, mls_settings=mls)
        if policy is not None:
            conn.mls_update_policy = policy
        settings = tls13_settings(psk_modes=list(psk_modes))
        if positional:  # tlslite-ng's order: certChain, privateKey, session, settings
            conn.handshakeClientCert(None, None, session, settings)
        else:
            conn.handshakeClientCert(session=session, settings=settings)
        conn.write(b"ping")
        reply = bytes(conn.read())  # the tickets arrive before the echo
        return conn, reply
    return run


def _ticketed_session(pki, smls=None):
    c, s = pair(_client(client_mls()), _server(pki, smls or server_mls()))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, _ = c.value
    assert conn.mls_negotiated and conn.session.tickets
    return conn.session


@pytest.mark.parametrize("positional", [False, True], ids=["keywords", "positional"])
def test_psk_dhe_ke_resumption_negotiates_mls(pki, positional):
    session = _ticketed_session(pki)
    # No epoch change after the handshake: the check below is about epoch 1's keys.
    policy = UpdatePolicy(initial_update=False)
    c, s = pair(_client(client_mls(), session, psk_modes=["psk_dhe_ke"], policy=policy,
                        positional=positional),
                _server(pki, server_mls(), policy=policy))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert conn.resumed and reply == b"echo:ping"  # (tlslite-ng servers do not set it)
    assert conn.mls_negotiated and s.value.mls_negotiated
    assert conn.mls_exporter(b"r", b"", 16) == s.value.mls_exporter(b"r", b"", 16)
    # The epoch key schedule starts from the ticket PSK's EarlySecret.
    psk = HandshakeHelpers.calc_res_binder_psk(
        PskIdentity().create(session.tickets[0].ticket, 0), session.resumptionMasterSecret,
        session.tickets)
    early = early_secret(*prf_params(conn.session.cipherSuite), bytes(psk))
    assert early != early_secret(*prf_params(conn.session.cipherSuite), None)
    for side in (conn, s.value):
        assert_epoch_formula_gives_handshake_secrets(side, early)


def test_psk_ke_preferred_falls_back(pki):
    session = _ticketed_session(pki)
    c, s = pair(_client(client_mls(), session, psk_modes=["psk_ke"]),
                _server(pki, server_mls()))
    assert c.error is None and s.error is None, (c.error, s.error)
    conn, reply = c.value
    assert conn.resumed and reply == b"echo:ping"
    assert not conn.mls_negotiated and not s.value.mls_negotiated
    assert "psk_ke" in s.value.mls_declined_reason


def test_psk_ke_required_server_aborts(pki):
    session = _ticketed_session(pki, server_mls(mode="required"))
    c, s = pair(_client(client_mls(), session, psk_modes=["psk_ke"]),
                _server(pki, server_mls(mode="required")))
    assert isinstance(s.error, TLSLocalAlert), s.error
    assert s.error.description == AlertDescription.handshake_failure
    assert "psk_ke" in str(s.error)
    assert isinstance(c.error, TLSRemoteAlert), c.error
    assert c.error.description == AlertDescription.handshake_failure


def test_psk_ke_required_client_aborts(pki):
    session = _ticketed_session(pki)
    c, s = pair(_client(client_mls(mode="required"), session, psk_modes=["psk_ke"]),
                _server(pki, server_mls()))
    assert isinstance(c.error, TLSLocalAlert), c.error
    assert c.error.description == AlertDescription.handshake_failure
    assert isinstance(s.error, TLSRemoteAlert), s.error
    assert s.error.description == AlertDescription.handshake_failure
