"""The epoch key schedule of RFC 9420 section 8.

Every epoch turns three inputs (the previous ``init_secret``, the
``commit_secret`` of the Commit's path and the ``psk_secret`` of section 8.4)
into one ``epoch_secret``, bound to the serialized GroupContext, and from that
the secrets the rest of the protocol consumes::

    init_secret_[n-1] --Extract(ikm=commit_secret)--> ExpandWithLabel("joiner", GC)
        = joiner_secret --Extract(ikm=psk_secret)--+--> DeriveSecret("welcome")
                                                   +--> ExpandWithLabel("epoch", GC)
                                                        = epoch_secret --> DeriveSecret(...)

A joiner enters the same schedule at ``joiner_secret`` (it learns it from the
Welcome), so both paths share :func:`epoch_secrets_from_joiner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from .codec import encode_varint
from .crypto import CipherSuite
from .errors import StateError

__all__ = [
    "EpochSecrets", "derive_epoch_secrets", "epoch_secrets_from_joiner",
    "joiner_secret", "welcome_secret", "welcome_key_nonce", "mls_exporter",
    "external_key_pair", "EPOCH_SECRET_LABELS",
]

# The DeriveSecret labels of section 8 table 4, by the attribute they fill.
EPOCH_SECRET_LABELS: tuple[tuple[str, str], ...] = (
    ("sender_data_secret", "sender data"),
    ("encryption_secret", "encryption"),
    ("exporter_secret", "exporter"),
    ("external_secret", "external"),
    ("confirmation_key", "confirm"),
    ("membership_key", "membership"),
    ("resumption_psk", "resumption"),
    ("epoch_authenticator", "authentication"),
    ("init_secret", "init"),
)

_FIELDS = ("joiner_secret", "welcome_secret", "epoch_secret") + tuple(
    name for name, _ in EPOCH_SECRET_LABELS)


@dataclass(repr=False, eq=True, slots=True)
class EpochSecrets:
    """All secrets of one epoch.

    Held in one object so that leaving the epoch is one :meth:`wipe` call:
    after it every attribute is ``None`` and any later use fails loudly rather
    than silently reusing key material of a finished epoch. ``repr`` never
    shows a secret.
    """

    joiner_secret: Optional[bytes] = None
    welcome_secret: Optional[bytes] = None
    epoch_secret: Optional[bytes] = None
    sender_data_secret: Optional[bytes] = None
    encryption_secret: Optional[bytes] = None
    exporter_secret: Optional[bytes] = None
    external_secret: Optional[bytes] = None
    confirmation_key: Optional[bytes] = None
    membership_key: Optional[bytes] = None
    resumption_psk: Optional[bytes] = None
    epoch_authenticator: Optional[bytes] = None
    init_secret: Optional[bytes] = None

    def __repr__(self) -> str:
        state = "wiped" if self.wiped else "redacted"
        return f"EpochSecrets(<{len(_FIELDS)} secrets {state}>)"

    @property
    def wiped(self) -> bool:
        return all(getattr(self, n) is None for n in _FIELDS)

    def drop_derivation_secrets(self) -> None:
        """Forget the secrets only needed to derive the others (section 9.2)."""
        self.joiner_secret = self.welcome_secret = self.epoch_secret = None
        self.encryption_secret = None

    def as_dict(self) -> dict[str, Optional[bytes]]:
        """Every secret by name (for persistence and tests; handle with care)."""
        return {n: getattr(self, n) for n in _FIELDS}

    def wipe(self, keep_init_secret: bool = False) -> None:
        """Drop every secret, e.g. once the next epoch is established.

        ``keep_init_secret`` keeps only ``init_secret``, which the next epoch's
        schedule still needs when the caller wipes before deriving it.
        """
        for name in _FIELDS:
            if keep_init_secret and name == "init_secret":
                continue
            setattr(self, name, None)

    def require(self, name: str) -> bytes:
        """The secret ``name``, or :class:`StateError` if it was wiped."""
        value = getattr(self, name)
        if value is None:
            raise StateError(f"{name} of this epoch is no longer available")
        return value


def joiner_secret(cs: CipherSuite, init_secret: bytes, commit_secret: Optional[bytes],
                  group_context: bytes) -> bytes:
    """joiner_secret = ExpandWithLabel(Extract(init_secret, commit_secret), "joiner", GC, Nh).

    ``commit_secret`` ``None`` is the all-zero value a Commit without a path uses.
    """
    nh = cs.hash_length
    if commit_secret is None:
        commit_secret = bytes(nh)
    prk = cs.extract(init_secret, commit_secret)
    return cs.expand_with_label(prk, "joiner", group_context, nh)


def _member_prk(cs: CipherSuite, joiner: bytes, psk_secret: Optional[bytes]) -> bytes:
    # The intermediate Extract(joiner_secret, psk_secret) feeds both the
    # welcome_secret and the epoch_secret; computing it once saves an HMAC.
    if psk_secret is None:
        psk_secret = bytes(cs.hash_length)
    return cs.extract(joiner, psk_secret)


def welcome_secret(cs: CipherSuite, joiner_secret: bytes,
                   psk_secret: Optional[bytes]) -> bytes:
    """welcome_secret = DeriveSecret(Extract(joiner_secret, psk_secret), "welcome")."""
    return cs.derive_secret(_member_prk(cs, joiner_secret, psk_secret), "welcome")


def welcome_key_nonce(cs: CipherSuite, welcome_secret: bytes) -> tuple[bytes, bytes]:
    """The AEAD key and nonce that protect a Welcome's GroupInfo (section 12.4.3.1)."""
    key = cs.expand_with_label(welcome_secret, "key", b"", cs.key_size)
    nonce = cs.expand_with_label(welcome_secret, "nonce", b"", cs.nonce_size)
    return key, nonce


