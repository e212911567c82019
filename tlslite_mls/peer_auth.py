"""How the peer is authenticated: the options both modes' settings share, in both roles.

Either mode's client and server settings take the same four choices (docs/profile.md
sections 2 and 10): ``auth_policy`` (an object of one's own, or
``AcceptAnyCredential()``), ``expected_identity`` (a name), ``trust_anchors`` (x509
chains), ``pinned_keys`` (the peer's signature public keys, from exported identity
files). This module checks and normalises them once for both modes, so each option
is either honoured or refused with a ``ValueError`` that names it, and it says in
words what the resulting policy verifies (for listening and summary lines).
"""

from __future__ import annotations

from typing import Any, Optional

from .mls.auth import (AcceptAnyCredential, PublicIdentity, describe_policy, make_policy)

__all__ = ["AUTH_FIELDS", "load_anchors", "load_pins", "check_peer_auth", "describe_peer_auth"]

# The settings attributes that decide how the peer is judged.
AUTH_FIELDS = ("auth_policy", "expected_identity", "trust_anchors", "pinned_keys")


def load_anchors(anchors: Any, field_name: str = "trust_anchors") -> list:
    """Trust anchors as ``cryptography`` certificates (DER/PEM bytes are parsed)."""
    from cryptography import x509
    if anchors is None:
        return []
    if isinstance(anchors, (bytes, bytearray, str, x509.Certificate)):
        raise ValueError(f"{field_name} must be a sequence of certificates, not one")
    out = []
    for a in anchors:
        if isinstance(a, x509.Certificate):
            out.append(a)
            continue
        if not isinstance(a, (bytes, bytearray)):
            raise ValueError(f"{field_name}: {type(a).__name__} is not a certificate "
                             "(cryptography x509.Certificate, DER or PEM bytes)")
        data = bytes(a)
        try:
            if data.lstrip().startswith(b"-----BEGIN"):
                out.extend(x509.load_pem_x509_certificates(data))
            else:
                out.append(x509.load_der_x509_certificate(data))
        except ValueError as e:
            raise ValueError(f"{field_name}: not a certificate: {e}") from None
    return out


def load_pins(pins: Any, field_name: str = "pinned_keys") -> list[PublicIdentity]:
    """Pinned keys as ``PublicIdentity`` objects (raw signature public keys are wrapped)."""
    if pins is None:
        return []
    if isinstance(pins, (bytes, bytearray, str, PublicIdentity)):
        raise ValueError(f"{field_name} must be a sequence of keys, not one")
    out = []
    for p in pins:
        if isinstance(p, PublicIdentity):
            out.append(p)
        elif isinstance(p, (bytes, bytearray)) and p:
            out.append(PublicIdentity(bytes(p)))
        else:
            raise ValueError(f"{field_name}: {type(p).__name__} is not a signature public key "
                             "(PublicIdentity, or the key's bytes)")
    return out


def _identity_bytes(value: Any) -> Optional[bytes]:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)) or not value:
        raise ValueError("expected_identity must be non-empty bytes or str")
    return bytes(value)


def check_peer_auth(settings: Any, other: Any, peer_role: str, enabled: bool = True) -> None:
    """Check ``settings``' authentication options and store them normalised on
    ``other`` (the copy ``validate()`` returns). ``peer_role``: ``"server"`` when a
    client judges its server, ``"client"`` for a server. A client without any way
    to authenticate its server is refused while MLS is ``enabled``."""
    other.expected_identity = _identity_bytes(getattr(settings, "expected_identity", None))
    other.trust_anchors = load_anchors(getattr(settings, "trust_anchors", ()))
    other.pinned_keys = load_pins(getattr(settings, "pinned_keys", ()))
    server_name = getattr(settings, "server_name", None)
    if server_name is not None and (not isinstance(server_name, str) or not server_name):
        raise ValueError("server_name must be a non-empty str")
    if other.trust_anchors and other.expected_identity and server_name and \
            other.expected_identity != server_name.encode():
        raise ValueError("expected_identity and server_name name different servers: the "
                         "x509 credential can carry only one of them")
    make_policy(peer_role, auth_policy=settings.auth_policy,
                expected_identity=other.expected_identity,
                trust_anchors=other.trust_anchors, pinned_keys=other.pinned_keys,
                x509_name=server_name)  # raises ValueError for a combination it refuses
    if peer_role == "server" and enabled and settings.auth_policy is None and not (
            other.expected_identity or other.trust_anchors or other.pinned_keys):
        raise ValueError("no way to authenticate the server's MLS credential: set "
                         "expected_identity, trust_anchors, pinned_keys or auth_policy "
                         "(AcceptAnyCredential() accepts any server, unauthenticated)")


def describe_peer_auth(settings: Any, peer_role: str,
                       server_name: Optional[str] = None) -> str:
    """What the (validated) settings verify about the peer, in words; ``server_name``
    is the SNI a client's x509 check falls back to."""
    policy = make_policy(peer_role, auth_policy=settings.auth_policy,
                         expected_identity=settings.expected_identity,
                         trust_anchors=list(settings.trust_anchors),
                         pinned_keys=list(settings.pinned_keys),
                         x509_name=getattr(settings, "server_name", None) or server_name)
    if policy is None:
        if peer_role == "client":
            policy = AcceptAnyCredential()
        else:
            return "no way to authenticate the server (every server refused)"
    return describe_policy(policy)

