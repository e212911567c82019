"""``python -m tlslite_mls demo``: a readable account of what the library does."""

from __future__ import annotations

import hashlib
import sys
from typing import Sequence, TextIO

from .mls.credentials import Credential
from .mls.crypto import get_cipher_suite
from .mls.group import Group
from .mls.keypackage import create_key_package
from .mls.proposals import Add, Proposal

LABEL = b"TLS shared secret"


def _fingerprint(secret: bytes) -> str:
    # A hash of the exporter output, so the demo never prints key material itself.
    return hashlib.sha256(secret).hexdigest()[:16]


def mls_demo(out: TextIO = sys.stdout, suite: int = 1, epochs: int = 4) -> None:
    """Two members (server and client roles) form a group and change epochs."""
    cs = get_cipher_suite(suite)
    print(f"MLS core demo, cipher suite 0x{suite:04x} {cs.name}", file=out)
    server_sig, _ = cs.generate_signature_key_pair()
    client_sig, _ = cs.generate_signature_key_pair()
    client_kp = create_key_package(cs, Credential.basic(b"client"), client_sig)
    print(f"client: KeyPackage of {len(client_kp.key_package.serialize())} bytes", file=out)
    server = Group.create(create_key_package(cs, Credential.basic(b"server"), server_sig))
    pending = server.commit(proposals=[Proposal.of(Add(client_kp.key_package))], path=False)
    welcome = pending.welcome.serialize()
    server.retire()
    server = pending.group
    print(f"server: created the group, added the client, Welcome of {len(welcome)} bytes",
          file=out)
    client = Group.join(welcome, client_kp)
    print(f"client: joined at epoch {client.epoch}", file=out)
    for i in range(epochs):
        sender, receiver = (client, server) if i % 2 == 0 else (server, client)
        who = "client" if sender is client else "server"
        pending = sender.commit()
        staged = receiver.process(pending.message_bytes)
        sender.retire()
        receiver.retire()
        new_sender, new_receiver = pending.group, staged.group
        server, client = ((new_receiver, new_sender) if who == "client"
                          else (new_sender, new_receiver))
        a, b = server.export_secret(LABEL, b"", 32), client.export_secret(LABEL, b"", 32)
        print(f"{who}: commit with a fresh UpdatePath ({len(pending.message_bytes)} bytes) "
              f"-> epoch {server.epoch}, exporter fingerprint {_fingerprint(a)} on the server, "
              f"{_fingerprint(b)} on the client{'' if a == b else '  MISMATCH'}", file=out)
        if a != b:
            raise SystemExit("exporters differ")
    msg = client.protect_application(b"hello from the client")
    print(f"server: decrypted {server.process(msg.serialize()).data!r}", file=out)


def main(argv: Sequence[str] = ()) -> int:
    """The TLS connection first (what the package is for), then the MLS core under it.

    ``--core`` shows only the MLS core part; ``--keylog FILE`` writes the TLS part's
    NSS key log.
    """
    import argparse
    p = argparse.ArgumentParser(prog="python -m tlslite_mls demo",
                                description="TLS 1.3 keyed by MLS on 127.0.0.1, explained; "
                                            "then the MLS group underneath.")
    p.add_argument("--core", action="store_true", help="only the MLS core part")
    p.add_argument("--keylog", help="NSS key log file for the TLS part (default $SSLKEYLOGFILE)")
    args = p.parse_args(list(argv))
    out = sys.stdout
    rc = 0
    if not args.core:
        from .cli.demo import cmd_demo
        print("Part 1: a TLS 1.3 connection whose handshake is an MLS group (extension mode)",
              file=out)
        rc = cmd_demo(args, out)
        print(file=out)
        print("Part 2: MLS-TLS mode: MLS is the handshake, the TLS 1.3 record layer "
              "carries the data", file=out)
        from .mlstls.demo import demo_mls_tls
        rc = demo_mls_tls(out) or rc
        print(file=out)
        print("Part 3: the MLS core on its own: the same two roles, more epochs", file=out)
    mls_demo(out)
    return rc
