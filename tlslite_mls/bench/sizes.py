"""Wire sizes per MLS suite: KeyPackage (ClientHello), Welcome (ServerHello) and an
epoch-change commit, with a basic credential and with x509 credentials.

``python -m tlslite_mls bench sizes [--json]``. The objects are made by the two-party
engine exactly as the TLS modes make them. The x509 case: each side holds an
end-entity certificate and one intermediate, both issued by CAs whose keys are of the
suite's own signature scheme (ML-DSA CAs for the ML-DSA suites), which is what a
fully post-quantum deployment sends. A KeyPackage or Welcome above 65,535 bytes does
not fit into the TLS extension (docs/profile.md section 9) and is refused before sending;
MLS-TLS fragments its messages and is bounded only by its 1 MiB message limit.
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Any, Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa
from cryptography.x509.oid import NameOID

from ..mls.auth import AcceptAnyCredential
from ..mls.credentials import Credential
from ..mls.crypto import get_cipher_suite, supported_cipher_suites
from ..twoparty.handshake import InitiatorHandshake, MLSHandshakeConfig, ResponderHandshake
from ..twoparty.session import TwoPartySession

EXTENSION_LIMIT = 0xFFFF

_CA_KEY = {
    "ed25519": ed25519.Ed25519PrivateKey.generate, "ed448": ed448.Ed448PrivateKey.generate,
    "ecdsa_secp256r1_sha256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ecdsa_secp384r1_sha384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "ecdsa_secp521r1_sha512": lambda: ec.generate_private_key(ec.SECP521R1()),
    "mldsa44": mldsa.MLDSA44PrivateKey.generate, "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
}


def _cert(subject: str, public_key: Any, issuer: str, signer: Any, ca: bool) -> bytes:
    now = datetime.datetime.now(datetime.timezone.utc)
    algorithm = hashes.SHA384() if isinstance(signer, ec.EllipticCurvePrivateKey) else None
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]),
                                        critical=False)
    return builder.sign(signer, algorithm).public_bytes(serialization.Encoding.DER)


def _x509_identity(suite: int, name: str, intermediates: int = 1) -> tuple[Credential, bytes]:
    """An end-entity certificate for a fresh MLS key plus ``intermediates`` CA certificates."""
    cs = get_cipher_suite(suite)
    make = _CA_KEY[cs.signature.name]
    keys = [make() for _ in range(intermediates + 1)]  # the root last
    key, _ = cs.generate_signature_key_pair()
    chain = [_cert(name, _load_public(cs, key), "ca0", keys[0], False)]
    chain += [_cert(f"ca{i}", keys[i].public_key(), f"ca{i + 1}", keys[i + 1], True)
              for i in range(intermediates)]
    return Credential.x509(chain), key


def _load_public(cs: Any, private: bytes) -> Any:
    """The ``cryptography`` public key object of an MLS signature private key."""
    name = cs.signature.name
    if name == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(private).public_key()
    if name == "ed448":
        return ed448.Ed448PrivateKey.from_private_bytes(private).public_key()
    if name.startswith("mldsa"):
        return getattr(mldsa, f"MLDSA{name[5:]}PrivateKey").from_seed_bytes(private).public_key()
    curve = {"ecdsa_secp256r1_sha256": ec.SECP256R1(), "ecdsa_secp384r1_sha384": ec.SECP384R1(),
             "ecdsa_secp521r1_sha512": ec.SECP521R1()}[name]
    return ec.derive_private_key(int.from_bytes(private, "big"), curve).public_key()


def _identity(suite: int, name: str, kind: str) -> tuple[Credential, bytes]:
    """``kind``: ``basic``, ``x509`` (end entity + one intermediate) or ``x509-N``
    (end entity + N intermediates)."""
    if kind.startswith("x509"):
        return _x509_identity(suite, name, int(kind[5:] or 1))
    return Credential.basic(name.encode()), get_cipher_suite(suite).generate_signature_key_pair()[0]


def measure(suite: int, kind: str) -> dict:
    """Sizes of one handshake and one epoch change in ``suite`` with ``kind`` credentials."""
    s_cred, s_key = _identity(suite, "server.example", kind)
    c_cred, c_key = _identity(suite, "client.example", kind)
    common = dict(suites=[suite], auth_policy=AcceptAnyCredential())
    client = InitiatorHandshake(MLSHandshakeConfig(credential=c_cred, signature_key=c_key,
                                                   **common))
    server = ResponderHandshake(MLSHandshakeConfig(credential=s_cred, signature_key=s_key,
                                                   **common))
    ch_hash = bytes(get_cipher_suite(suite).hash_length)
    key_package = client.key_package()
    welcome, s_session = server.accept(key_package, ch_hash)
    c_session: TwoPartySession = client.process_welcome(welcome, ch_hash)
    (update,) = [e.message for e in c_session.start_update() if hasattr(e, "message")]
    commit = update.commit or b""
    for session in (c_session, s_session):
        session.close()
    return {"key_package": len(key_package), "welcome": len(welcome), "commit": len(commit),
            "fits_extension": max(len(key_package), len(welcome)) <= EXTENSION_LIMIT}


def run(suites: Optional[Sequence[int]] = None, kinds: Sequence[str] = ("basic", "x509")) -> dict:
    suites = list(suites) if suites is not None else supported_cipher_suites()
    return {"extension_limit": EXTENSION_LIMIT,
            "sizes": {f"0x{s:04x}": {kind: measure(s, kind) for kind in kinds} for s in suites}}


def report(result: dict, out: Any = sys.stdout) -> None:
    print("bytes on the wire per MLS suite: KeyPackage / Welcome / epoch-change commit "
          f"(the TLS extension holds at most {result['extension_limit']})", file=out)
    for suite, by_kind in result["sizes"].items():
        name = get_cipher_suite(int(suite, 16)).name
        cells = []
        for kind, m in by_kind.items():
            mark = "" if m["fits_extension"] else "  DOES NOT FIT"
            cells.append(f"{kind}: {m['key_package']:6d} / {m['welcome']:6d} / "
                         f"{m['commit']:6d}{mark}")
        print(f"  {suite} {name:55s} " + "   ".join(cells), file=out)


def main(argv: Sequence[str]) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls bench sizes",
                                description="KeyPackage, Welcome and commit sizes per MLS suite.")
    p.add_argument("--suite", action="append", type=lambda s: int(s, 0),
                   help="an MLS suite (repeatable; default: every supported suite)")
    p.add_argument("--credentials", default="basic,x509",
                   help="comma-separated: basic, x509 (end entity + one intermediate), "
                        "x509-N (end entity + N intermediates); default basic,x509")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(list(argv))
    kinds = [k for k in args.credentials.split(",") if k]
    for kind in kinds:
        if kind not in ("basic", "x509") and not (kind.startswith("x509-")
                                                   and kind[5:].isdigit()):
            p.error(f"--credentials: unknown kind {kind!r}")
    result = run(args.suite, kinds)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0
