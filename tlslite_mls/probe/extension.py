"""The probe's battery for a server of the TLS extension mode
(draft-housley-tls-using-mls-handshake as docs/profile.md settles it).

Every check opens its own connection with our client, so one failure cannot hide the
next. The server's MLS credential is accepted whatever it is: the probe judges the
protocol, and reports the identity it met.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tlslite import HandshakeSettings
from tlslite.constants import TLS_1_3_HRR, AlertDescription, ExtensionType
from tlslite.errors import TLSRemoteAlert
from tlslite.messages import ServerHello

from ..mls.auth import AcceptAnyCredential
from ..mls.welcome import Welcome
from ..tls import MLSClientSettings, MLSTLSConnection
from . import hostile
from .common import close_quietly, describe, judge_resumption, round_trip
from .report import Report


@dataclass
class Target:
    host: str
    port: int
    server_name: Optional[str] = None
    timeout: float = 15.0
    codepoints: dict = field(default_factory=dict)

    @property
    def ext_type(self) -> int:
        return self.codepoints.get("extension_type", MLSClientSettings().extension_type)


def _settings(**overrides: Any) -> HandshakeSettings:
    s = HandshakeSettings()
    s.minVersion = s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]
    s.eccCurves = ["x25519", "secp256r1", "secp384r1"]
    for k, v in overrides.items():
        setattr(s, k, v)
    return s


@dataclass
class _Hello:
    """A ServerHello or HelloRetryRequest as it arrived (the client later adds a
    synthetic key_share to the parsed message for tlslite-ng's sake)."""

    hrr: bool
    extensions: list[tuple[int, bytes]]

    def find(self, ext_type: int) -> list[bytes]:
        return [body for t, body in self.extensions if t == ext_type]


class _Recording(MLSTLSConnection):
    """Keeps every ServerHello and HelloRetryRequest it receives."""

    def _mls_check_message(self, msg: Any) -> Any:
        if isinstance(msg, ServerHello):
            self.__dict__.setdefault("probe_server_hellos", []).append(_Hello(
                msg.random == TLS_1_3_HRR,
                [(e.extType, bytes(e.extData or b"")) for e in msg.extensions or []]))
        return MLSTLSConnection._mls_check_message(self, msg)


class ExtensionProbe:
    def __init__(self, target: Target) -> None:
        self.t = target
        self.mls = MLSClientSettings(mode="preferred", auth_policy=AcceptAnyCredential(),
                                     **target.codepoints).validate()
        self.report = Report(f"{target.host}:{target.port}", "TLS extension mode")

    # ---- connections ---------------------------------------------------------
    def connect(self, cls: type = _Recording, settings: Optional[HandshakeSettings] = None,
                session: Any = None, mls: Optional[MLSClientSettings] = None
                ) -> tuple[Optional[Any], Optional[BaseException]]:
        """(connection, None) after a handshake, or (connection or None, the error)."""
        conn = None
        try:
            sock = socket.create_connection((self.t.host, self.t.port), timeout=self.t.timeout)
            conn = cls(sock)
            conn.mls_update_policy = _no_initial_update(conn.mls_update_policy)
            name = self.t.server_name
            if session is not None:
                conn.handshakeClientMLSResume(session, self.mls, settings=settings or _settings(),
                                              serverName=name)
            else:
                conn.mls_settings = mls or self.mls
                conn.handshakeClientCert(settings=settings or _settings(), serverName=name)
            return conn, None
        except Exception as exc:  # noqa: BLE001 - every failure is an observation
            if conn is not None:
                close_quietly(conn)
            return conn, exc

    # ---- the battery ---------------------------------------------------------
    def run(self) -> Report:
        conn = self.handshake_checks()
        negotiated = conn is not None and conn.mls_negotiated
        if negotiated:
            self.epoch_checks(conn)
            self.resumption_check(conn)
        else:
            for name in ("epoch change started by the client", "epoch change started by the server",
                         "resumption to epoch N+2"):
                self.report.add(name, "-").skip("no MLS connection to work with")
        self.empty_key_share_check(negotiated)
        self.malformed_input_checks()
        self.hrr_checks()
        return self.report

    def handshake_checks(self) -> Optional[Any]:
        r, ext = self.report, self.t.ext_type
        done = r.add("handshake completes with MLS",
                     "TLS 1.3, MLS negotiated, Finished verified (MLS exporter secret in "
                     "place of (EC)DHE)")
        point = r.add("extension code point in ServerHello", f"0x{ext:04X}, exactly once")
        shape = r.add("ServerHello extension payload",
                      "a bare Welcome (no MLSMessage wrapper), nothing after it")
        share = r.add("no key_share with the extension", "ServerHello without key_share")
        welcome = r.add("Welcome validity", "decrypts with the KeyPackage's init key, "
                        "GroupInfo signed by the server's leaf, ratchet_tree valid")
        ch_hash = r.add("tls_client_hello_hash", "GroupInfo extension = transcript hash "
                        "through the final ClientHello")
        conn, err = self.connect()
        hellos = [h for h in (getattr(conn, "probe_server_hellos", None) or []) if not h.hrr]
        if not hellos:
            text = describe(err) if err else "no ServerHello"
            for c in (done, point, shape, share, welcome, ch_hash):
                c.judge(False, text)
            return None
        sh = hellos[-1]
        found = sh.find(ext)
        types = ", ".join(f"0x{t:04X}" for t, _ in sh.extensions)
        point.judge(len(found) == 1, f"ServerHello extensions: {types}")
        if found:
            shape.judge(*_welcome_shape(found[0]))
        else:
            shape.skip("no extension")
        has_share = bool(sh.find(ExtensionType.key_share))
        share.judge(not (found and has_share),
                    "key_share present" if has_share else "no key_share")
        if err is None and conn.mls_negotiated:
            done.judge(True, f"TLS 1.3, MLS suite 0x{conn.mls_cipher_suite:04X}, epoch "
                       f"{conn.mls_epoch}, server identity {conn.mls_peer_identity!r}")
            welcome.judge(True, "joined the group from the Welcome")
            ch_hash.judge(True, "matched the client's transcript hash")
            return conn
        text = describe(err) if err else "classic TLS 1.3 (MLS not negotiated)"
        done.judge(False, text)
        low = text.lower()
        if "client_hello_hash" in low or "clienthellohash" in low:
            welcome.judge(True, "decrypted; its GroupInfo was reached")
            ch_hash.judge(False, text)
        elif err is not None and any(w in low for w in ("welcome", "groupinfo", "decrypt",
                                                          "ratchet", "signature")):
            welcome.judge(False, text)
            ch_hash.skip("not reached")
        else:
            welcome.skip(f"not reached: {text}")
            ch_hash.skip("not reached")
        if conn is not None:
            close_quietly(conn)
        return None

    def epoch_checks(self, conn: Any) -> None:
        r = self.report
        mine = r.add("epoch change started by the client",
                     "connection_update answered by epoch_key_update; both sides at e+1, "
                     "data intact")
        theirs = r.add("epoch change started by the server",
                       "connection_update and markers from the server, both sides at e+1")
        try:
            before = conn.mls_epoch
            conn.mls_update(wait=True)
            ok, echoed = round_trip(conn, b"probe after the client's epoch change\n")
            mine.judge(conn.mls_epoch == before + 1 and ok,
                       f"epoch {before} -> {conn.mls_epoch}; {echoed}")
        except Exception as exc:  # noqa: BLE001
            mine.judge(False, describe(exc))
            close_quietly(conn)
            theirs.skip("the connection ended")
            return
        # The server decides when it updates (it need not ever): watch a few exchanges.
        changes, epoch = conn.mls_epoch_changes, conn.mls_epoch
        deadline = time.monotonic() + 3.0
        try:
            while time.monotonic() < deadline and conn.mls_epoch_changes == changes:
                round_trip(conn, b"probe waiting for the server's epoch change\n")
                if conn.mls_update_in_flight:
                    conn.mls_wait()
        except Exception as exc:  # noqa: BLE001
            theirs.judge(False, describe(exc))
            close_quietly(conn)
            return
        if conn.mls_epoch_changes == changes:
            theirs.skip("the server started no epoch change within 3 s (it need not)")
        else:
            theirs.judge(conn.mls_epoch == epoch + 1,
                         f"epoch {epoch} -> {conn.mls_epoch} on the server's initiative")

    def resumption_check(self, conn: Any) -> None:
        c = self.report.add("resumption to epoch N+2",
                            "ticket resumption, mls_resumption_request/response, then "
                            "epoch N+2 on both sides")
        epoch, session = conn.mls_epoch, conn.session
        close_quietly(conn)
        if not getattr(session, "tickets", None):
            c.skip("the server issued no ticket")
            return
        conn2, err = self.connect(session=session)
        if err is not None:
            c.judge(False, describe(err))
            return
        judge_resumption(c, conn2, conn2.resumed, epoch, conn2.mls_epoch)

    def malformed_input_checks(self) -> None:
        ext = self.t.ext_type
        cases: list[tuple[str, Callable, int]] = [
            ("empty KeyPackage", hostile.empty_key_package(ext), AlertDescription.decode_error),
            ("truncated KeyPackage", hostile.truncated_key_package(ext),
             AlertDescription.decode_error),
            ("garbage KeyPackage", hostile.garbage_key_package(ext), AlertDescription.decode_error),
            ("extension twice in ClientHello", hostile.duplicated_extension(ext),
             AlertDescription.illegal_parameter),
            ("extension with early_data", hostile.with_early_data,
             AlertDescription.illegal_parameter),
        ]
        for name, mutate, alert in cases:
            c = self.report.add(name, f"{AlertDescription.toStr(alert)} alert")
            c.judge(*self.expect_alert(hostile.mutating_connection(mutate, base=_Recording),
                                       alert))

    def empty_key_share_check(self, negotiated: bool) -> None:
        """docs/profile.md section 3: a required client sends an empty key_share, and a
        server that takes its KeyPackage (as it did with shares) must not ask for one."""
        check = self.report.add("ClientHello with an empty key_share (a required client)",
                                "MLS without a HelloRetryRequest")
        if not negotiated:
            check.skip("the server did not take MLS from a ClientHello with a key share")
            return
        required = MLSClientSettings(mode="required", auth_policy=AcceptAnyCredential(),
                                     **self.t.codepoints).validate()
        conn, err = self.connect(mls=required)
        hrrs = [h for h in getattr(conn, "probe_server_hellos", None) or [] if h.hrr]
        if err is None:
            close_quietly(conn)
        check.judge(err is None and conn.mls_negotiated and not hrrs,
                    ("HelloRetryRequest; " if hrrs else "") +
                    (describe(err) if err else f"MLS negotiated: {conn.mls_negotiated}"))

    def hrr_checks(self) -> None:
        """Only a HelloRetryRequest shows the HRR rules: a ClientHello whose only key share
        is for a GREASE group asks for one."""
        ext = self.t.ext_type
        bare = self.report.add("no extension in HelloRetryRequest",
                               "HelloRetryRequest without the extension; MLS after it")
        changed = self.report.add("changed extension after HelloRetryRequest",
                                  "illegal_parameter alert")
        cls = hostile.mutating_connection(hostile.grease_key_share_only, base=_Recording)
        conn, err = self.connect(cls)
        hellos = getattr(conn, "probe_server_hellos", None) or []
        hrrs = [h for h in hellos if h.hrr]
        if not hrrs:
            text = "no HelloRetryRequest for a ClientHello with only a GREASE key share" + \
                (f" ({describe(err)})" if err else "")
            bare.skip(text)
            changed.skip(text)
            if conn is not None:
                close_quietly(conn)
            return
        in_hrr = hrrs[0].find(ext)
        bare.judge(not in_hrr and err is None and conn.mls_negotiated,
                   ("extension in HelloRetryRequest; " if in_hrr else "") +
                   (describe(err) if err else f"MLS negotiated: {conn.mls_negotiated}"))
        if conn is not None and err is None:
            close_quietly(conn)

        flipping = hostile.mutating_connection(
            hostile.in_turn(hostile.grease_key_share_only, hostile.flipped_key_package(ext)),
            sends=(1, 2), base=_Recording)
        changed.judge(*self.expect_alert(flipping, AlertDescription.illegal_parameter))

    def expect_alert(self, cls: type, alert: int) -> tuple[bool, str]:
        conn, err = self.connect(cls)
        if err is None:
            close_quietly(conn)
            return False, "handshake completed" + (", MLS negotiated" if conn.mls_negotiated
                                                    else " (classic TLS 1.3)")
        if isinstance(err, TLSRemoteAlert):
            return err.description == alert, f"{AlertDescription.toStr(err.description)} alert"
        return False, describe(err)


# ---- helpers -------------------------------------------------------------------
def _no_initial_update(policy: Any) -> Any:
    import dataclasses
    return dataclasses.replace(policy, initial_update=False)


def _welcome_shape(body: bytes) -> tuple[bool, str]:
    try:
        w, used = Welcome.read_prefix(body)
    except Exception as exc:  # noqa: BLE001 - a malformed body is the finding
        return False, f"not a Welcome: {type(exc).__name__}: {exc}"
    left = len(body) - used
    return left == 0, (f"Welcome, MLS suite 0x{w.cipher_suite:04X}, {len(w.secrets)} "
                       f"encrypted group secret(s), encrypted GroupInfo "
                       f"{len(w.encrypted_group_info)} bytes"
                       + (f", {left} bytes after it" if left else ""))
