"""GroupInfo and Welcome (RFC 9420 sections 12.4.3 and 12.4.3.1).

A Welcome carries one encrypted GroupInfo for all joiners plus, per joiner,
the GroupSecrets HPKE-encrypted to the init key of the KeyPackage it was added
with. The HPKE context is the encrypted GroupInfo itself, which ties each
joiner's secrets to exactly that GroupInfo: swapping in another one makes the
HPKE decryption fail rather than letting a joiner start from a forged state.
"""

from __future__ import annotations

from typing import Optional, Union

from .codec import U16, U32, Opaque, Opt, Struct, Vec, Writer, struct
from .crypto import CipherSuite
from .errors import ProtocolError
from .extensions import Extension
from .groupcontext import GroupContext
from .keyschedule import welcome_key_nonce
from .psk import PreSharedKeyID
from .treekem import HPKECiphertext

__all__ = [
    "GroupInfo", "PathSecret", "GroupSecrets", "EncryptedGroupSecrets", "Welcome",
    "encrypt_group_secrets", "decrypt_group_secrets", "encrypt_group_info",
    "decrypt_group_info",
]

WELCOME_LABEL = "Welcome"
GROUP_INFO_LABEL = "GroupInfoTBS"


@struct
class GroupInfo(Struct):
    """What a joiner learns about the group (section 12.4.3): its context, extensions,
    confirmation tag, and the signature of the member who made it."""
    group_context: GroupContext
    extensions: Vec[Extension]
    confirmation_tag: Opaque
    signer: U32
    signature: Opaque

    def tbs(self) -> bytes:
        """GroupInfoTBS: every field but the signature."""
        w = Writer()
        self.group_context.write(w)
        w.structs(self.extensions)
        w.opaque(self.confirmation_tag)
        w.u32(self.signer)
        return bytes(w.buf)

    def sign(self, cs: CipherSuite, signature_private: bytes) -> None:
        """Sign GroupInfoTBS as the member at leaf ``signer`` (sets ``signature``)."""
        self.signature = cs.sign_with_label(signature_private, GROUP_INFO_LABEL, self.tbs())

    def verify_signature(self, cs: CipherSuite, signer_public_key: bytes) -> bool:
        """Whether ``signature`` is the signer's over GroupInfoTBS.

        The caller looks the key up at leaf ``signer`` of the tree it received.
        """
        return cs.verify_with_label(signer_public_key, GROUP_INFO_LABEL, self.tbs(),
                                    self.signature)


@struct
class PathSecret(Struct):
    _secret_fields_ = ("path_secret",)
    path_secret: Opaque


@struct
class GroupSecrets(Struct):
    _secret_fields_ = ("joiner_secret", "path_secret")
    joiner_secret: Opaque
    path_secret: Opt[PathSecret]
    psks: Vec[PreSharedKeyID]


@struct
class EncryptedGroupSecrets(Struct):
    new_member: Opaque  # KeyPackageRef
    encrypted_group_secrets: HPKECiphertext


@struct
class Welcome(Struct):
    """The message that adds new members (section 12.4.3.1): the group secrets encrypted
    to each joiner's KeyPackage init key, and the GroupInfo encrypted under the
    welcome secret."""
    cipher_suite: U16
    secrets: Vec[EncryptedGroupSecrets]
    encrypted_group_info: Opaque

    def find_secrets(self, key_package_ref: bytes) -> Optional[EncryptedGroupSecrets]:
        """The entry addressed to the KeyPackage with this reference, if any."""
        for entry in self.secrets:
            if entry.new_member == key_package_ref:
                return entry
        return None


def encrypt_group_secrets(cs: CipherSuite, init_key: bytes, encrypted_group_info: bytes,
                          group_secrets: Union[GroupSecrets, bytes]) -> HPKECiphertext:
    """EncryptWithLabel(init_key, "Welcome", encrypted_group_info, group_secrets)."""
    plaintext = group_secrets if isinstance(group_secrets, bytes) else group_secrets.serialize()
    kem_output, ciphertext = cs.encrypt_with_label(init_key, WELCOME_LABEL,
                                                   encrypted_group_info, plaintext)
    return HPKECiphertext(kem_output, ciphertext)


def decrypt_group_secrets(cs: CipherSuite, init_private: bytes, welcome: Welcome,
                          key_package_ref: bytes) -> GroupSecrets:
    """The joiner's GroupSecrets from a Welcome.

    Raises :class:`ProtocolError` if the Welcome uses another cipher suite or
    has nothing for this KeyPackage, :class:`VerificationError` if HPKE fails
    and :class:`DecodeError` if the plaintext is not a GroupSecrets.
    """
    if welcome.cipher_suite != cs.suite_id:
        raise ProtocolError(f"Welcome uses cipher suite 0x{welcome.cipher_suite:04x}, "
                            f"expected 0x{cs.suite_id:04x}")
    entry = welcome.find_secrets(key_package_ref)
    if entry is None:
        raise ProtocolError("Welcome has no group secrets for this KeyPackage")
    ct = entry.encrypted_group_secrets
    plaintext = cs.decrypt_with_label(init_private, WELCOME_LABEL, welcome.encrypted_group_info,
                                      ct.kem_output, ct.ciphertext)
    return GroupSecrets.deserialize(plaintext)


def encrypt_group_info(cs: CipherSuite, welcome_secret: bytes,
                       group_info: Union[GroupInfo, bytes]) -> bytes:
    """AEAD-seal the GroupInfo under the welcome key and nonce (empty AAD)."""
    plaintext = group_info if isinstance(group_info, bytes) else group_info.serialize()
    key, nonce = welcome_key_nonce(cs, welcome_secret)
    return cs.aead_encrypt(key, nonce, b"", plaintext)


def decrypt_group_info(cs: CipherSuite, welcome_secret: bytes,
                       encrypted_group_info: bytes) -> GroupInfo:
    """Open and decode a Welcome's GroupInfo.

    Only decryption happens here; the caller still has to check the signature
    (it needs the tree for the signer's key) and the confirmation tag.
    """
    key, nonce = welcome_key_nonce(cs, welcome_secret)
    return GroupInfo.deserialize(cs.aead_decrypt(key, nonce, b"", encrypted_group_info))
