"""welcome.json: join a group from a Welcome (RFC 9420 section 12.4.3)."""

from __future__ import annotations

import pytest

from tlslite_mls.mls.constants import WireFormat
from tlslite_mls.mls.crypto import get_cipher_suite
from tlslite_mls.mls.errors import DecodeError, ProtocolError, VerificationError
from tlslite_mls.mls.keyschedule import epoch_secrets_from_joiner, welcome_secret
from tlslite_mls.mls.messages import MLSMessage
from tlslite_mls.mls.transcript import verify_confirmation_tag
from tlslite_mls.mls.welcome import (EncryptedGroupSecrets, GroupInfo, GroupSecrets,
                                     PathSecret, Welcome, decrypt_group_info,
                                     decrypt_group_secrets, encrypt_group_info,
                                     encrypt_group_secrets)
from helpers import h, load_vectors, run_vector, vector_cases

FILE = "welcome.json"


def _open(v):
    cs = get_cipher_suite(v["cipher_suite"])
    kp_msg = MLSMessage.deserialize(h(v["key_package"]))
    welcome_msg = MLSMessage.deserialize(h(v["welcome"]))
    assert kp_msg.wire_format == WireFormat.KEY_PACKAGE
    assert welcome_msg.wire_format == WireFormat.WELCOME
    return cs, kp_msg.body, welcome_msg.body


def _join(cs, init_priv, kp, welcome, signer_pub):
    """The joiner's steps; returns what it learned."""
    ref = kp.ref(cs)
    secrets = decrypt_group_secrets(cs, init_priv, welcome, ref)
    ws = welcome_secret(cs, secrets.joiner_secret, None)
    gi = decrypt_group_info(cs, ws, welcome.encrypted_group_info)
    assert gi.verify_signature(cs, signer_pub)
    gc = gi.group_context
    epoch = epoch_secrets_from_joiner(cs, secrets.joiner_secret, None, gc.serialize())
    assert verify_confirmation_tag(cs, epoch.confirmation_key, gc.confirmed_transcript_hash,
                                   gi.confirmation_tag)
    return secrets, gi, ws


def _check(v):
    cs, kp, welcome = _open(v)
    init_priv, signer_pub = h(v["init_priv"]), h(v["signer_pub"])
    assert welcome.cipher_suite == cs.suite_id
    secrets, gi, ws = _join(cs, init_priv, kp, welcome, signer_pub)
    assert gi.group_context.cipher_suite == cs.suite_id

    # The other direction: seal the same secrets and GroupInfo again and join from that.
    egi = encrypt_group_info(cs, ws, gi)
    # The AEAD is deterministic under the welcome key and nonce, so re-sealing
    # the decoded GroupInfo reproduces the sender's ciphertext exactly.
    assert egi == welcome.encrypted_group_info
    assert decrypt_group_info(cs, ws, egi) == gi
    ct = encrypt_group_secrets(cs, kp.init_key, egi, secrets)
    mine = Welcome(cs.suite_id, [EncryptedGroupSecrets(kp.ref(cs), ct)], egi)
    mine = MLSMessage.deserialize(MLSMessage.wrap(mine).serialize()).body
    secrets2, gi2, _ = _join(cs, init_priv, kp, mine, signer_pub)
    assert secrets2 == secrets and gi2 == gi

    # A GroupInfo tampered with is caught by its signature.
    gi.signer ^= 1
    assert not gi.verify_signature(cs, signer_pub)


@pytest.mark.parametrize("vector", vector_cases(FILE))
def test_welcome(vector):
    run_vector(FILE, vector, _check)


@pytest.fixture
def parts():
    v = load_vectors(FILE)[0]
    cs, kp, welcome = _open(v)
    return cs, kp, welcome, h(v["init_priv"]), h(v["signer_pub"])


def _flip(data: bytes, i: int) -> bytes:
    b = bytearray(data)
    b[i] ^= 0x80
    return bytes(b)


