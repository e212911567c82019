"""Records of one captured connection, decrypted with a key log, as readable lines.

Extension mode: each direction is followed on its own. Its keys are the handshake
traffic secret until its Finished, then traffic secret 0, then after each of its own
``epoch_key_update`` markers the secret of that MLS epoch (docs/profile.md section 5; key log
label ``CLIENT/SERVER_TRAFFIC_SECRET_MLS_EPOCH_<n>``), and after a TLS KeyUpdate the next
secret of the "traffic upd" chain. MLS-TLS: the plaintext flights are shown; its
protected records are counted (MLS-TLS writes no key log).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Callable, Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from tlslite.constants import AlertDescription

from ..codepoints import TLS_EXT_MLS_HANDSHAKE, TLS_HS_MLS_HANDSHAKE
from ..mls.codec import Reader
from ..mls.keypackage import KeyPackage
from ..mls.messages import MLSMessage
from ..mls.welcome import Welcome
from ..mlstls.keys import MLS_TLS_KEYLOG_LABELS
from ..tls.post_handshake import EPOCH_KEYLOG_LABELS
from ..twoparty.messages import TwoPartyMessage, TwoPartyMLSMessage
from .capture import Stream

HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
SUITES = {0x1301: ("TLS_AES_128_GCM_SHA256", hashes.SHA256, AESGCM, 16),
          0x1302: ("TLS_AES_256_GCM_SHA384", hashes.SHA384, AESGCM, 32),
          0x1303: ("TLS_CHACHA20_POLY1305_SHA256", hashes.SHA256, ChaCha20Poly1305, 32)}
HANDSHAKE_NAMES = {1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
                   5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate",
                   13: "CertificateRequest", 15: "CertificateVerify", 20: "Finished",
                   24: "KeyUpdate", 25: "CompressedCertificate"}
WIRE_FORMATS = {1: "public_message", 2: "private_message", 3: "welcome", 4: "group_info",
                5: "key_package"}
KeyLog = dict[tuple[str, bytes], bytes]


def read_keylog(path: str) -> KeyLog:
    """NSS key log lines: (label, client_random) -> secret."""
    out: KeyLog = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                try:
                    out[(parts[0], bytes.fromhex(parts[1]))] = bytes.fromhex(parts[2])
                except ValueError:
                    continue
    return out


def hkdf_expand_label(hash_cls: type, secret: bytes, label: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return HKDFExpand(hash_cls(), length, info).derive(secret)


@dataclass
class Line:
    frame: int
    direction: str
    keys: str
    text: str

    def __str__(self) -> str:
        keys = f"[{self.keys}] " if self.keys else ""
        return f"frame {self.frame:>5}  {self.direction}  {keys}{self.text}"


class _Direction:
    """One side's records: its current key and what it has said."""

    def __init__(self, name: str, data: bytes, ends: list[tuple[int, int]]) -> None:
        self.name, self.data, self.ends = name, data, ends
        self.aead: Optional[object] = None
        self.iv = b""
        self.seq = 0
        self.secret: Optional[bytes] = None
        self.keys = ""

    def frame_of(self, end: int) -> int:
        i = bisect.bisect_left([e for e, _ in self.ends], end)
        return self.ends[min(i, len(self.ends) - 1)][1] if self.ends else 0

    def install(self, suite: tuple, secret: Optional[bytes], keys: str) -> None:
        _, hash_cls, aead_cls, key_len = suite
        self.secret, self.keys, self.seq = secret, keys, 0
        self.aead = None if secret is None else aead_cls(
            hkdf_expand_label(hash_cls, secret, b"key", key_len))
        self.iv = b"" if secret is None else hkdf_expand_label(hash_cls, secret, b"iv", 12)

    def decrypt(self, header: bytes, body: bytes) -> Optional[tuple[int, bytes]]:
        if self.aead is None:
            return None
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        try:
            inner = self.aead.decrypt(nonce, body, header)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a wrong key is reported, not raised
            return None
        self.seq += 1
        inner = inner.rstrip(b"\x00")
        return inner[-1], inner[:-1]


