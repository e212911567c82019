"""The probe's battery for an MLS-TLS server (draft-kohbrok-mls-tls as docs/profile.md
section 8 settles it)."""

from __future__ import annotations

import socket
import time
from typing import Any, Optional

from tlslite.constants import AlertDescription

from ..codepoints import MLSTLSMessageType as T
from ..mls.auth import AcceptAnyCredential
from ..mlstls import MLSTLSClient, MLSTLSClientSettings
from ..mlstls.settings import DEFAULT_MLS_TLS_TYPES
from ..store import MemoryStore
from .common import close_quietly, describe, judge_resumption, round_trip
from .extension import Target
from .raw import RecordingSocket, read_plain_alert, record, records
from .report import Report

# MLSMessage header: version mls10, then wire_format (RFC 9420 section 6).
MLS10 = b"\x00\x01"
WIRE_FORMAT_WELCOME = b"\x00\x03"
WIRE_FORMAT_KEY_PACKAGE = b"\x00\x05"
# codepoints of the extension mode that do not exist in MLS-TLS
_EXTENSION_ONLY = ("extension_type", "handshake_type")


class MLSTLSProbe:
    def __init__(self, target: Target) -> None:
        self.t = target
        self.codepoints = {k: v for k, v in target.codepoints.items()
                           if k not in _EXTENSION_ONLY}
        self.types = dict(DEFAULT_MLS_TLS_TYPES)
        self.store = MemoryStore()
        self.report = Report(f"{target.host}:{target.port}", "MLS-TLS")

    def settings(self, **kw: Any) -> MLSTLSClientSettings:
        return MLSTLSClientSettings(auth_policy=AcceptAnyCredential(), initial_update=False,
                                    store=self.store, timeout=self.t.timeout,
                                    **self.codepoints, **kw)

    def connect(self, **kw: Any) -> tuple[Any, Optional[MLSTLSClient], Optional[BaseException]]:
        """(recording socket, client, None) after the handshake, or the error."""
        rec = c = None
        try:
            sock = socket.create_connection((self.t.host, self.t.port), timeout=self.t.timeout)
            rec = RecordingSocket(sock)
            c = MLSTLSClient(rec, self.settings(**kw))  # type: ignore[arg-type]
            c.handshake()
            return rec, c, None
        except Exception as exc:  # noqa: BLE001 - every failure is an observation
            if c is not None:
                close_quietly(c)
            elif rec is not None:
                rec.close()
            return rec, c, exc

    def run(self) -> Report:
        r = self.report
        done = r.add("handshake completes", "client_hello(KeyPackage) answered by "
                     "server_hello(Welcome); both directions keyed")
        frame = r.add("server_hello framing", "plaintext handshake record: TwoPartyMessage "
                      "{mls10, server_hello, MLSMessage(welcome)}")
        labels = r.add("record protection and labels", "application data records keyed from "
                       "MLS-Exporter(\"MLS-TLS c/s ap traffic\"), data intact")
        rec, c, err = self.connect(session_key=b"probe")
        first = records(bytes(rec.received)) if rec is not None else []
        frame.judge(*self._server_hello_shape(first))
        if err is not None:
            done.judge(False, describe(err))
            for name in ("record protection and labels", "epoch change started by the client",
                         "epoch change started by the server", "resumption to epoch N+2"):
                (r.get(name) or r.add(name, "-")).skip("no MLS-TLS connection")
            self.malformed_input_checks()
            return r
        done.judge(True, f"MLS suite 0x{c.cipher_suite:04X}, records "
                   f"{c.record_cipher_suite}, epoch {c.epoch}, server identity "
                   f"{c.peer_identity!r}")
        seen = len(rec.received)
        try:
            ok, echoed = round_trip(c, b"probe over MLS-TLS\n")
            later = records(bytes(rec.received[seen:]))
            outer = sorted({t for t, _ in later})
            labels.judge(ok and outer == [23], f"{echoed}; outer record types {outer}")
        except Exception as exc:  # noqa: BLE001
            labels.judge(False, describe(exc))
        self.epoch_checks(c)
        self.resumption_check(c)
        self.malformed_input_checks()
        return r

    def _server_hello_shape(self, recs: list[tuple[int, bytes]]) -> tuple[bool, str]:
        if not recs:
            return False, "no record from the server"
        ctype, body = recs[0]
        want = MLS10 + self.types[T.SERVER_HELLO].to_bytes(2, "big") + MLS10 + WIRE_FORMAT_WELCOME
        return ctype == 22 and body.startswith(want), \
            f"record type {ctype}, body starts {body[:8].hex()} (expected {want.hex()})"

    def epoch_checks(self, c: MLSTLSClient) -> None:
        mine = self.report.add("epoch change started by the client",
                               "connection_update answered by epoch_key_update; e+1, data intact")
        theirs = self.report.add("epoch change started by the server",
                                 "connection_update and markers from the server; e+1")
        try:
            before = c.epoch
            c.start_update()
            ok, echoed = round_trip(c, b"probe after the client's epoch change\n")
            while c.update_in_flight:
                c.pump_one()
            mine.judge(c.epoch == before + 1 and ok, f"epoch {before} -> {c.epoch}; {echoed}")
            changes, epoch = c.epoch_changes, c.epoch
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and c.epoch_changes == changes:
                round_trip(c, b"probe waiting for the server's epoch change\n")
            while c.update_in_flight:
                c.pump_one()
        except Exception as exc:  # noqa: BLE001
            (theirs if mine.status == "pass" else mine).judge(False, describe(exc))
            return
        if c.epoch_changes == changes:
            theirs.skip("the server started no epoch change within 3 s (it need not)")
        else:
            theirs.judge(c.epoch == epoch + 1, f"epoch {epoch} -> {c.epoch} on the server's "
                         f"initiative")

    def resumption_check(self, c: MLSTLSClient) -> None:
        check = self.report.add("resumption to epoch N+2", "resumption_request/response, then "
                                "both directions at epoch N+2")
        epoch = c.epoch
        close_quietly(c)
        _, c2, err = self.connect(session_key=b"probe", resume=True)
        if err is not None:
            check.judge(False, describe(err))
            return
        judge_resumption(check, c2, c2.resumed, epoch, c2.epoch)

    def malformed_input_checks(self) -> None:
        hello = MLS10 + self.types[T.CLIENT_HELLO].to_bytes(2, "big")
        cases = [
            ("empty KeyPackage", hello + MLS10 + WIRE_FORMAT_KEY_PACKAGE, True),
            ("garbage KeyPackage", hello + MLS10 + WIRE_FORMAT_KEY_PACKAGE + b"\x00\x01" * 20,
             False),
            ("garbage TwoPartyMessage", MLS10 + b"\x00\x63" + bytes(range(40)), False),
        ]
        for name, raw, shut in cases:
            c = self.report.add(name, "decode_error alert")
            c.judge(*self._expect_plain_alert(record(22, raw), shut,
                                              AlertDescription.decode_error))

    def _expect_plain_alert(self, data: bytes, shut: bool, alert: int) -> tuple[bool, str]:
        try:
            with socket.create_connection((self.t.host, self.t.port),
                                          timeout=self.t.timeout) as s:
                s.sendall(data)
                if shut:
                    s.shutdown(socket.SHUT_WR)
                level, got = read_plain_alert(s)
        except (OSError, ValueError) as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return got == alert and level == 2, \
            f"{'fatal' if level == 2 else 'warning'} {AlertDescription.toStr(got)} alert"
