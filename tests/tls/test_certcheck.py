"""The server certificate check of classic fallback, case by case (certcheck.py).

The end-to-end cases against OpenSSL are in test_fallback_authentication.py; here
each rule and its alert (docs/profile.md section 4) on its own.
"""

from __future__ import annotations

import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from tlslite.constants import AlertDescription

from pki import TestCA, self_signed_tls
from tlslite_mls.tls import certcheck
from tlslite_mls.tls.certcheck import ServerCertificateError, anchors_from

DAY = datetime.timedelta(days=1)


def _der(*certs) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


def _refused(chain, anchors, name) -> ServerCertificateError:
    with pytest.raises(ServerCertificateError) as info:
        certcheck.verify_server_certificate(chain, anchors, name)
    return info.value


@pytest.fixture(scope="module")
def ca():
    return TestCA("certcheck root")


def test_leaf_from_anchor_accepted_for_dns_and_ip(ca):
    cert, _ = ca.issue_tls(("server.test", "192.0.2.7", "2001:db8::7"))
    for name in ("server.test", "SERVER.test.", "192.0.2.7", "2001:db8::7", "[2001:db8::7]"):
        certcheck.verify_server_certificate(_der(cert), anchors_from([ca.cert]), name)


def test_intermediate_sent_by_the_server_completes_the_path(ca):
    inter = ca.intermediate("certcheck intermediate")
    cert, _ = inter.issue_tls(("server.test",))
    certcheck.verify_server_certificate(_der(cert, inter.cert), anchors_from([ca.cert]),
                                        "server.test")
    e = _refused(_der(cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.unknown_ca and "certcheck intermediate" in e.reason


def test_unknown_issuer_is_unknown_ca(ca):
    cert, _ = TestCA("other root").issue_tls(("server.test",))
    e = _refused(_der(cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.unknown_ca and "'CN=other root'" in e.reason


def test_expired_leaf_and_expired_intermediate_are_certificate_expired(ca):
    cert, _ = ca.issue_tls(("server.test",), not_before=-10 * DAY, not_after=-DAY)
    e = _refused(_der(cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.certificate_expired and "expired on" in e.reason
    old = ca.intermediate("expired intermediate", not_before=-10 * DAY, not_after=-DAY)
    cert, _ = old.issue_tls(("server.test",))
    e = _refused(_der(cert, old.cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.certificate_expired
    assert "'CN=expired intermediate'" in e.reason


def test_not_yet_valid_is_bad_certificate(ca):
    cert, _ = ca.issue_tls(("server.test",), not_before=DAY, not_after=10 * DAY)
    e = _refused(_der(cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.bad_certificate and "not valid before" in e.reason


def test_name_rules(ca):
    cert, _ = ca.issue_tls(("*.example.test",))
    anchors = anchors_from([ca.cert])
    certcheck.verify_server_certificate(_der(cert), anchors, "www.example.test")
    for name in ("example.test", "a.b.example.test", "www.example.tes"):
        e = _refused(_der(cert), anchors, name)
        assert e.alert == AlertDescription.bad_certificate, name
        assert f"not valid for {name!r} (it names *.example.test)" in e.reason
    # No fallback to the subject's common name (as ssl since Python 3.10).
    cn_only = ca.issue_cert(ca.key.public_key(), "server.test", names=[])
    e = _refused(_der(cn_only), anchors, "server.test")
    assert e.alert == AlertDescription.bad_certificate


def test_ca_certificate_as_server_certificate_is_bad_certificate(ca):
    cert = ca.issue_cert(ca.key.public_key(), "server.test", ca=True)
    e = _refused(_der(cert), anchors_from([ca.cert]), "server.test")
    assert e.alert == AlertDescription.bad_certificate


def test_self_signed_certificate_named_as_its_own_anchor_is_accepted():
    """As with ssl's cafile=server.pem: no authorityKeyIdentifier is needed."""
    cert, _ = self_signed_tls(("server.test",))
    certcheck.verify_server_certificate(_der(cert), anchors_from([cert]), "server.test")
    e = _refused(_der(cert), anchors_from([TestCA().cert]), "server.test")
    assert e.alert == AlertDescription.unknown_ca and "self-signed" in e.reason


def test_eddsa_chain_goes_to_the_rfc5280_validator():
    ed = TestCA("ed448 root", key_type="ed448")
    cert, _ = ed.issue_tls(("server.test",), key_type="ed448")
    certcheck.verify_server_certificate(_der(cert), anchors_from([ed.cert]), "server.test")
    e = _refused(_der(cert), anchors_from([ed.cert]), "other.test")
    assert e.alert == AlertDescription.bad_certificate and "not valid for" in str(e)
    cert, _ = ed.issue_tls(("server.test",), key_type="ed448", not_before=-3 * DAY,
                           not_after=-DAY)
    e = _refused(_der(cert), anchors_from([ed.cert]), "server.test")
    assert e.alert == AlertDescription.certificate_expired


def test_empty_and_garbage_chains():
    anchors = anchors_from([TestCA().cert])
    assert _refused([], anchors, "server.test").alert == AlertDescription.decode_error
    e = _refused([b"\x30\x03\x02\x01\x00"], anchors, "server.test")
    assert e.alert == AlertDescription.bad_certificate and "does not parse" in e.reason


def test_a_server_name_that_is_no_name_is_refused(ca):
    cert, _ = ca.issue_tls(("server.test",))
    for name in ("not a name!", "", "\udcff.test"):
        e = _refused(_der(cert), anchors_from([ca.cert]), name)
        assert e.alert == AlertDescription.bad_certificate and "neither a DNS name" in e.reason


def test_internationalised_name_is_checked_in_its_a_label_form(ca):
    cert, _ = ca.issue_tls(("xn--bcher-kva.test",))
    certcheck.verify_server_certificate(_der(cert), anchors_from([ca.cert]), "bücher.test")


def test_system_store_from_ssl_cert_file_skips_what_does_not_parse(tmp_path, monkeypatch, ca):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                       b"-----END CERTIFICATE-----\n" + ca.pem() + ca.pem())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    anchors = certcheck.system_trust_anchors()
    assert len(anchors) == 1 and str(bundle) in anchors.source
    cert, _ = ca.issue_tls(("server.test",))
    certcheck.verify_server_certificate(_der(cert), anchors, "server.test")


def test_no_system_store_is_an_error_not_an_open_door(tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "missing"))
    with pytest.raises(ServerCertificateError) as info:
        certcheck.system_trust_anchors()
    assert info.value.alert == AlertDescription.unknown_ca
    assert "no system trust store" in info.value.reason
