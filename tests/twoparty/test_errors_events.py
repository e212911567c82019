"""Engine errors (alert names, core types) and KeyMaterial hygiene."""

from __future__ import annotations

import pytest

from tlslite_mls.mls import errors as core
from tlslite_mls.mls.auth import CertificateError
from tlslite_mls.twoparty import errors as E
from tlslite_mls.twoparty.events import KeyMaterial


@pytest.mark.parametrize("exc,cls,alert", [
    (core.DecodeError("x", ["a"]), core.DecodeError, "decode_error"),
    (core.VerificationError("x"), core.VerificationError, "decrypt_error"),
    (CertificateError("x"), CertificateError, "bad_certificate"),
    (core.CredentialError("x"), core.CredentialError, "access_denied"),
    (core.ProtocolError("x"), core.ProtocolError, "illegal_parameter"),
    (core.StateError("x"), core.StateError, "unexpected_message"),
    (core.UnsupportedError("x"), core.UnsupportedError, "illegal_parameter"),
])
def test_core_errors_become_engine_errors(exc, cls, alert):
    new = E.as_engine_error(exc)
    assert isinstance(new, E.TwoPartyError) and isinstance(new, cls)
    assert new.alert == alert == E.alert_name(exc)
    assert new.__cause__ is exc


def test_engine_errors_keep_their_alert():
    for cls, alert in [(E.UnexpectedMessage, "unexpected_message"),
                       (E.UpdateInFlight, "unexpected_message"),
                       (E.WrongEpoch, "illegal_parameter"),
                       (E.InvalidCommit, "illegal_parameter"),
                       (E.BindingError, "illegal_parameter"),
                       (E.ClientHelloHashMismatch, "illegal_parameter")]:
        err = cls("why")
        assert err.alert == alert and E.as_engine_error(err) is err and str(err) == "why"
    assert E.alert_name(RuntimeError("bug")) == "internal_error"
    assert E.as_engine_error(KeyError("k")).__class__ is KeyError
    assert E.Declined("suite").reason == "suite"
    assert not issubclass(E.Declined, core.MLSError)


def test_key_material():
    km = KeyMaterial(5, [((b"L", b"", 4), b"\x01\x02\x03\x04"), ((b"M", b"c", 2), b"\xaa\xbb")])
    assert km.export(b"L") == b"\x01\x02\x03\x04"
    assert km.export(b"M", b"c", 2) == b"\xaa\xbb"
    with pytest.raises(KeyError):
        km.export(b"L", b"", 8)
    copy = km.copy()
    km.wipe()
    assert km.wiped and not copy.wiped
    with pytest.raises(core.StateError):
        km.export(b"L")
    with pytest.raises(core.StateError):
        km.copy()
    assert copy.export(b"L") == b"\x01\x02\x03\x04"
    assert "01020304" not in repr(copy) and "epoch 5" in repr(copy)