def _derive_info(label: str, nh: int) -> bytes:
    """The KDFLabel of DeriveSecret (ExpandWithLabel with an empty context)."""
    full = b"MLS 1.0 " + label.encode("ascii")
    return nh.to_bytes(2, "big") + encode_varint(len(full)) + full + b"\x00"


# The nine labels every epoch derives, encoded once per hash length in use.
_DERIVE_INFOS = {(label, nh): _derive_info(label, nh)
                 for _, label in EPOCH_SECRET_LABELS for nh in (32, 48, 64)}


def epoch_secrets_from_joiner(cs: CipherSuite, joiner_secret: bytes,
                              psk_secret: Optional[bytes],
                              group_context: bytes, with_welcome: bool = True
                              ) -> EpochSecrets:
    """The schedule from ``joiner_secret`` on: the path a Welcome recipient takes.

    ``psk_secret`` ``None`` means no PSK was injected (the all-zero value).
    ``group_context`` is the serialized GroupContext of the new epoch.
    ``with_welcome=False`` leaves ``welcome_secret`` out (a member moving on never
    uses it; :func:`welcome_secret` derives it for a Welcome).
    """
    nh = cs.hash_length
    prk = _member_prk(cs, joiner_secret, psk_secret)
    epoch = cs.expand_with_label(prk, "epoch", group_context, nh)
    expand = cs.hash.expand
    infos = _DERIVE_INFOS
    derived = {name: expand(epoch, infos.get((label, nh)) or _derive_info(label, nh), nh)
               for name, label in EPOCH_SECRET_LABELS}
    return EpochSecrets(
        joiner_secret=joiner_secret,
        welcome_secret=cs.derive_secret(prk, "welcome") if with_welcome else None,
        epoch_secret=epoch,
        **derived,
    )


def derive_epoch_secrets(cs: CipherSuite, init_secret: bytes,
                         commit_secret: Optional[bytes], psk_secret: Optional[bytes],
                         group_context: bytes, with_welcome: bool = True) -> EpochSecrets:
    """The whole schedule for a member moving to the next epoch.

    ``init_secret`` is the previous epoch's (random for a new group, the
    ExternalInit-derived one for an external commit).
    """
    joiner = joiner_secret(cs, init_secret, commit_secret, group_context)
    return epoch_secrets_from_joiner(cs, joiner, psk_secret, group_context, with_welcome)


def mls_exporter(cs: CipherSuite, exporter_secret: bytes, label: Union[str, bytes],
                 context: bytes, length: int) -> bytes:
    """MLS-Exporter (section 8.5).

    ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported",
    Hash(context), length). A ``str`` label is used as its UTF-8 bytes (the
    official vectors pass their hex text itself as the label).
    """
    if not 0 <= length <= 0xFFFF:
        raise ValueError(f"exporter length must fit in uint16, got {length}")
    if isinstance(label, str):
        label = label.encode("utf-8")
    secret = cs.derive_secret(exporter_secret, label)
    return cs.expand_with_label(secret, "exported", cs.digest(context), length)


def external_key_pair(cs: CipherSuite, external_secret: bytes) -> tuple[bytes, bytes]:
    """The epoch's external HPKE key pair: KEM.DeriveKeyPair(external_secret) (section 8.3)."""
    return cs.derive_key_pair(external_secret)