def records(data: bytes) -> list[tuple[int, bytes, bytes, int]]:
    """(type, header, body, end offset) of each complete record."""
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        if i + 5 + n > len(data):
            break
        out.append((data[i], data[i:i + 5], data[i + 5:i + 5 + n], i + 5 + n))
        i += 5 + n
    return out


def handshake_messages(data: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i + 1:i + 4], "big")
        out.append((data[i], data[i + 4:i + 4 + n]))
        i += 4 + n
    return out


# ---- MLS objects in words ---------------------------------------------------------
def describe_key_package(raw: bytes) -> str:
    try:
        kp = KeyPackage.deserialize(raw)
    except Exception as exc:  # noqa: BLE001 - shown as it is
        return f"KeyPackage that does not decode ({exc})"
    cred = kp.leaf_node.credential
    who = f"identity {cred.identity.decode(errors='replace')!r}" if cred.identity else "x509"
    return f"KeyPackage (MLS suite 0x{kp.cipher_suite:04x}, {who})"


def describe_welcome(raw: bytes) -> str:
    try:
        w = Welcome.deserialize(raw)
    except Exception as exc:  # noqa: BLE001
        return f"Welcome that does not decode ({exc})"
    return (f"Welcome (MLS suite 0x{w.cipher_suite:04x}, {len(w.secrets)} encrypted group "
            f"secret(s), encrypted GroupInfo {len(w.encrypted_group_info)} bytes)")


def describe_mls_message(raw: bytes) -> str:
    try:
        m = MLSMessage.read(Reader(raw))
    except Exception as exc:  # noqa: BLE001
        return f"MLSMessage that does not decode ({exc})"
    fmt = WIRE_FORMATS.get(m.wire_format, str(m.wire_format))
    epoch = getattr(m.body, "epoch", None)
    if epoch is None and hasattr(m.body, "content"):
        epoch = m.body.content.epoch
    if m.wire_format == 5:
        return describe_key_package(raw[4:])
    if m.wire_format == 3:
        return describe_welcome(raw[4:])
    return f"MLSMessage {fmt}" + (f", epoch {epoch}" if epoch is not None else "")


