"""Identity files (docs/profile.md section 10): one MLS signature key, its credential and suite.

An identity file is text with PEM blocks, readable by OpenSSL where it can be:

- ``PRIVATE KEY``: the signature private key as PKCS#8 (Ed25519, Ed448, ECDSA, ML-DSA);
- ``MLS IDENTITY``: ``struct { uint16 cipher_suite; Credential credential; }`` (RFC 9420
  encoding; the credential is basic or x509 with its chain).

Its public side, what a peer pins (``--pin``, ``pinned_keys``), is one block:

- ``MLS PUBLIC IDENTITY``: ``struct { uint16 cipher_suite; opaque name<V>;
  opaque signature_key<V>; }``.

Both files start with a comment line (name, suite, key fingerprint). The same files
serve both modes and every command. :func:`load_identity` returns an
:class:`Identity` whose :meth:`Identity.settings` are the keywords both modes'
settings take; :func:`load_public_identity` returns the ``PublicIdentity`` that
``pinned_keys`` takes.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .mls.auth import PublicIdentity, check_credential_binding, credential_identity
from .mls.codec import Reader, Writer
from .mls.constants import CredentialType
from .mls.credentials import Credential
from .mls.crypto import CipherSuite, SigningKey, get_cipher_suite
from .mls.errors import MLSError

__all__ = ["Identity", "IdentityFileError", "generate_identity", "load_identity",
           "load_public_identity", "public_identity_pem", "private_key_from_pem",
           "private_key_to_pem", "private_key_object", "issue_certificate",
           "write_private_file"]

IDENTITY_LABEL = "MLS IDENTITY"
PUBLIC_LABEL = "MLS PUBLIC IDENTITY"
_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)

Source = Union[str, "os.PathLike[str]", bytes]


class IdentityFileError(ValueError):
    """An identity or public identity file that cannot be used; says which and why."""


# ----------------------------------------------------------------------------
# signature keys: MLS wire bytes <-> cryptography objects
# ----------------------------------------------------------------------------
_CURVES = {"ecdsa_secp256r1_sha256": ec.SECP256R1, "ecdsa_secp384r1_sha384": ec.SECP384R1,
           "ecdsa_secp521r1_sha512": ec.SECP521R1}
_MLDSA = {"mldsa44": mldsa.MLDSA44PrivateKey, "mldsa65": mldsa.MLDSA65PrivateKey,
          "mldsa87": mldsa.MLDSA87PrivateKey}
_SCHEME_OF_CURVE = {"secp256r1": "ecdsa_secp256r1_sha256", "secp384r1": "ecdsa_secp384r1_sha384",
                    "secp521r1": "ecdsa_secp521r1_sha512"}


def private_key_object(cs: CipherSuite, raw: bytes) -> Any:
    """A ``cryptography`` private key object from an MLS signature private key."""
    name = cs.signature.name
    if name == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(raw)
    if name == "ed448":
        return ed448.Ed448PrivateKey.from_private_bytes(raw)
    if name in _MLDSA:
        return _MLDSA[name].from_seed_bytes(raw)
    return ec.derive_private_key(int.from_bytes(raw, "big"), _CURVES[name]())


def private_key_to_pem(cs: CipherSuite, private: "bytes | SigningKey") -> bytes:
    """An MLS signature private key (wire bytes) as unencrypted PKCS#8 PEM."""
    raw = private.private_bytes if isinstance(private, SigningKey) else bytes(private)
    return private_key_object(cs, raw).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def private_key_from_pem(pem: bytes) -> tuple[bytes, str]:
    """(MLS wire bytes, signature scheme name) of a PEM private key."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise IdentityFileError(f"not a usable PEM private key: {e}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw(), "ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return key.private_bytes_raw(), "ed448"
    for scheme, cls in _MLDSA.items():
        if isinstance(key, cls):
            return key.private_bytes_raw(), scheme  # the 32-byte seed, as MLS keeps it
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _SCHEME_OF_CURVE:
        size = (key.curve.key_size + 7) // 8
        return (key.private_numbers().private_value.to_bytes(size, "big"),
                _SCHEME_OF_CURVE[key.curve.name])
    raise IdentityFileError("MLS signature keys are Ed25519, Ed448, ECDSA P-256/384/521 or "
                            "ML-DSA-44/65/87, "
                            f"not {type(key).__name__}")


# ----------------------------------------------------------------------------
# identities
# ----------------------------------------------------------------------------
@dataclass
class Identity:
    """One MLS identity: suite, credential, signature key (never shown in the repr)."""

    cipher_suite: int
    credential: Credential
    signature_key: SigningKey

    @property
    def suite(self) -> CipherSuite:
        """The MLS cipher suite the key belongs to."""
        return get_cipher_suite(self.cipher_suite)

    @property
    def public_key(self) -> bytes:
        """The signature public key, in the wire encoding."""
        return self.suite.signature.public_key(self.signature_key.private_bytes)

    @property
    def name(self) -> bytes:
        """The credential's name (basic identity, or the x509 end entity's name)."""
        return credential_identity(self.credential)

    def public(self) -> PublicIdentity:
        """What a peer pins: name and signature public key."""
        return PublicIdentity(self.public_key, self.name, self.cipher_suite)

    def settings(self) -> dict[str, Any]:
        """Keywords for either mode's settings: ``suites``, ``credential``,
        ``signature_key``."""
        return {"suites": [self.cipher_suite], "credential": self.credential,
                "signature_key": self.signature_key}

    def to_pem(self) -> bytes:
        """The identity file's text: a comment line, the PKCS#8 ``PRIVATE KEY`` block
        and the ``MLS IDENTITY`` block (docs/profile.md section 10)."""
        w = Writer()
        w.u16(self.cipher_suite)
        self.credential.write(w)
        kind = "x509" if self.credential.credential_type == CredentialType.X509 else "basic"
        # The key first: OpenSSL reads the first block it can decode as a key.
        return (_comment("MLS identity", self.public(), f"{kind} credential")
                + private_key_to_pem(self.suite, self.signature_key)
                + _pem(IDENTITY_LABEL, w.getvalue()))

    def __repr__(self) -> str:
        return f"Identity({self.public()!r}, suite 0x{self.cipher_suite:04x})"


def _comment(what: str, pub: PublicIdentity, extra: str = "") -> bytes:
    name = (pub.identity or b"").decode(errors="replace")
    suite = get_cipher_suite(pub.cipher_suite) if pub.cipher_suite is not None else None
    line = (f"# {what} {name!r}, suite 0x{pub.cipher_suite or 0:04x}"
            f"{' ' + suite.name if suite else ''}, key {pub.fingerprint}"
            f"{', ' + extra if extra else ''}\n")
    return line.encode()


def _pem(label: str, data: bytes) -> bytes:
    b64 = base64.b64encode(data).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n".encode()


def _read(source: Source, what: str) -> tuple[str, bytes]:
    """(name for messages, content) of a path or of the bytes themselves."""
    if isinstance(source, bytes):
        return what, source
    try:
        with open(source, "rb") as f:
            return str(source), f.read()
    except OSError as e:
        raise IdentityFileError(f"{source}: cannot read the {what}: "
                                f"{e.strerror or e}") from None


def _blocks(where: str, data: bytes) -> dict[str, list[bytes]]:
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise IdentityFileError(f"{where}: not a PEM text file") from None
    out: dict[str, list[bytes]] = {}
    for m in _BLOCK.finditer(text):
        try:
            body = base64.b64decode("".join(m.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise IdentityFileError(f"{where}: the {m.group(1)} block is not valid "
                                    "base64") from None
        out.setdefault(m.group(1), []).append(body)
    return out


def _one(where: str, blocks: dict[str, list[bytes]], label: str, hint: str) -> bytes:
    found = blocks.get(label, [])
    if len(found) != 1:
        raise IdentityFileError(f"{where}: expected one {label} block, found {len(found)}"
                                f"{' (' + hint + ')' if hint else ''}")
    return found[0]


def _suite(where: str, suite_id: int) -> CipherSuite:
    try:
        return get_cipher_suite(suite_id)
    except Exception:  # noqa: BLE001 - any lookup failure reads the same
        raise IdentityFileError(f"{where}: unsupported MLS cipher suite "
                                f"0x{suite_id:04x}") from None


def _identity_from_blocks(where: str, blocks: dict[str, list[bytes]]) -> Identity:
    body = _one(where, blocks, IDENTITY_LABEL, "make one with 'python -m tlslite_mls keygen'")
    try:
        r = Reader(body)
        suite_id = r.u16()
        credential = Credential.read(r)
        r.finish()
    except MLSError as e:
        raise IdentityFileError(f"{where}: the {IDENTITY_LABEL} block does not decode: "
                                f"{e}") from None
    cs = _suite(where, suite_id)
    key_pem = _pem("PRIVATE KEY", _one(where, blocks, "PRIVATE KEY", ""))
    raw, scheme = private_key_from_pem(key_pem)
    if scheme != cs.signature.name:
        raise IdentityFileError(f"{where}: the private key is {scheme}, suite 0x{suite_id:04x}"
                                f" signs with {cs.signature.name}")
    key = SigningKey(raw)
    try:
        check_credential_binding(credential, cs, cs.signature.public_key(raw))
    except MLSError as e:
        raise IdentityFileError(f"{where}: the credential does not fit the key: {e}") from None
    return Identity(suite_id, credential, key)


def load_identity(source: Source) -> Identity:
    """An :class:`Identity` from an identity file (path, or its bytes)."""
    where, data = _read(source, "identity file")
    return _identity_from_blocks(where, _blocks(where, data))


def load_public_identity(source: Source) -> PublicIdentity:
    """The ``PublicIdentity`` to pin, from an exported public identity file or from an
    identity file (its public side)."""
    where, data = _read(source, "public identity file")
    blocks = _blocks(where, data)
    if IDENTITY_LABEL in blocks and PUBLIC_LABEL not in blocks:
        return _identity_from_blocks(where, blocks).public()
    body = _one(where, blocks, PUBLIC_LABEL,
                "export one with 'python -m tlslite_mls keygen --export-public'")
    try:
        r = Reader(body)
        suite_id, name, key = r.u16(), r.opaque(), r.opaque()
        r.finish()
    except MLSError as e:
        raise IdentityFileError(f"{where}: the {PUBLIC_LABEL} block does not decode: "
                                f"{e}") from None
    if not key:
        raise IdentityFileError(f"{where}: empty signature key")
    _suite(where, suite_id)
    return PublicIdentity(key, name or None, suite_id)


def public_identity_pem(pub: PublicIdentity) -> bytes:
    """The exported public side of an identity, to pin."""
    w = Writer()
    w.u16(pub.cipher_suite or 0)
    w.opaque(pub.identity or b"")
    w.opaque(pub.signature_key)
    return _comment("MLS public identity", pub) + _pem(PUBLIC_LABEL, w.getvalue())


# ----------------------------------------------------------------------------
# making identities
# ----------------------------------------------------------------------------
def _san_for(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if "@" in name:
        return x509.RFC822Name(name)
    return x509.DNSName(name)


def _sign_hash(key: Any) -> Optional[hashes.HashAlgorithm]:
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey,
                        *_MLDSA.values())):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {384: hashes.SHA384(), 521: hashes.SHA512()}.get(key.curve.key_size,
                                                                 hashes.SHA256())
    return hashes.SHA256()


def issue_certificate(cs: CipherSuite, private: bytes, name: str, ca_cert: x509.Certificate,
                      ca_key: Any, days: int) -> x509.Certificate:
    """An end-entity certificate for the MLS signature key, usable by server and client
    (the name goes into subjectAltName: DNS name, IP address or e-mail address)."""
    pub = private_key_object(cs, private).public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = min(now + datetime.timedelta(days=days), ca_cert.not_valid_after_utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([_san_for(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)  # type: ignore[arg-type]
            .sign(ca_key, _sign_hash(ca_key)))


def generate_identity(suite: int, name: str, ca_cert: Optional[bytes] = None,
                      ca_key: Optional[bytes] = None, days: int = 365) -> Identity:
    """A new identity for ``suite``: a basic credential named ``name``, or, with the PEM
    ``ca_cert`` (the CA, then any chain above it up to the root's child) and
    ``ca_key``, an x509 credential issued by that CA."""
    if not name:
        raise ValueError("an identity needs a name")
    cs = _suite("suite", suite)
    private, _ = cs.signature.generate()
    if (ca_cert is None) != (ca_key is None):
        raise ValueError("the CA certificate and the CA key go together")
    if ca_cert is None:
        return Identity(suite, Credential.basic(name.encode()), SigningKey(private))
    try:
        chain = x509.load_pem_x509_certificates(ca_cert)
    except ValueError as e:
        raise IdentityFileError(f"the CA certificate is not PEM: {e}") from None
    try:
        key = serialization.load_pem_private_key(ca_key, password=None)  # type: ignore[arg-type]
    except (ValueError, TypeError) as e:
        raise IdentityFileError(f"the CA key is not a usable PEM private key: {e}") from None
    if key.public_key() != chain[0].public_key():
        raise IdentityFileError("the CA key does not belong to the (first) CA certificate")
    if days < 1:
        raise ValueError("days must be at least 1")
    leaf = issue_certificate(cs, private, name, chain[0], key, days)
    ders = [c.public_bytes(serialization.Encoding.DER) for c in [leaf] + chain
            if c.subject != c.issuer or c is leaf]  # the root is the peer's trust anchor
    return Identity(suite, Credential.x509(ders), SigningKey(private))


def write_private_file(path: "str | Path", data: bytes, force: bool = False,
                       mode: int = 0o600) -> None:
    """Write a file (by default readable by its owner only); refuse to overwrite an
    existing one unless ``force``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise IdentityFileError(f"{path}: exists; remove it or pass --force") from None
    except OSError as e:
        raise IdentityFileError(f"{path}: cannot write: {e.strerror or e}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
