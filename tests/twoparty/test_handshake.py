"""Initial agreement (docs/profile.md sections 2 and 3): both roles, every suite, every refusal."""

from __future__ import annotations

import pytest

from pki import Refuse, TestCA
from tlslite_mls.codepoints import (GROUP_ID_PREFIX, MLS_EXT_TLS_BINDING,
                                    MLS_EXT_TLS_CLIENT_HELLO_HASH, TLS_BINDING_EXTENSION_MODE,
                                    TLS_BINDING_MLS_TLS)
from tlslite_mls.mls.codec import Reader, Writer
from tlslite_mls.mls.constants import ExtensionType
from tlslite_mls.mls.credentials import Credential
from tlslite_mls.mls.crypto import get_cipher_suite, supported_cipher_suites
from tlslite_mls.mls.errors import (CredentialError, DecodeError, ProtocolError,
                                    VerificationError)
from tlslite_mls.mls.extensions import Extension, RequiredCapabilities, find_extension
from tlslite_mls.mls.group import Group
from tlslite_mls.mls.keypackage import KeyPackage, create_key_package, default_capabilities
from tlslite_mls.mls.proposals import Add, Proposal
from tlslite_mls.store import MemoryStore
from tlslite_mls.twoparty import errors as E
from tlslite_mls.twoparty.events import SwitchSendingKeys
from tlslite_mls.twoparty.handshake import (Declined, InitiatorHandshake, MLSHandshakeConfig,
                                            ResponderHandshake)
from tlslite_mls.twoparty.session import Role
from tp_util import CH_HASH, LABEL, configs, full_update, handshake, identity

SUITES = supported_cipher_suites()  # the seven of RFC 9420 and the post-quantum ones


def _opaque(data: bytes) -> bytes:
    w = Writer()
    w.opaque(data)
    return w.getvalue()


# -- success --------------------------------------------------------------------------

@pytest.mark.parametrize("suite", SUITES)
def test_agreement_every_suite(suite):
    client, server = handshake(suite)
    cs = get_cipher_suite(suite)
    assert client.cipher_suite == server.cipher_suite == suite
    assert client.epoch == server.epoch == 1
    assert client.role is Role.INITIATOR and server.role is Role.RESPONDER
    assert client.group_id == server.group_id
    assert client.group_id.startswith(GROUP_ID_PREFIX) and len(client.group_id) == 5 + 32
    assert client.peer_identity == server.local_identity == b"server.test"
    assert server.peer_identity == client.local_identity
    secret = client.exporter(LABEL, b"", cs.hash_length)
    assert secret == server.exporter(LABEL, b"", cs.hash_length)
    assert len(secret) == cs.hash_length
    assert client.sending_epoch == client.receiving_epoch == 1
    # Both directions of the engine work in this suite.
    full_update(client, server)
    full_update(server, client)
    assert client.epoch == server.epoch == 3
    assert client.exporter(b"x", b"", 16) == server.exporter(b"x", b"", 16)


def test_key_package_is_fresh_per_handshake_and_stable_for_hrr():
    cc, _ = configs()
    ini = InitiatorHandshake(cc)
    kp = ini.key_package()
    assert ini.key_package() == kp
    assert InitiatorHandshake(cc).key_package() != kp
    parsed = KeyPackage.deserialize(kp)
    leaf = parsed.leaf_node
    ext = find_extension(leaf.extensions, MLS_EXT_TLS_BINDING)
    assert Reader(ext.extension_data).opaque() == TLS_BINDING_EXTENSION_MODE
    assert MLS_EXT_TLS_BINDING in leaf.capabilities.extensions
    assert {1, 2} <= set(leaf.capabilities.credentials)  # basic and x509
    lt = leaf.lifetime
    assert lt.not_after - lt.not_before == 3600