def client_hello(body: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """(random, extensions) of a ClientHello body."""
    random = body[2:34]
    pos = 34
    pos += 1 + body[pos]
    pos += 2 + int.from_bytes(body[pos:pos + 2], "big")
    pos += 1 + body[pos]
    return random, _extensions(body, pos)


def server_hello(body: bytes) -> tuple[bytes, int, list[tuple[int, bytes]]]:
    """(random, cipher suite, extensions) of a ServerHello body."""
    random = body[2:34]
    pos = 34
    pos += 1 + body[pos]
    suite = int.from_bytes(body[pos:pos + 2], "big")
    return random, suite, _extensions(body, pos + 3)


def _extensions(body: bytes, pos: int) -> list[tuple[int, bytes]]:
    end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
    pos += 2
    out = []
    while pos + 4 <= end:
        t = int.from_bytes(body[pos:pos + 2], "big")
        n = int.from_bytes(body[pos + 2:pos + 4], "big")
        out.append((t, body[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


# ---- one connection ---------------------------------------------------------------
class Connection:
    def __init__(self, number: int, stream: Stream, keylog: KeyLog,
                 ext_type: int = TLS_EXT_MLS_HANDSHAKE,
                 hs_type: int = TLS_HS_MLS_HANDSHAKE) -> None:
        self.number, self.keylog = number, keylog
        self.ext_type, self.hs_type = ext_type, hs_type
        self.c = _Direction("client→server", *stream.data(stream.client))
        self.s = _Direction("server→client", *stream.data(stream.server))
        self.random = b""
        self._flight_id = b""
        self.suite: Optional[tuple] = None
        self.lines: list[Line] = []

    def say(self, d: _Direction, end: int, text: str) -> None:
        self.lines.append(Line(d.frame_of(end), f"conn {self.number} {d.name}", d.keys, text))

    def decode(self) -> list[Line]:
        first = records(self.c.data)[:1]
        if first and first[0][0] == 22 and first[0][2][:1] == b"\x00":
            self._mls_tls()
        else:
            self._server_hello()  # the suite first: each direction needs it
            for d, role in ((self.c, "CLIENT"), (self.s, "SERVER")):
                self._direction(d, role)
        return sorted(self.lines, key=lambda line: line.frame)

    def _server_hello(self) -> None:
        for ctype, _, body, _ in records(self.s.data):
            if ctype != 22:
                continue
            for htype, hbody in handshake_messages(body):
                if htype == 2:
                    random, suite, _ = server_hello(hbody)
                    if random != HRR_RANDOM:
                        self.suite = SUITES.get(suite)
                        return

    def _secret(self, label: str) -> Optional[bytes]:
        return self.keylog.get((label, self.random))

    def _walk(self, d: _Direction, prefix: str, first_keys: Callable[[bytes, bytes], None],
              on_handshake: Callable[[int, bytes], None]) -> None:
        """Each record of one side: decrypted when it is protected, then shown."""
        for ctype, header, body, end in records(d.data):
            if ctype == 20:
                continue  # change_cipher_spec (middlebox compatibility)
            if ctype == 23:
                if d.aead is None and d.keys == "":
                    first_keys(header, body)
                got = d.decrypt(header, body)
                if got is None:
                    self.say(d, end, f"{prefix}protected record, {len(body)} bytes: no key "
                                     f"for it in the key log")
                    continue
                ctype, body = got
            if ctype == 22:
                on_handshake(end, body)
            elif ctype == 23:
                self.say(d, end, f"application data, {len(body)} bytes")
            elif ctype == 21 and len(body) == 2:
                self.say(d, end, f"{prefix}alert {_alert(body)}")

    def _direction(self, d: _Direction, role: str) -> None:
        def first_keys(header: bytes, body: bytes) -> None:
            if self.suite is not None:
                d.install(self.suite, self._secret(f"{role}_HANDSHAKE_TRAFFIC_SECRET"),
                          "handshake keys")

        def on_handshake(end: int, body: bytes) -> None:
            for htype, hbody in handshake_messages(body):
                self._handshake(d, role, end, htype, hbody)
        self._walk(d, "", first_keys, on_handshake)

    def _handshake(self, d: _Direction, role: str, end: int, htype: int, body: bytes) -> None:
        if htype == 1:
            self.random, exts = client_hello(body)
            kp = [b for t, b in exts if t == self.ext_type]
            self.say(d, end, "ClientHello" + (f" + tls_using_mls_handshake: "
                                              f"{describe_key_package(kp[0])}" if kp else ""))
        elif htype == 2:
            random, suite, exts = server_hello(body)
            welcome = [b for t, b in exts if t == self.ext_type]
            name = "HelloRetryRequest" if random == HRR_RANDOM else \
                f"ServerHello ({SUITES.get(suite, ('0x%04x' % suite,))[0]})"
            self.say(d, end, name + (f" + tls_using_mls_handshake: "
                                     f"{describe_welcome(welcome[0])}" if welcome else ""))
        elif htype == self.hs_type:
            self._mls_handshake(d, role, end, body)
        else:
            self.say(d, end, HANDSHAKE_NAMES.get(htype, f"handshake type {htype}"))
            if htype == 20 and self.suite is not None:
                d.install(self.suite, self._secret(f"{role}_TRAFFIC_SECRET_0"),
                          "traffic secret 0")
            elif htype == 24 and self.suite is not None and d.secret is not None:
                d.install(self.suite, hkdf_expand_label(self.suite[1], d.secret, b"traffic upd",
                                                        len(d.secret)), d.keys + " + KeyUpdate")

    def _mls_handshake(self, d: _Direction, role: str, end: int, body: bytes) -> None:
        try:
            msg = TwoPartyMLSMessage.deserialize(body)
        except Exception as exc:  # noqa: BLE001
            self.say(d, end, f"mls_handshake that does not decode ({exc})")
            return
        label = EPOCH_KEYLOG_LABELS[0 if role == "CLIENT" else 1]
        self._two_party(d, end, "mls_handshake", msg.kind.name.lower(), msg.epoch, msg.commit,
                        lambda epoch: self._secret(label.format(epoch)))

    def _two_party(self, d: _Direction, end: int, prefix: str, kind: str,
                   epoch: Optional[int], message: Optional[bytes],
                   secret: Callable[[int], Optional[bytes]]) -> None:
        """A commit, or a marker: the last record under the side's old key (section 5)."""
        if epoch is None:
            self.say(d, end, f"{prefix} {kind}: {describe_mls_message(message or b'')}")
            return
        self.say(d, end, f"{prefix} {kind}: epoch {epoch}")
        if self.suite is not None:
            d.install(self.suite, secret(epoch), f"MLS epoch {epoch}")

    def _mls_tls(self) -> None:
        """MLS-TLS: plaintext flights, then records under the epoch keys of the key log
        (our MLS-TLS key log names a connection by SHA-256 of the client's first flight)."""
        leading = []
        for ctype, _, body, _ in records(self.c.data):
            if ctype != 22:
                break
            leading.append(body)
        first = b"".join(leading)
        try:
            raw_first, _ = _first_message(first)
        except Exception:  # noqa: BLE001 - decoded (and reported) below
            raw_first = first
        self._flight_id = hashlib.sha256(raw_first).digest()
        for d, role in ((self.c, "CLIENT"), (self.s, "SERVER")):
            epochs = sorted(int(label.rsplit("_", 1)[1]) for label, rid in self.keylog
                            if rid == self._flight_id
                            and label.startswith(f"MLS_TLS_{role}_TRAFFIC"))
            label = MLS_TLS_KEYLOG_LABELS[0 if role == "CLIENT" else 1]

            def first_keys(header: bytes, body: bytes, d: _Direction = d, label: str = label,
                           epochs: list = epochs) -> None:
                if epochs:
                    self._mls_tls_keys(d, label, epochs[0], header, body)
            self._walk(d, "MLS-TLS ", first_keys,
                       lambda end, body, d=d, label=label:
                       self._two_party_messages(d, label, end, body))

    def _mls_tls_keys(self, d: _Direction, label: str, epoch: int, header: bytes,
                      body: bytes) -> None:
        """The record suite is the MLS suite's: try those with this secret's length."""
        secret = self._mls_tls_secret(label, epoch)
        if secret is None:
            return
        for suite in SUITES.values():
            if suite[1]().digest_size != len(secret):
                continue
            d.install(suite, secret, f"MLS epoch {epoch}")
            probe = _Direction(d.name, b"", [])
            probe.install(suite, secret, "")
            if probe.decrypt(header, body) is not None:
                self.suite = suite
                return
        d.install(next(iter(SUITES.values())), None, "")

    def _two_party_messages(self, d: _Direction, label: str, end: int, body: bytes) -> None:
        r = Reader(body)
        while not r.at_end():
            try:
                msg = TwoPartyMessage.read(r)
            except Exception as exc:  # noqa: BLE001
                self.say(d, end, f"MLS-TLS handshake record that does not decode ({exc})")
                return
            self._two_party(d, end, "MLS-TLS", msg.msg_type.name.lower(), msg.epoch,
                            msg.message, lambda epoch: self._mls_tls_secret(label, epoch))

    def _mls_tls_secret(self, label: str, epoch: int) -> Optional[bytes]:
        return self.keylog.get((label.format(epoch), self._flight_id))


def _first_message(data: bytes) -> tuple[bytes, int]:
    """The client's first TwoPartyMessage as sent, and its length."""
    r = Reader(data)
    TwoPartyMessage.read(r)
    return data[:r.pos], r.pos


def _alert(body: bytes) -> str:
    level = {1: "warning", 2: "fatal"}.get(body[0], str(body[0]))
    return f"{AlertDescription.toStr(body[1])} ({level})"


def decode(streams: list[Stream], keylog: KeyLog,
           on_line: Callable[[Line], None] = print) -> int:
    """Prints every message of every connection in capture order; returns the number of
    connections."""
    lines = [line for n, s in enumerate(streams, start=1)
             for line in Connection(n, s, keylog).decode()]
    for line in sorted(lines, key=lambda line: line.frame):
        on_line(line)
    return len(streams)