def test_group_secrets_bound_to_encrypted_group_info(parts):
    cs, kp, welcome, init_priv, _ = parts
    forged = Welcome(welcome.cipher_suite, welcome.secrets,
                     _flip(welcome.encrypted_group_info, 10))
    with pytest.raises(VerificationError):
        decrypt_group_secrets(cs, init_priv, forged, kp.ref(cs))


def test_wrong_init_key_or_ciphertext(parts):
    cs, kp, welcome, init_priv, _ = parts
    other_priv, _ = cs.generate_hpke_key_pair()
    with pytest.raises(VerificationError):
        decrypt_group_secrets(cs, other_priv, welcome, kp.ref(cs))
    entry = welcome.find_secrets(kp.ref(cs))
    entry.encrypted_group_secrets.ciphertext = _flip(entry.encrypted_group_secrets.ciphertext, 0)
    with pytest.raises(VerificationError):
        decrypt_group_secrets(cs, init_priv, welcome, kp.ref(cs))


def test_welcome_not_for_us(parts):
    cs, kp, welcome, init_priv, _ = parts
    with pytest.raises(ProtocolError, match="no group secrets"):
        decrypt_group_secrets(cs, init_priv, welcome, b"\x00" * cs.hash_length)
    other = get_cipher_suite(3 if cs.suite_id != 3 else 1)
    with pytest.raises(ProtocolError, match="cipher suite"):
        decrypt_group_secrets(other, init_priv, welcome, kp.ref(cs))


def test_group_info_wrong_welcome_secret(parts):
    cs, kp, welcome, init_priv, _ = parts
    secrets = decrypt_group_secrets(cs, init_priv, welcome, kp.ref(cs))
    ws = welcome_secret(cs, secrets.joiner_secret, None)
    with pytest.raises(VerificationError):
        decrypt_group_info(cs, _flip(ws, 0), welcome.encrypted_group_info)
    with pytest.raises(VerificationError):
        decrypt_group_info(cs, ws, _flip(welcome.encrypted_group_info, 3))
    # A PSK changes the welcome secret: without it the GroupInfo stays closed.
    with pytest.raises(VerificationError):
        decrypt_group_info(cs, welcome_secret(cs, secrets.joiner_secret, b"\x01" * cs.hash_length),
                           welcome.encrypted_group_info)


def test_group_info_sign_round_trip(parts):
    cs, kp, welcome, init_priv, signer_pub = parts
    secrets = decrypt_group_secrets(cs, init_priv, welcome, kp.ref(cs))
    gi = decrypt_group_info(cs, welcome_secret(cs, secrets.joiner_secret, None),
                            welcome.encrypted_group_info)
    priv, pub = cs.generate_signature_key_pair()
    gi.sign(cs, priv)
    assert gi.verify_signature(cs, pub)
    assert not gi.verify_signature(cs, signer_pub)
    gi2 = GroupInfo.deserialize(gi.serialize())
    assert gi2.verify_signature(cs, pub)
    gi2.confirmation_tag = _flip(gi2.confirmation_tag, 0)
    assert not gi2.verify_signature(cs, pub)


def test_secrets_redacted_in_repr(parts):
    cs, kp, welcome, init_priv, _ = parts
    secrets = decrypt_group_secrets(cs, init_priv, welcome, kp.ref(cs))
    text = repr(secrets)
    assert secrets.joiner_secret.hex() not in text and repr(secrets.joiner_secret) not in text
    gs = GroupSecrets(b"\x42" * 32, PathSecret(b"\x43" * 32), [])
    assert "B" * 8 not in repr(gs) and "C" * 8 not in repr(gs)
    assert "redacted" in repr(PathSecret(b"\x43" * 32))


def test_truncated_welcome(parts):
    cs, kp, welcome, init_priv, _ = parts
    data = MLSMessage.wrap(welcome).serialize()
    for n in range(0, len(data), 3):
        with pytest.raises(DecodeError):
            MLSMessage.deserialize(data[:n])
    secrets = decrypt_group_secrets(cs, init_priv, welcome, kp.ref(cs))
    raw = secrets.serialize()
    for n in range(len(raw)):
        with pytest.raises(DecodeError):
            GroupSecrets.deserialize(raw[:n])
