"""``python -m tlslite_mls probe`` against our own extension-mode server (every check
passes) and against deliberately broken servers (the matching check fails)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from tlslite import HandshakeSettings
from tlslite.messages import ClientHello

from tlslite_mls.codepoints import TLS_EXT_MLS_HANDSHAKE
from tlslite_mls.probe.extension import ExtensionProbe, Target
from tlslite_mls.probe.hostile import mls_extensions
from tlslite_mls.tls import MLSServerSettings, MLSTLSConnection
from tlslite_mls.tls.post_handshake import UpdatePolicy
from tlslite_mls.tls.server import MLSServer
from tlsutil import PY, env_with_repo


def _server(pki, connection_class=MLSTLSConnection, **mls):
    settings = HandshakeSettings()
    settings.minVersion = (3, 4)
    settings.ticketKeys = [bytearray(os.urandom(32))]
    srv = MLSServer(("127.0.0.1", 0), pki.chain(), pki.key(), MLSServerSettings(**mls),
                    settings=settings, update_policy=UpdatePolicy(max_bytes=64))
    srv.connection_class = connection_class
    return srv.start()


@pytest.fixture
def serve(pki):
    servers = []

    def start(connection_class=MLSTLSConnection, **mls):
        servers.append(_server(pki, connection_class, **mls))
        return servers[-1].address[1]
    yield start
    for s in servers:
        s.shutdown()


def _probe(port, **target):
    return ExtensionProbe(Target("127.0.0.1", port, **target)).run()


def _status(report) -> dict:
    return {c.name: c.status for c in report.checks}


def test_our_server_passes_every_check(serve):
    report = _probe(serve())
    assert set(_status(report).values()) == {"pass"}, report.to_table()
    assert len(report.checks) == 17


def test_probe_command_prints_json_and_exit_status(serve):
    port = serve()
    out = subprocess.run([PY, "-m", "tlslite_mls", "probe", f"127.0.0.1:{port}", "--json"],
                         capture_output=True, text=True, timeout=120, env=env_with_repo())
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["failed"] == 0 and len(doc["checks"]) == 17


class KeyShareToo(MLSTLSConnection):
    """Broken: leaves key_share in a ServerHello that carries the Welcome."""

    def _mls_insert_welcome(self, hello):
        shares = [e for e in hello.extensions if e.extType == 51]
        inserted = MLSTLSConnection._mls_insert_welcome(self, hello)
        if inserted:
            hello.extensions[-1:-1] = shares
        return inserted


class AsksForAShare(MLSTLSConnection):
    """Broken: answers an empty key_share with a HelloRetryRequest although it takes
    the KeyPackage."""

    def _mls_stand_in_for_share(self, hello, key_package):
        pass


def test_server_asking_a_required_client_for_a_share_fails_that_check(serve):
    status = _status(_probe(serve(AsksForAShare)))
    assert status["ClientHello with an empty key_share (a required client)"] == "FAIL"
    assert status["handshake completes with MLS"] == "pass"


def test_server_sending_key_share_too_fails_that_check(serve):
    status = _status(_probe(serve(KeyShareToo)))
    assert status["no key_share with the extension"] == "FAIL"
    assert status["handshake completes with MLS"] == "FAIL"  # our client refuses it
    assert status["empty KeyPackage"] == "pass"


class IgnoresHRRRule(MLSTLSConnection):
    """Broken: takes a second ClientHello whose KeyPackage changed (docs/profile.md
    section 3 wants illegal_parameter) by putting the first one back."""

    def _getMsg(self, expectedType, secondaryType=None, constructorType=None):  # noqa: N802,N803
        for result in MLSTLSConnection._getMsg(self, expectedType, secondaryType,
                                               constructorType):
            if isinstance(result, ClientHello):
                found = mls_extensions(result, TLS_EXT_MLS_HANDSHAKE)
                if found:
                    first = self.__dict__.setdefault("first_key_package", found[0].body)
                    found[0].body = first
            yield result


def test_server_ignoring_the_hrr_rule_fails_that_check(serve):
    status = _status(_probe(serve(IgnoresHRRRule)))
    assert status["changed extension after HelloRetryRequest"] == "FAIL"
    others = {k: v for k, v in status.items() if k != "changed extension after HelloRetryRequest"}
    assert set(others.values()) == {"pass"}, status


def test_other_code_point_is_probed(serve):
    port = serve(extension_type=0xFF4E)
    assert _status(_probe(port))["extension code point in ServerHello"] == "FAIL"
    report = _probe(port, codepoints={"extension_type": 0xFF4E})
    assert set(_status(report).values()) == {"pass"}, report.to_table()


def test_server_binding_another_client_hello_fails_that_check(serve, monkeypatch):
    """Broken: the GroupInfo's tls_client_hello_hash is not the ClientHello's."""
    import tlslite_mls.tls.engine as engine
    real = engine.load()

    class WrongHash(real.ResponderHandshake):
        def accept(self, key_package, client_hello_hash):
            return super().accept(key_package,
                                  bytes([client_hello_hash[0] ^ 1]) + client_hello_hash[1:])
    broken = type(real)(**vars(real))
    broken.ResponderHandshake = WrongHash
    monkeypatch.setattr(engine, "load", lambda: broken)
    report = _probe(serve())
    status = _status(report)
    assert status["tls_client_hello_hash"] == "FAIL", report.to_table()
    assert status["Welcome validity"] == "pass", report.to_table()
    assert status["no key_share with the extension"] == "pass"
