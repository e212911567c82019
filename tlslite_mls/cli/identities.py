"""From options to what the settings need: our identity, how the peer is judged, a store.

Shared by both modes and both roles. A file that cannot be read or is not what its
option says is a usage error naming the file (exit code 2, one line).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from typing import Any, Optional

from ..mls.auth import AcceptAnyCredential
from ..mls.credentials import Credential
from ..mls.crypto import get_cipher_suite
from ..serving import short_identity
from ..tls.certificates import TLSIdentity, load_tls_identity_files, throwaway_tls_identity
from .errors import CLIError, usage_error

__all__ = ["suites_for_scheme", "mls_identity", "peer_authentication",
           "client_authentication", "validated", "open_cli_store", "cli_store", "identity_text",
           "server_name", "is_ip", "tls_identity"]



def _scheme_of(suite: int) -> Optional[str]:
    try:
        return get_cipher_suite(suite).signature.name
    except Exception:  # noqa: BLE001 - an unknown suite is refused by the settings
        return None


def suites_for_scheme(scheme: str) -> list[int]:
    """The MLS suites whose signature scheme is ``scheme`` (a key can serve them all)."""
    from ..mls.crypto import supported_cipher_suites
    return [s for s in supported_cipher_suites() if _scheme_of(s) == scheme]


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        usage_error(f"{path}: cannot read the {what}: {e.strerror or e}",
                    "check the path")


def _identity_file(args: argparse.Namespace) -> tuple[list[int], Credential, Any]:
    """(suites, credential, signature key) of ``--identity-file``: its suite and the
    others with its signature scheme, or those of ``--suite`` that have it."""
    from ..identity import load_identity
    if args.identity or args.mls_cert or args.mls_key:
        usage_error("--identity-file replaces --identity and --mls-cert/--mls-key: give one")
    try:
        ident = load_identity(args.identity_file)
    except ValueError as e:
        usage_error(str(e))
    scheme = ident.suite.signature.name
    # The identity's suite first, then the others its key can sign for.
    suites = [s for s in args.suite if _scheme_of(s) == scheme] if args.suite \
        else [ident.cipher_suite] + [s for s in suites_for_scheme(scheme)
                                     if s != ident.cipher_suite]
    if not suites:
        usage_error(f"no chosen MLS suite signs with {scheme}, the key type of "
                    f"{args.identity_file} (made for suite 0x{ident.cipher_suite:04x})")
    return suites, ident.credential, ident.signature_key


def _x509_identity(args: argparse.Namespace, suites: list[int]
                   ) -> tuple[list[int], Credential, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ..identity import private_key_from_pem
    if not (args.mls_cert and args.mls_key):
        usage_error("--mls-cert and --mls-key go together")
    cert_pem = _read(args.mls_cert, "MLS certificate")
    key_pem = _read(args.mls_key, "MLS private key")
    if b"PRIVATE KEY" in cert_pem and b"CERTIFICATE" in key_pem:
        usage_error(f"--mls-cert {args.mls_cert} and --mls-key {args.mls_key} look swapped",
                    "give the certificate to --mls-cert and the key to --mls-key")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError as e:
        usage_error(f"{args.mls_cert}: not PEM certificates: {e}")
    try:
        key, kind = private_key_from_pem(key_pem)
    except ValueError as e:
        usage_error(f"{args.mls_key}: {e}")
    usable = suites_for_scheme(kind)
    suites = [s for s in suites if s in usable] if args.suite else usable
    if not suites:
        usage_error(f"no chosen MLS suite fits a {kind} key",
                    "try --suite " + " or ".join(f"0x{s:04x}" for s in usable))
    ders = [c.public_bytes(serialization.Encoding.DER) for c in certs]
    return suites, Credential.x509(ders), key


def mls_identity(args: argparse.Namespace, role: str,
                 default_suites: Optional[list[int]] = None
                 ) -> tuple[list[int], Credential, Any]:
    """(suites, credential, signature key) from the options, or a throw-away identity."""
    if getattr(args, "identity_file", None):
        return _identity_file(args)
    if default_suites is None:
        from ..tls.settings import DEFAULT_MLS_SUITES
        default_suites = list(DEFAULT_MLS_SUITES)
    suites = list(args.suite) if args.suite else list(default_suites)
    if args.mls_cert or args.mls_key:
        return _x509_identity(args, suites)
    name = args.identity or f"{role}-{os.urandom(3).hex()}"
    scheme = get_cipher_suite(suites[0]).signature
    key, _ = scheme.generate()
    suites = [s for s in suites if get_cipher_suite(s).signature is scheme]
    return suites, Credential.basic(name.encode()), key


def _read_anchors(path: str) -> list:
    from cryptography import x509
    data = _read(path, "trust anchors")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as e:
        usage_error(f"{path}: not PEM certificates: {e}")


def peer_authentication(args: argparse.Namespace, peer_role: str) -> dict:
    """Settings keywords saying how the peer's MLS credential is judged, from the
    options both modes and both roles share: ``--pin``, ``--trust-anchor``,
    ``--expect-identity``, ``--accept-any-identity`` (client). ``peer_role`` is
    ``"server"`` for a client, ``"client"`` for a server.

    The MLS credential replaces the server certificate, so a client must be told how
    to check it; accepting anyone takes an option that says so. Options that cannot
    go together are refused, never silently dropped.
    """
    from ..identity import load_public_identity
    anchors = getattr(args, "trust_anchor", None)
    expected = getattr(args, "expect_identity", None)
    pins = getattr(args, "pin", None) or []
    accept_any = getattr(args, "accept_any_identity", False)
    if accept_any and (anchors or expected or pins):
        usage_error("--accept-any-identity stands alone (it accepts any server): drop "
                    "--pin, --trust-anchor and --expect-identity")
    if anchors and pins:
        usage_error("--trust-anchor and --pin are two ways to authenticate the peer: "
                    "give one")
    kw: dict[str, Any] = {}
    if anchors:
        kw["trust_anchors"] = _read_anchors(anchors)
    if pins:
        try:
            kw["pinned_keys"] = [load_public_identity(p) for p in pins]
        except ValueError as e:
            usage_error(str(e))
    if expected:
        kw["expected_identity"] = expected.encode()
    if accept_any:
        kw["auth_policy"] = AcceptAnyCredential()
    if peer_role == "server" and not kw and (getattr(args, "mls_tls", False)
                                             or getattr(args, "mls", None) != "off"):
        usage_error("say how to authenticate the server's MLS credential: --pin FILE, "
                    "--expect-identity NAME, --trust-anchor FILE with --server-name, or "
                    "--accept-any-identity" + ("" if getattr(args, "mls_tls", False)
                                               else " (or --mls off)"))
    return kw


def server_name(args: argparse.Namespace) -> str:
    """The name the server must prove: ``--server-name``, else the host dialled."""
    return args.server_name or args.address[0]


def is_ip(name: str) -> bool:
    """Whether ``name`` is an IP address (SNI carries host names only)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def client_authentication(args: argparse.Namespace) -> dict:
    """MLSClientSettings keywords that say how the server is authenticated: the MLS
    credential as :func:`peer_authentication` says, and classic fallback's TLS
    certificate check (``--trust-anchor`` and the server name serve it too; without
    anchors it uses the system trust store; ``--insecure``)."""
    kw: dict = {"server_name": args.server_name} if args.server_name else {}
    if args.insecure:
        if args.mls == "required":
            usage_error("--insecure skips the certificate check of classic fallback, "
                        "and --mls required never falls back")
        kw["insecure"] = True
    kw.update(peer_authentication(args, "server"))
    if args.trust_anchor and args.mls != "off" and \
            is_ip(args.expect_identity or server_name(args)):
        usage_error("--trust-anchor judges the server's x509 MLS credential by DNS name",
                    "give --server-name NAME (or dial the server by name)")
    return kw