def test_group_context_binding_and_welcome_contents():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    welcome, server = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    client = ini.process_welcome(welcome, CH_HASH)
    g = client._group
    assert find_extension(g.extensions, MLS_EXT_TLS_BINDING) is not None
    req = RequiredCapabilities.deserialize(
        find_extension(g.extensions, ExtensionType.REQUIRED_CAPABILITIES).extension_data)
    assert MLS_EXT_TLS_BINDING in req.extension_types
    info = g.joined_group_info
    assert find_extension(info.extensions, ExtensionType.RATCHET_TREE) is not None
    assert Reader(find_extension(info.extensions, MLS_EXT_TLS_CLIENT_HELLO_HASH)
                  .extension_data).opaque() == CH_HASH
    assert g.own_leaf == 1 and server._group.own_leaf == 0


def test_client_picks_first_suite_it_has_a_credential_for():
    c1, k1 = identity(3, b"client")
    cc = MLSHandshakeConfig(suites=[1, 3], credential={3: c1}, signature_key={3: k1},
                            expected_identity=b"x")
    assert KeyPackage.deserialize(InitiatorHandshake(cc).key_package()).cipher_suite == 3


def test_aliases_and_config_checks():
    c, k = identity(1, b"a")
    cfg = MLSHandshakeConfig(credential=c, signature_private=k, policy=Refuse(lambda c: True))
    assert cfg.signature_key == k and isinstance(cfg.auth_policy, Refuse)
    with pytest.raises(ValueError):
        MLSHandshakeConfig(key_package_lifetime=25 * 3600)
    with pytest.raises(ValueError):
        MLSHandshakeConfig(suites=[0x9999])
    with pytest.raises(ValueError):
        MLSHandshakeConfig(suites=[])
    assert "signature_key" not in repr(cfg)


def test_mls_tls_binding_keeps_modes_apart():
    cc, sc = configs(client={"binding_protocol": TLS_BINDING_MLS_TLS},
                     server={"binding_protocol": TLS_BINDING_MLS_TLS})
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    ini.process_welcome(welcome, CH_HASH)
    # An extension-mode server refuses an MLS-TLS KeyPackage.
    _, ext_server = configs()
    with pytest.raises(E.BindingError) as info:
        ResponderHandshake(ext_server).accept(InitiatorHandshake(cc).key_package(), CH_HASH)
    assert info.value.alert == "illegal_parameter"


# -- server-side refusals ----------------------------------------------------------------

def _raw_key_package(suite=1, *, binding=TLS_BINDING_EXTENSION_MODE, lifetime=3600,
                     listed=True, name=b"client"):
    cs = get_cipher_suite(suite)
    cred, key = identity(suite, name)
    exts = [Extension(MLS_EXT_TLS_BINDING, _opaque(binding))] if binding is not None else []
    caps = default_capabilities(cs, extensions=[MLS_EXT_TLS_BINDING] if listed else [])
    return create_key_package(cs, cred, key, capabilities=caps, lifetime_seconds=lifetime,
                              leaf_extensions=exts)


def test_server_refuses_key_package_without_binding():
    _, sc = configs()
    kp = _raw_key_package(binding=None).key_package.serialize()
    with pytest.raises(E.BindingError) as info:
        ResponderHandshake(sc).accept(kp, CH_HASH)
    assert isinstance(info.value, ProtocolError) and info.value.alert == "illegal_parameter"


def test_server_refuses_wrong_binding():
    _, sc = configs()
    kp = _raw_key_package(binding=b"messaging").key_package.serialize()
    with pytest.raises(E.BindingError):
        ResponderHandshake(sc).accept(kp, CH_HASH)


def test_server_refuses_binding_not_listed_in_capabilities():
    _, sc = configs()
    kp = _raw_key_package(listed=False).key_package.serialize()
    with pytest.raises(E.IllegalParameter):
        ResponderHandshake(sc).accept(kp, CH_HASH)


def test_lifetime_over_24_hours_declined():
    _, sc = configs()
    kp = _raw_key_package(lifetime=24 * 3600 + 1).key_package.serialize()
    with pytest.raises(Declined, match="lifetime"):
        ResponderHandshake(sc).accept(kp, CH_HASH)
    # Exactly 24 h is fine; a stricter server maximum declines it.
    ok = _raw_key_package(lifetime=24 * 3600).key_package.serialize()
    ResponderHandshake(sc).accept(ok, CH_HASH)
    _, strict = configs(server={"max_key_package_lifetime": 3600})
    with pytest.raises(Declined):
        ResponderHandshake(strict).accept(_raw_key_package(lifetime=7200).key_package.serialize(),
                                          CH_HASH)


def test_expired_key_package_declined():
    _, sc = configs(server={"clock": lambda: __import__("time").time() + 3 * 3600})
    with pytest.raises(Declined, match="expired"):
        ResponderHandshake(sc).accept(_raw_key_package().key_package.serialize(), CH_HASH)


def test_replayed_key_package_declined():
    store = MemoryStore()
    cc, sc = configs(store=store)
    kp = InitiatorHandshake(cc).key_package()
    ResponderHandshake(sc).accept(kp, CH_HASH)
    with pytest.raises(Declined, match="already used"):
        ResponderHandshake(sc).accept(kp, CH_HASH)
    # Another server process sharing the store refuses it too.
    _, sc2 = configs(store=store)
    with pytest.raises(Declined):
        ResponderHandshake(sc2).accept(kp, CH_HASH)


def test_default_store_is_process_wide():
    _, sc = configs(store=MemoryStore())
    sc.store = None
    sc2 = MLSHandshakeConfig(credential=sc.credential, signature_key=sc.signature_key)
    kp = InitiatorHandshake(configs()[0]).key_package()
    ResponderHandshake(sc).accept(kp, CH_HASH)
    with pytest.raises(Declined):
        ResponderHandshake(sc2).accept(kp, CH_HASH)


def test_unsupported_suite_declined():
    cc, _ = configs(3)
    _, sc = configs(1)
    with pytest.raises(Declined, match="0x0003"):
        ResponderHandshake(sc).accept(InitiatorHandshake(cc).key_package(), CH_HASH)


def test_server_without_credential_for_suite_declined():
    c, k = identity(1, b"s")
    sc = MLSHandshakeConfig(suites=[1, 3], credential={1: c}, signature_key={1: k})
    cc, _ = configs(3)
    with pytest.raises(Declined, match="no server credential"):
        ResponderHandshake(sc).accept(InitiatorHandshake(cc).key_package(), CH_HASH)


def test_client_credential_refused_by_server_policy_declined():
    cc, sc = configs(server={"auth_policy": Refuse(lambda c: True)})
    with pytest.raises(Declined, match="refused"):
        ResponderHandshake(sc).accept(InitiatorHandshake(cc).key_package(), CH_HASH)


def test_client_x509_refused_by_server_policy_declined():
    from tlslite_mls.mls.auth import X509Policy
    ca, other = TestCA(), TestCA()
    cs = get_cipher_suite(2)
    priv, _ = cs.generate_signature_key_pair()
    cred = Credential.x509([other.issue(cs, priv, "client.test", server=False)])
    cc, sc = configs(2, client={"credential": cred, "signature_key": priv},
                     server={"auth_policy": X509Policy([ca.cert])})
    with pytest.raises(Declined, match="refused"):
        ResponderHandshake(sc).accept(InitiatorHandshake(cc).key_package(), CH_HASH)
    # The same client is welcome by a server trusting its CA.
    _, sc_ok = configs(2, server={"auth_policy": X509Policy([other.cert])})
    ResponderHandshake(sc_ok).accept(InitiatorHandshake(cc).key_package(), CH_HASH)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x01\x00\x01" + b"\xff" * 40,
                                  b"garbage" * 10])
def test_garbage_key_package(data):
    _, sc = configs()
    with pytest.raises(DecodeError) as info:
        ResponderHandshake(sc).accept(data, CH_HASH)
    assert info.value.alert == "decode_error"