def validated(settings: Any) -> Any:
    """``settings.validate()``, with a configuration mistake as a one-line error."""
    try:
        return settings.validate()
    except ValueError as e:
        usage_error(str(e))


def open_cli_store(spec: Optional[str], max_groups: Optional[int] = None) -> Any:
    """The ``--store`` option's store, probed once; a store that cannot be opened ends
    the command with one line naming it (no traceback). ``max_groups``: the
    ``--max-stored-groups`` cap (docs/profile.md section 9), which needs a store."""
    if not spec:
        if max_groups is not None:
            usage_error("--max-stored-groups needs --store")
        return None
    from ..store import StoreError, open_store_checked
    options = {} if max_groups is None else {"max_groups": max_groups}
    try:
        return open_store_checked(spec, **options)
    except ValueError as exc:
        raise CLIError(str(exc), code=2) from None
    except StoreError as exc:
        raise CLIError(str(exc)) from None


def cli_store(args: argparse.Namespace) -> Any:
    """The store ``--store`` and ``--max-stored-groups`` name (None without ``--store``)."""
    return open_cli_store(getattr(args, "store", None), getattr(args, "max_stored_groups", None))


def identity_text(cred: Credential) -> str:
    """The local identity for a listening line: basic name, or x509 and its name."""
    from ..mls.auth import credential_identity
    name = short_identity(credential_identity(cred))
    return name if cred.identity else f"x509 {name}"


def tls_identity(args: argparse.Namespace) -> TLSIdentity:
    """``--cert``/``--key`` (both or neither), else a throw-away self-signed pair."""
    if not (args.cert or args.key):
        return throwaway_tls_identity()
    if not (args.cert and args.key):
        usage_error("--cert and --key go together")
    try:
        return load_tls_identity_files(args.cert, args.key)
    except ValueError as e:
        hint = ("give the certificate to --cert and the key to --key" if "swapped" in str(e)
                else "give a PEM certificate chain to --cert and its PEM key to --key")
        usage_error(str(e), hint)