def test_truncated_and_trailing_key_package():
    cc, sc = configs()
    kp = InitiatorHandshake(cc).key_package()
    for bad in (kp[:-1], kp[: len(kp) // 2], kp + b"\x00"):
        with pytest.raises(DecodeError):
            ResponderHandshake(sc).accept(bad, CH_HASH)


def test_key_package_with_bad_signature():
    cc, sc = configs()
    kp = bytearray(InitiatorHandshake(cc).key_package())
    kp[-1] ^= 1
    with pytest.raises(VerificationError) as info:
        ResponderHandshake(sc).accept(bytes(kp), CH_HASH)
    assert info.value.alert == "decrypt_error"


# -- client-side refusals ------------------------------------------------------------------

def test_wrong_client_hello_hash():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(E.ClientHelloHashMismatch) as info:
        ini.process_welcome(welcome, bytes(32))
    assert info.value.alert == "illegal_parameter"
    assert isinstance(info.value, ProtocolError)


def test_group_id_without_prefix():
    cc, sc = configs(server={"group_id_prefix": b"tls12"})
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(E.BindingError, match="group_id"):
        ini.process_welcome(welcome, CH_HASH)


def _rogue_welcome(ini, suite=1, *, group_id=None, context_exts=None, gi_exts=None,
                   add_path=False):
    """A Welcome from a server that does not follow the profile."""
    cs = get_cipher_suite(suite)
    kp = KeyPackage.deserialize(ini.key_package())
    cred, key = identity(suite, b"server.test")
    binding = Extension(MLS_EXT_TLS_BINDING, _opaque(TLS_BINDING_EXTENSION_MODE))
    own = create_key_package(cs, cred, key, leaf_extensions=[binding],
                             capabilities=default_capabilities(cs, extensions=[MLS_EXT_TLS_BINDING]))
    req = Extension(ExtensionType.REQUIRED_CAPABILITIES,
                    RequiredCapabilities([MLS_EXT_TLS_BINDING], [], []).serialize())
    g = Group.create(own, group_id=group_id or GROUP_ID_PREFIX + bytes(32),
                     extensions=[req, binding] if context_exts is None else context_exts)
    ch = Extension(MLS_EXT_TLS_CLIENT_HELLO_HASH, _opaque(CH_HASH))
    pc = g.commit(proposals=[Proposal.of(Add(kp))], path=add_path,
                  group_info_extensions=[ch] if gi_exts is None else gi_exts)
    return pc.welcome.serialize()


def test_rogue_welcome_baseline_is_accepted():
    ini = InitiatorHandshake(configs()[0])
    ini.process_welcome(_rogue_welcome(ini), CH_HASH)


def test_group_context_without_binding():
    ini = InitiatorHandshake(configs()[0])
    with pytest.raises(E.BindingError, match="tls_binding"):
        ini.process_welcome(_rogue_welcome(ini, context_exts=[]), CH_HASH)


def test_required_capabilities_without_binding():
    ini = InitiatorHandshake(configs()[0])
    binding = Extension(MLS_EXT_TLS_BINDING, _opaque(TLS_BINDING_EXTENSION_MODE))
    with pytest.raises(E.BindingError, match="required_capabilities"):
        ini.process_welcome(_rogue_welcome(ini, context_exts=[binding]), CH_HASH)


def test_missing_client_hello_hash():
    ini = InitiatorHandshake(configs()[0])
    with pytest.raises(E.ClientHelloHashMismatch):
        ini.process_welcome(_rogue_welcome(ini, gi_exts=[]), CH_HASH)


def test_welcome_with_path_is_not_the_profile_shape():
    ini = InitiatorHandshake(configs()[0])
    # Still epoch 1 and two members: accepted (the path only adds server entropy).
    ini.process_welcome(_rogue_welcome(ini, add_path=True), CH_HASH)


def test_default_client_policy_refuses_unauthenticated_server():
    cc, sc = configs(client={"expected_identity": None})
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(CredentialError) as info:
        ini.process_welcome(welcome, CH_HASH)
    assert info.value.alert == "access_denied"


def test_expected_identity_mismatch():
    cc, sc = configs(client={"expected_identity": b"someone.else"})
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(E.PeerCredentialRefused):
        ini.process_welcome(welcome, CH_HASH)


@pytest.mark.parametrize("suite", [1, 2])
def test_x509_server_credential(suite):
    ca = TestCA()
    cs = get_cipher_suite(suite)
    priv, _ = cs.generate_signature_key_pair()
    cred = Credential.x509([ca.issue(cs, priv, "server.test")])
    server_kw = {"credential": cred, "signature_key": priv}

    def run(**client_kw):
        cc, sc = configs(suite, client={"expected_identity": None, **client_kw}, server=server_kw)
        ini = InitiatorHandshake(cc)
        welcome, server = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
        return ini.process_welcome(welcome, CH_HASH), server

    client, server = run(trust_anchors=[ca.cert], server_name="server.test")
    assert client.peer_identity == b"server.test"
    full_update(server, client)  # the renewed x509 leaf passes the successor check
    with pytest.raises(E.PeerCertificateRefused) as info:
        run(trust_anchors=[ca.cert], server_name="other.test")
    assert info.value.alert == "bad_certificate"
    with pytest.raises(E.PeerCertificateRefused):
        run(trust_anchors=[TestCA().cert], server_name="server.test")
    # A basic server credential where x509 trust anchors are configured: refused.
    cc, sc = configs(suite, client={"expected_identity": None, "trust_anchors": [ca.cert],
                                    "server_name": "server.test"})
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(E.PeerCredentialRefused) as info:
        ini.process_welcome(welcome, CH_HASH)
    assert info.value.alert == "access_denied"


@pytest.mark.parametrize("data", [b"", b"\x00\x01", b"junk" * 30])
def test_garbage_welcome(data):
    ini = InitiatorHandshake(configs()[0])
    ini.key_package()
    with pytest.raises(DecodeError) as info:
        ini.process_welcome(data, CH_HASH)
    assert info.value.alert == "decode_error"


def test_welcome_for_another_key_package():
    cc, sc = configs()
    ini, other = InitiatorHandshake(cc), InitiatorHandshake(cc)
    other.key_package()
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    with pytest.raises(E.TwoPartyError):
        other.process_welcome(welcome, CH_HASH)


def test_tampered_welcome():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    bad = bytearray(welcome)
    bad[-5] ^= 0x40
    with pytest.raises(VerificationError) as info:
        ini.process_welcome(bytes(bad), CH_HASH)
    assert info.value.alert == "decrypt_error"
    # The failure left the handshake usable for the genuine Welcome.
    ini.process_welcome(welcome, CH_HASH)


def test_welcome_twice_or_without_key_package():
    cc, sc = configs()
    ini = InitiatorHandshake(cc)
    welcome, _ = ResponderHandshake(sc).accept(ini.key_package(), CH_HASH)
    ini.process_welcome(welcome, CH_HASH)
    with pytest.raises(E.UnexpectedMessage):
        ini.process_welcome(welcome, CH_HASH)
    with pytest.raises(E.UnexpectedMessage):
        InitiatorHandshake(cc).process_welcome(welcome, CH_HASH)


def test_session_repr_has_no_secrets():
    client, server = handshake()
    text = repr(client) + repr(server)
    assert "epoch 1" in text
    secret = client.exporter(LABEL, b"", 32)
    assert secret.hex() not in text


def test_key_exports_from_config():
    client, server = handshake(client={"key_exports": [(LABEL, b"", 48)]},
                               server={"key_exports": [(LABEL, b"", 48)]})
    from tp_util import sends
    (cu,) = sends(client.start_update())
    ev = server.receive(cu)
    keys = [e for e in ev if isinstance(e, SwitchSendingKeys)][0].keys
    assert len(keys.export(LABEL, b"", 48)) == 48
    with pytest.raises(KeyError):
        keys.export(LABEL, b"", 32)
