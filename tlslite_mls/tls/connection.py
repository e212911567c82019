"""``MLSTLSConnection``: tlslite-ng's TLSConnection with ``tls_using_mls_handshake``.

How it hooks in (tlslite-ng 0.8.2, no edits to the library): a few private
methods are wrapped thinly and always delegate to the base code; the large
TLS 1.3 handshake methods are never copied.

* ``_clientSendClientHello`` makes the KeyPackage before the ClientHello
  exists; ``_sendMsg`` inserts it into the ClientHello before the message is
  hashed (ahead of padding and PSK, re-signing binders). After a
  HelloRetryRequest tlslite-ng resends the same ClientHello object, so the
  extension stays byte-identical.
* The MLS secret replaces the (EC)DHE shared secret through *instance*
  attributes ``_getKEX`` / ``_KEMEncaps``, which shadow the class methods only
  for this connection and only for the TLS 1.3 handshake.
* Server: ``_serverTLS13Handshake`` runs the responder on the final
  ClientHello, ``_sendMsg`` puts the Welcome into the ServerHello and takes
  the key_share out, ``_queue_message`` drops the certificate messages.
* Client: ``_clientTLS13Handshake`` processes the Welcome. A ServerHello
  without key_share gets a synthetic one after hashing (tlslite-ng insists on
  key_share or pre_shared_key); skipping the server certificate uses an
  in-memory all-zero PSK, which yields the same Early Secret as no PSK and
  makes tlslite-ng skip the certificate block. Nothing of this reaches the wire.
* ``_getMsg`` checks every received message for the rules of docs/profile.md
  section 4 before tlslite-ng looks at it; on a client without MLS it validates
  the server's Certificate there (``certcheck``, docs/profile.md section 10), so a
  certificate that fails gets its alert before anything else happens.
* A ``required`` server: ``_serverGetClientHello`` makes TLS 1.3 the lowest
  version it negotiates (``protocol_version`` for older ClientHellos), and whether
  a ClientHello can give MLS is decided when it is answered (HelloRetryRequest or
  ServerHello), once tlslite-ng's RFC 8446 checks have run (``_mls_refusal``).

With the hook patch of ``patches/`` applied to tlslite-ng, the ``_hook_*``
methods below carry the extension and the secret instead (see ``HOOKS``).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Optional

from tlslite.constants import AlertDescription, ContentType, ExtensionType, HandshakeType
from tlslite.errors import TLSInternalError, TLSLocalAlert
from tlslite.extensions import (PreSharedKeyExtension, PskIdentity, ServerKeyShareExtension,
                                SrvPreSharedKeyExtension, KeyShareEntry)
from tlslite.handshakehelpers import HandshakeHelpers
from tlslite.messages import (Certificate, CertificateRequest, CertificateVerify, ClientHello,
                              ServerHello)
from tlslite.tlsconnection import TLSConnection

from . import certcheck as _certcheck
from . import engine as _engine
from . import keylog as _keylog
from . import keyshare as _keyshare
from .errors import MLSNegotiationError, alert_for, describe
from .bounded import (DEFAULT_MAX_HANDSHAKE_MESSAGE, DEFAULT_MAX_POST_HANDSHAKE_MESSAGE,
                      BoundedDefragmenter)
from .extension import (MLSBodyTooLarge, MLSHandshakeExtension, describe_key_package,
                        find_all, register_extension)
from ..serving import peer_text, short_identity
from ..store.errors import StoreUnavailable
from ..twoparty.config import SHARED_SECRET_LABEL
from .accel import get_kex
from .fastpath import FastReadMixin, FastRecordLayer
from .post_handshake import MLSPostHandshakeMixin
from .settings import MLSClientSettings, MLSServerSettings, MLSSettings
from .transcript import TLS13HandshakeHashes

from tlslite.constants import TLS_1_3_HRR

log = logging.getLogger(__name__)


# Identity of the in-memory PSK that makes tlslite-ng skip the server's
# certificate block; it never goes on the wire.
_NO_CERT_PSK_IDENTITY = bytearray(b"\x00tlslite-mls/no-certificate-messages")

# A tlslite-ng with patches/tlslite-ng-0.8.2-hooks.patch offers plugin hooks;
# then the extension and the secret go through them and none of the
# workarounds below (binder re-signing, synthetic key_share, in-memory PSK,
# dropped certificate messages) is needed.
HOOKS = hasattr(TLSConnection, "_hook_server_client_hello")
LENGTH_HOOK = hasattr(TLSConnection, "_hook_max_handshake_length")
_FINISHED = ("finished", "resumed_and_finished")
_PSK_KE_REASON = "psk_ke resumption has no (EC)DHE slot for MLS"


class _FixedSecret:
    """A key-exchange object whose shared secret is the MLS secret.

    Only ``calc_shared_key`` changes; key generation still goes to the real
    object, so fallback key shares stay real.
    """

    def __init__(self, real: Any, secret: bytes) -> None:
        self._real = real
        self._secret = bytearray(secret)

    def calc_shared_key(self, private: Any, peer_share: Any) -> bytearray:
        return self._secret

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _NoCertificateSignature:
    """The server's TLS key while MLS replaces the certificate messages (ship path).

    tlslite-ng signs (and re-verifies) a CertificateVerify whenever no PSK was
    selected; with MLS negotiated and no certificate messages that message is dropped
    before it is hashed or sent, so the two ECDSA/RSA operations would be thrown
    away. This stand-in skips them, and refuses to sign anything unless the
    ServerHello with the Welcome has gone out, so no unsigned CertificateVerify
    could ever be sent.
    """

    def __init__(self, key: Any, conn: "MLSTLSConnection") -> None:
        self._key = key
        self._conn = conn

    def _check(self) -> None:
        if not self._conn._mls_sh_sent or self._conn._mls_cfg.send_certificates:
            raise TLSInternalError("certificate signature requested while MLS "
                                   "replaces the certificate messages")

    def sign(self, *args: Any, **kwargs: Any) -> bytearray:
        self._check()
        return bytearray(1)

    hashAndSign = sign  # noqa: N815 - tlslite-ng's name

    def verify(self, *args: Any, **kwargs: Any) -> bool:
        self._check()
        return True

    hashAndVerify = verify  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)


class MLSTLSConnection(MLSPostHandshakeMixin, FastReadMixin, TLSConnection):
    """A TLSConnection that can negotiate ``tls_using_mls_handshake``.

    :param sock: the socket, as for ``TLSConnection``.
    :param mls_settings: :class:`MLSClientSettings` or :class:`MLSServerSettings`;
        ``None`` behaves like a plain tlslite-ng connection (mode off).
    :param keylog: path of an NSS key log; default ``$SSLKEYLOGFILE``.

    Use ``handshakeClientMLS``/``handshakeServerMLS``, or set ``mls_settings``
    and call tlslite-ng's usual handshake methods.

    :ivar mls_fell_back: True after a client handshake that offered MLS and
        completed classic TLS instead (docs/profile.md section 10).
    :ivar server_certificate_check: on a client, what was checked of the server's
        TLS certificate in the last handshake (``"verified for 'name' against ..."``
        or ``"NOT verified (insecure)"``); None when no certificate came or MLS
        authenticated the server. A certificate that fails aborts the handshake
        with the alert of docs/profile.md section 4 and ``TLSLocalAlert`` whose cause is
        a :class:`~tlslite_mls.tls.certcheck.ServerCertificateError`.
    """

    def __init__(self, sock: Any, mls_settings: Optional[MLSSettings] = None,
                 keylog: Optional[str] = None) -> None:
        TLSConnection.__init__(self, sock)
        # Record protection by OpenSSL (accel.py), with a fast path for protected
        # records (fastpath.py); everything else stays tlslite-ng's.
        self._recordLayer = FastRecordLayer(self.sock)
        # docs/profile.md section 9: handshake messages bounded before they are buffered
        # (by tlslite-ng itself through _hook_max_handshake_length when patched).
        if not LENGTH_HOOK:
            self._defragmenter = BoundedDefragmenter(self._defragmenter,
                                                     self._mls_message_limit)
        self.mls_settings = mls_settings
        self.keylog = keylog
        self.mls_session: Any = None
        self.mls_declined_reason: Optional[str] = None
        self.mls_fell_back = False
        self.server_certificate_check: Optional[str] = None
        self._mls_clear()

    def _mls_clear(self) -> None:
        self._mls_cfg: Optional[MLSSettings] = None
        self._mls_engine: Any = None
        self._mls_initiator: Any = None
        self._mls_ch_ext: Optional[MLSHandshakeExtension] = None
        self._mls_ch_ctx: Any = None
        self._mls_offered = False
        self._mls_sh_ext: Optional[MLSHandshakeExtension] = None
        self._mls_sh_sent = False
        self._mls_pending: Any = None
        self._mls_ch_hashes: Any = None
        self._mls_last_ch: Optional[ClientHello] = None
        self._mls_hs_settings: Any = None
        self._mls_client_random: Optional[bytes] = None
        self._mls_hook_secret: Optional[bytes] = None
        self._mls_keylog_path: Optional[str] = None
        self._mls_keylog_step = 0
        self._mls_server_name: Optional[str] = None
        # docs/profile.md section 3: a required client's ClientHello has no share
        # (client), or a placeholder share stands in for the missing one (server).
        self._mls_no_share = False

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    def handshakeClientMLS(self, mls_settings: Optional[MLSClientSettings] = None,  # noqa: N802
                           certChain: Any = None, privateKey: Any = None, session: Any = None,
                           settings: Any = None, checker: Any = None,
                           serverName: Optional[str] = None, alpn: Any = None,
                           async_: bool = False) -> Any:
        """``handshakeClientCert`` with MLS (default settings: mode preferred)."""
        if mls_settings is not None:
            self.mls_settings = mls_settings
        elif self.mls_settings is None:
            self.mls_settings = MLSClientSettings()
        return self.handshakeClientCert(certChain, privateKey, session, settings, checker,
                                        serverName=serverName, async_=async_, alpn=alpn)

    def handshakeServerMLS(self, mls_settings: Optional[MLSServerSettings] = None,  # noqa: N802
                           **kwargs: Any) -> Any:
        """``handshakeServer`` with MLS; keyword arguments go to tlslite-ng.

        A TLS certificate (``certChain``/``privateKey``) is still needed: it
        serves clients that fall back to classic TLS 1.3.
        """
        if mls_settings is not None:
            self.mls_settings = mls_settings
        elif self.mls_settings is None:
            self.mls_settings = MLSServerSettings()
        return self.handshakeServer(**kwargs)

    @property
    def mls_negotiated(self) -> bool:
        """True once a handshake completed with MLS providing the shared secret."""
        return self.mls_session is not None

    @property
    def mls_cipher_suite(self) -> Optional[int]:
        """The MLS cipher suite negotiated, or None without MLS."""
        return self.mls_session.cipher_suite if self.mls_session is not None else None

    @property
    def mls_epoch(self) -> Optional[int]:
        """The MLS epoch in use now (1 after the handshake), or None without MLS."""
        return self.mls_session.epoch if self.mls_session is not None else None

    @property
    def mls_local_identity(self) -> Optional[bytes]:
        """Our credential's name in the group, or None without MLS."""
        return self.mls_session.local_identity if self.mls_session is not None else None

    @property
    def mls_peer_identity(self) -> Optional[bytes]:
        """The peer's credential name, as its authentication policy accepted it, or None
        without MLS."""
        return self.mls_session.peer_identity if self.mls_session is not None else None

    def mls_exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (RFC 9420 section 8.5)."""
        if self.mls_session is None:
            raise ValueError("MLS was not negotiated on this connection")
        return self.mls_session.exporter(bytes(label), bytes(context), length)

    # ------------------------------------------------------------------
    # handshake start/end
    # ------------------------------------------------------------------
    def _handshakeStart(self, client: bool) -> None:  # noqa: N802
        TLSConnection._handshakeStart(self, client)
        self._mls_clear()
        self.mls_session = None
        self.mls_declined_reason = None
        self.mls_fell_back = False
        self.server_certificate_check = None
        if self.mls_settings is not None:
            cfg = self.mls_settings.validate()
            register_extension(cfg.extension_type)
            self._mls_cfg = cfg
        path = _keylog.keylog_path(self.keylog)
        if path:
            self._mls_keylog_path = path
            self._mls_hook_keylog()

    def _handshakeDone(self, resumed: bool) -> None:  # noqa: N802
        TLSConnection._handshakeDone(self, resumed)
        self.mls_fell_back = bool(self._client and self._mls_offered
                                  and self.mls_session is None)
        if self._mls_keylog_path and self.version > (3, 3) and self.session is not None \
                and self._mls_client_random is not None:
            secret = getattr(self.session, "exporterMasterSecret", None)
            if secret:
                _keylog.write_lines(self._mls_keylog_path, self._mls_client_random,
                                    [("EXPORTER_SECRET", secret)])

    def _mls_hook_keylog(self) -> None:
        record_layer = self._recordLayer
        if getattr(record_layer, "_mls_keylog_owner", None) is self:
            return
        base = type(record_layer).calcTLS1_3PendingState
        conn = self

        def calc(cipherSuite: Any, cl_traffic_secret: Any, sr_traffic_secret: Any,  # noqa: N803
                 implementations: Any) -> Any:
            conn._mls_log_secrets(cl_traffic_secret, sr_traffic_secret)
            return base(record_layer, cipherSuite, cl_traffic_secret, sr_traffic_secret,
                        implementations)

        record_layer.calcTLS1_3PendingState = calc
        record_layer._mls_keylog_owner = self

    def _mls_log_secrets(self, client_secret: bytes, server_secret: bytes) -> None:
        if not self._mls_keylog_path or self._mls_client_random is None \
                or self._mls_keylog_step > 1:
            return
        labels = _keylog.HANDSHAKE_LABELS if self._mls_keylog_step == 0 \
            else _keylog.APPLICATION_LABELS
        self._mls_keylog_step += 1
        _keylog.write_lines(self._mls_keylog_path, self._mls_client_random,
                            [(labels[0], client_secret), (labels[1], server_secret)])

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _mls_ext_type(self) -> int:
        cfg = self._mls_cfg
        return cfg.extension_type if cfg is not None else MLSSettings().extension_type

    def _mls_alert(self, description: int, reason: str,
                   cause: Optional[BaseException] = None) -> Iterator[Any]:
        """Send a fatal alert and raise TLSLocalAlert naming ``reason``."""
        log.debug("sending %s to %s: %s", AlertDescription.toStr(description),
                  _peer(self.sock), reason)
        try:
            for result in self._sendError(description, reason):
                yield result
        except TLSLocalAlert as alert:
            if cause is not None:
                raise alert from cause
            raise

    @staticmethod
    def _getKEX(group: int, version: Any) -> Any:  # noqa: N802
        """tlslite-ng's key exchange objects, with x25519 computed by OpenSSL.

        Every MLS ClientHello carries one x25519 share for classic fallback; in
        pure Python it would cost more than the rest of our ClientHello.
        """
        return get_kex(TLSConnection._getKEX, group, version)

    def _mls_install_secret(self, secret: bytes) -> None:
        cls = type(self)
        self._getKEX = lambda group, version: _FixedSecret(cls._getKEX(group, version), secret)
        self._KEMEncaps = lambda group, public: (bytearray(secret),
                                                 cls._KEMEncaps(group, public)[1])
        if not self._client:
            # The server's key share is taken out of the ServerHello: don't make one.
            self._genKeyShareEntry = lambda group, version: \
                KeyShareEntry().create(group, bytearray(1), None)

    def _mls_uninstall_secret(self) -> None:
        for name in ("_getKEX", "_KEMEncaps", "_genKeyShareEntry"):
            self.__dict__.pop(name, None)

    # ------------------------------------------------------------------
    # sending
    # ------------------------------------------------------------------
    def _clientSendClientHello(self, settings: Any, session: Any, srpUsername: Any,  # noqa: N802,N803
                               srpParams: Any, certParams: Any, anonParams: Any,  # noqa: N803
                               serverName: Any, nextProtos: Any, reqTack: Any,  # noqa: N803
                               alpn: Any) -> Iterator[Any]:
        cfg = self._mls_cfg
        self._mls_server_name = serverName or None
        self._mls_narrow_transcript(settings)
        if cfg is not None and cfg.enabled:
            if settings.maxVersion < (3, 4):
                if cfg.required:
                    raise ValueError("MLS is required but TLS 1.3 is disabled in settings")
            else:
                if getattr(cfg, "trust_anchors", None) and not (
                        cfg.expected_identity or cfg.server_name or serverName):
                    raise ValueError("MLS trust_anchors need a server name to check the "
                                     "server's x509 credential against: pass serverName "
                                     "(SNI) or set server_name")
                eng = _engine.load()
                self._mls_engine = eng
                self._mls_initiator = eng.InitiatorHandshake(
                    _engine.make_config(eng, cfg, serverName or None))
                key_package = self._mls_initiator.key_package()
                try:
                    self._mls_ch_ext = MLSHandshakeExtension(cfg.extension_type).create(
                        key_package)
                except MLSBodyTooLarge as exc:  # docs/profile.md section 9: before sending
                    raise MLSBodyTooLarge(
                        f"{describe_key_package(key_package)}: {exc}; use a basic "
                        "credential or a shorter certificate chain") from None
                self._mls_ch_ctx = (settings, session)
                if cfg.required and not _keyshare.offers_psk(settings, session):
                    # Never falls back, so no (EC)DHE share (docs/profile.md section 3);
                    # ``settings`` is tlslite-ng's per-handshake validated copy.
                    settings.keyShares = []
                    self._mls_no_share = True
        return TLSConnection._clientSendClientHello(self, settings, session, srpUsername,
                                                    srpParams, certParams, anonParams,
                                                    serverName, nextProtos, reqTack, alpn)

    def _sendMsg(self, msg: Any, randomizeFirstBlock: bool = True,  # noqa: N802,N803
                 update_hashes: bool = True) -> Iterator[Any]:
        # _sendMsg is a generator in tlslite-ng: mutate before it starts.
        if isinstance(msg, ClientHello):
            self._mls_client_random = bytes(msg.random)
            if not HOOKS and self._mls_ch_ext is not None and \
                    not find_all(msg.extensions, self._mls_ch_ext.extType):
                self._mls_insert_key_package(msg)
        elif isinstance(msg, ServerHello) and msg.random == TLS_1_3_HRR and not self._client:
            # A required server refuses before asking for a second ClientHello.
            refusal = self._mls_refusal(self._mls_last_ch, msg.cipher_suite)
            if refusal is not None:
                return refusal
        elif not HOOKS and isinstance(msg, ServerHello) and self._mls_sh_ext is not None \
                and msg.random != TLS_1_3_HRR and not self._mls_sh_sent:
            if not self._mls_insert_welcome(msg) and self._mls_cfg.required:
                return self._mls_psk_ke_alert()
        return TLSConnection._sendMsg(self, msg, randomizeFirstBlock, update_hashes)

    def _serverGetClientHello(self, settings: Any, *args: Any,  # noqa: N802
                              **kwargs: Any) -> Iterator[Any]:
        cfg = self._mls_cfg
        if cfg is not None and cfg.required:
            # MLS exists only in TLS 1.3: a required server answers a ClientHello that
            # offers nothing newer with protocol_version (docs/profile.md section 4), which
            # tlslite-ng does, in the RFC's order, once TLS 1.3 is its lowest version.
            # ``settings`` is tlslite-ng's per-handshake validated copy.
            if settings.maxVersion < (3, 4):
                raise ValueError("MLS is required but TLS 1.3 is disabled in settings")
            settings.minVersion = (3, 4)
            settings.versions = [v for v in settings.versions if v >= (3, 4)]
        self._mls_hs_settings = settings
        self._mls_narrow_transcript(settings)
        return TLSConnection._serverGetClientHello(self, settings, *args, **kwargs)

    def _mls_narrow_transcript(self, settings: Any) -> None:
        """Before the first message: a TLS 1.3-only handshake hashes with SHA-256/384
        alone (transcript.py)."""
        if settings.minVersion >= (3, 4):
            self._handshake_hash = TLS13HandshakeHashes()

    def _mls_refusal(self, hello: Optional[ClientHello],
                     cipher_suite: int) -> Optional[Iterator[Any]]:
        """The alert a required server answers ``hello`` with, or None to go on.

        Called when the ClientHello is answered (HelloRetryRequest or ServerHello), so
        tlslite-ng's RFC 8446 checks have run. Acceptable: the extension, or a
        ``pre_shared_key`` whose ticket resumes an MLS group in the store (section 6);
        anything else is refused now rather than after a classic handshake.
        """
        cfg = self._mls_cfg
        if hello is None or cfg is None or not cfg.required or \
                find_all(hello.extensions, cfg.extension_type):
            return None
        if not find_all(hello.extensions, ExtensionType.pre_shared_key):
            return self._mls_alert(AlertDescription.handshake_failure,
                                   "MLS is required but the ClientHello does not offer it",
                                   MLSNegotiationError("client did not offer MLS"))
        prf_name, _ = self._getPRFParams(cipher_suite)
        try:
            resumes = self._mls_ticket_resumes_group(hello, self._mls_hs_settings, prf_name)
        except Exception as exc:  # a store failure: tell the peer, name the reason
            return self._mls_alert(AlertDescription.internal_error,
                                   "state store failed: " + describe(exc), exc)
        if resumes:
            return None
        return self._mls_alert(AlertDescription.handshake_failure,
                               "MLS is required but the ClientHello does not offer it and "
                               "its pre_shared_key resumes no MLS group kept here",
                               MLSNegotiationError("pre_shared_key without an MLS group"))

    def _mls_psk_ke_alert(self) -> Iterator[Any]:
        return self._mls_alert(AlertDescription.handshake_failure,
                               "MLS is required but psk_ke resumption was selected, which has "
                               "no (EC)DHE slot for MLS",
                               MLSNegotiationError("psk_ke selected"))

    def _mls_forget_handshake(self) -> None:
        super()._mls_forget_handshake()
        self._mls_engine = self._mls_initiator = None
        self._mls_ch_ext = self._mls_ch_ctx = self._mls_ch_hashes = None
        self._mls_sh_ext = self._mls_last_ch = self._mls_hs_settings = None
        self._mls_hook_secret = None
        # tlslite-ng's copy of the transcript before the ClientHello (PSK binders); it
        # sets it again in the next handshake.
        self._pre_client_hello_handshake_hash = None

    def _mls_drop_pending(self, reason: str) -> None:
        """MLS will not be used after all: forget the group and its secrets."""
        self.mls_declined_reason = reason
        if self._mls_pending is not None:
            self._mls_pending.close()
        self._mls_sh_ext = None
        self._mls_pending = None
        self._mls_hook_secret = None
        self._mls_uninstall_secret()

    def _hook_client_hello_extensions(self, settings: Any, session: Any) -> list:
        """Hook patch: the KeyPackage goes in before padding and PSK."""
        if self._mls_ch_ext is None:
            return []
        self._mls_offered = True
        return [self._mls_ch_ext]

    def _mls_insert_key_package(self, hello: ClientHello) -> None:
        settings, session = self._mls_ch_ctx
        extensions = hello.extensions if hello.extensions is not None else []
        psk = next((e for e in extensions if e.extType == ExtensionType.pre_shared_key), None)
        pad = [e for e in extensions if e.extType == ExtensionType.client_hello_padding]
        for ext in pad + ([psk] if psk is not None else []):
            extensions.remove(ext)
        extensions.append(self._mls_ch_ext)
        hello.extensions = extensions
        if pad and settings.usePaddingExtension:
            HandshakeHelpers.alignClientHelloPadding(hello)
        if psk is not None:
            # RFC 8446 4.2.11: pre_shared_key stays last; binders cover the new bytes.
            hello.extensions.append(psk)
            HandshakeHelpers.update_binders(
                hello, self._handshake_hash, settings.pskConfigs,
                session.tickets if session else None,
                session.resumptionMasterSecret if session else None)
        self._mls_offered = True

    def _mls_insert_welcome(self, hello: ServerHello) -> bool:
        """Welcome in, key_share out; False when psk_ke leaves no place for MLS."""
        key_share = [e for e in hello.extensions if e.extType == ExtensionType.key_share]
        if not key_share:
            # psk_ke resumption: no (EC)DHE slot, so no MLS (docs/profile.md section 3).
            self._mls_drop_pending(_PSK_KE_REASON)
            return False
        # docs/profile.md section 3: the MLS secret replaces (EC)DHE, so no key_share.
        for ext in key_share:
            hello.extensions.remove(ext)
        hello.extensions.append(self._mls_sh_ext)
        self._mls_sh_sent = True
        return True

    def _queue_message(self, msg: Any) -> None:
        if self._mls_sh_sent and not self._mls_cfg.send_certificates and \
                isinstance(msg, (Certificate, CertificateVerify, CertificateRequest)):
            # MLS credentials authenticate "in lieu of" TLS certificates.
            return
        TLSConnection._queue_message(self, msg)

    # ------------------------------------------------------------------
    # receiving: docs/profile.md section 9 bounds, section 4 checks on every message
    # ------------------------------------------------------------------
    def _mls_message_limit(self) -> int:
        """Largest handshake message acceptable now (``closed`` until the handshake
        is complete)."""
        cfg = self._mls_cfg if self._mls_cfg is not None else self.mls_settings
        if self.closed:
            return getattr(cfg, "max_handshake_message", DEFAULT_MAX_HANDSHAKE_MESSAGE)
        return getattr(cfg, "max_post_handshake_message", DEFAULT_MAX_POST_HANDSHAKE_MESSAGE)

    _hook_max_handshake_length = _mls_message_limit  # hook patch: the same limit

    def _getNextRecordFromSocket(self) -> Iterator[Any]:  # noqa: N802
        stashed = self._fast_take_stashed()
        if stashed is not None:  # read by the fast read() and left for this path
            yield stashed
            return
        oversized = getattr(self._defragmenter, "oversized", None)
        if oversized is not None:
            # Checked before the next record is read: the message never completes.
            yield from self._sendError(AlertDescription.decode_error, str(oversized))
        if not self._client and self._mls_client_random is None and \
                self._defragmenter.buffers.get(ContentType.handshake, b"")[:1] == b"\x00":
            # A client's first handshake message must be a ClientHello (1). Type 0 is
            # HelloRequest, which no client sends: it is how an MLS-TLS client_hello
            # (TwoPartyMessage version mls10 = 0x0001) reads, with a declared length
            # near 64 KiB that would keep the server waiting for bytes that never come.
            yield from self._sendError(
                AlertDescription.unexpected_message,
                "the first handshake message is not a ClientHello (it reads as "
                "HelloRequest): the client may speak MLS-TLS, which this TLS server "
                "does not")
        for result in TLSConnection._getNextRecordFromSocket(self):
            yield result

    def _getMsg(self, expectedType: Any, secondaryType: Any = None,  # noqa: N802,N803
                constructorType: Any = None) -> Iterator[Any]:
        if self._client and secondaryType == HandshakeType.server_hello:
            # Transcript up to and including the final ClientHello, for
            # tls_client_hello_hash (the Welcome binds it).
            self._mls_ch_hashes = self._handshake_hash.copy()
        for result in TLSConnection._getMsg(self, expectedType, secondaryType,
                                            constructorType):
            if result in (0, 1):
                yield result
            else:
                break
        for check in self._mls_check_message(result):
            yield check
        yield result

    def _mls_check_message(self, msg: Any) -> Iterator[Any]:
        ext_type = self._mls_ext_type()
        cfg = self._mls_cfg
        name = "tls_using_mls_handshake"
        if isinstance(msg, ClientHello):
            self._mls_client_random = bytes(msg.random)
            if cfg is None or not cfg.enabled:
                return
            found = find_all(msg.extensions, ext_type)
            if len(found) > 1:
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"{name} appears {len(found)} times in ClientHello")
            if found and find_all(msg.extensions, ExtensionType.early_data):
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"ClientHello carries {name} together with early_data")
            # Whether a required server can take this ClientHello is decided when it is
            # answered (_mls_refusal), after tlslite-ng's RFC 8446 checks of it: their
            # alerts come first (precedence rule, docs/profile.md section 4).
            self._mls_last_ch = msg
            if found and not self._client:
                self._mls_stand_in_for_share(msg, found[0].body)
            return
        if isinstance(msg, ServerHello):
            found = find_all(msg.extensions, ext_type)
            hrr = msg.random == TLS_1_3_HRR
            if found and not self._mls_offered:
                yield from self._mls_alert(AlertDescription.unsupported_extension,
                                           f"{name} in ServerHello without being offered")
            if found and hrr:
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"{name} in HelloRetryRequest")
            if len(found) > 1:
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"{name} appears {len(found)} times in ServerHello")
            if hrr and self._mls_no_share:
                # docs/profile.md section 3: a server that takes MLS never asks for a
                # share, so this one declined the KeyPackage.
                yield from self._mls_alert(
                    AlertDescription.handshake_failure,
                    "MLS is required but the server asked for a key share "
                    "(HelloRetryRequest): it did not accept the KeyPackage",
                    MLSNegotiationError("server did not negotiate MLS"))
            if found and find_all(msg.extensions, ExtensionType.key_share):
                # docs/profile.md sections 3 and 4: the MLS secret takes the (EC)DHE slot, so
                # a server that sends both asks for two key exchanges at once.
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"ServerHello carries {name} together with key_share")
            if not found and not hrr and cfg is not None and cfg.required:
                # tlslite-ng sets the version only after this message; the
                # alert must already carry the negotiated record version.
                versions = find_all(msg.extensions, ExtensionType.supported_versions)
                self.version = versions[0].version if versions else msg.server_version
                if self.version >= (3, 4):
                    # The server now reads with the client handshake traffic key: a
                    # plaintext alert reaches NSS, Go and Java as a record error. Refuse
                    # with the next message, once that key exists.
                    self._mls_refuse_with_next = True
                    return
                yield from self._mls_refuse_classic()
            return
        if getattr(self, "_mls_refuse_with_next", False):
            self._mls_refuse_with_next = False
            self._changeWriteState()  # client handshake traffic key (RFC 8446 section 7.3)
            yield from self._mls_refuse_classic()
        places = [msg] + list(getattr(msg, "certificate_list", None) or [])
        for place in places:
            if find_all(getattr(place, "extensions", None), ext_type):
                yield from self._mls_alert(AlertDescription.illegal_parameter,
                                           f"{name} in {type(msg).__name__}")
        if self._client and isinstance(msg, Certificate):
            yield from self._mls_check_server_certificate(msg)

    def _mls_check_server_certificate(self, msg: Certificate) -> Iterator[Any]:
        """docs/profile.md section 10: without MLS the server's certificate must validate."""
        cfg = self._mls_cfg
        if not isinstance(cfg, MLSClientSettings) or self._mls_pending is not None:
            return  # a plain tlslite-ng connection, or MLS authenticates the server
        if cfg.insecure:
            self.server_certificate_check = "NOT verified (insecure)"
            return
        chain = msg.cert_chain
        ders = [bytes(c.bytes) for c in chain.x509List] if chain is not None else []
        name = cfg.server_name or self._mls_server_name or self._mls_peer_ip()
        try:
            if not name:
                raise _certcheck.ServerCertificateError(
                    AlertDescription.bad_certificate,
                    "no server name to check the server certificate against: pass "
                    "serverName (SNI) or set server_name in the MLS settings")
            anchors = _certcheck.anchors_from(cfg.trust_anchors) if cfg.trust_anchors \
                else _certcheck.system_trust_anchors()
            _certcheck.verify_server_certificate(ders, anchors, name)
        except _certcheck.ServerCertificateError as exc:
            if self.version >= (3, 4):
                # The server reads with the client handshake traffic key by now: the
                # alert goes under it, as with the required-mode refusal above.
                self._changeWriteState()
            yield from self._mls_alert(exc.alert, exc.reason, exc)
        self.server_certificate_check = f"verified for {name!r} against {anchors.source}"

    def _mls_peer_ip(self) -> Optional[str]:
        """The IP address dialled, the name of last resort (as for a URL with an IP)."""
        try:
            peer = self.sock.getpeername()
        except (OSError, AttributeError):
            return None
        return peer[0] if isinstance(peer, tuple) and peer else None

    def _mls_refuse_classic(self) -> Iterator[Any]:
        """Required mode, and the server answered without MLS."""
        return self._mls_alert(AlertDescription.handshake_failure,
                               "MLS is required but the server did not accept it",
                               MLSNegotiationError("server did not negotiate MLS"))

    # ------------------------------------------------------------------
    # TLS 1.3 handshakes
    # ------------------------------------------------------------------
    def _clientTLS13Handshake(self, settings: Any, session: Any, clientHello: Any,  # noqa: N802,N803
                              clientCertChain: Any, privateKey: Any,  # noqa: N803
                              serverHello: Any) -> Iterator[Any]:  # noqa: N803
        if clientCertChain is None and settings.certificate_compression_send:
            # Nothing to compress in an empty Certificate, and GnuTLS 3.7 fails
            # the handshake on a compressed empty one.
            settings.certificate_compression_send = []
        found = find_all(serverHello.extensions, self._mls_ext_type()) \
            if self._mls_offered else []
        if found:
            prf_name, prf_size = self._getPRFParams(serverHello.cipher_suite)
            try:
                ch_hash = self._mls_ch_hashes.digest(prf_name)
                mls_session = self._mls_initiator.process_welcome(found[0].body, ch_hash)
                secret = mls_session.exporter(SHARED_SECRET_LABEL, b"", prf_size)
            except Exception as exc:  # every core failure becomes an alert
                yield from self._mls_alert(alert_for(exc), describe(exc), exc)
            shares = clientHello.getExtension(ExtensionType.key_share)
            group = _keyshare.shareless_hello_group(clientHello, settings) \
                if self._mls_no_share else None
            if group is not None:
                _keyshare.add_placeholder_share(clientHello, group)
            elif shares is None or not shares.client_shares:
                yield from self._mls_alert(AlertDescription.internal_error,
                                           "no client key share to anchor the MLS secret")
            self._mls_pending = mls_session
            if HOOKS:
                self._mls_hook_secret = secret
            else:
                self._mls_install_secret(secret)
                settings = self._mls_adapt_server_hello(settings, clientHello, serverHello,
                                                        prf_name, prf_size)
        try:
            for result in TLSConnection._clientTLS13Handshake(
                    self, settings, session, clientHello, clientCertChain, privateKey,
                    serverHello):
                if result in _FINISHED:
                    self._mls_finished()
                yield result
        finally:
            self._mls_uninstall_secret()

    def _hook_client_server_hello(self, settings: Any, clientHello: Any,  # noqa: N803
                                  serverHello: Any, secret_size: int) -> Iterator[Any]:  # noqa: N803
        """Hook patch: the MLS secret and whether certificates are skipped."""
        if self._mls_hook_secret is None:
            yield (None, False)
            return
        yield (bytearray(self._mls_hook_secret), not self._mls_cfg.send_certificates)

    def _mls_adapt_server_hello(self, settings: Any, clientHello: Any, serverHello: Any,  # noqa: N803
                                prf_name: str, prf_size: int) -> Any:
        """Make the already-hashed ServerHello digestible for tlslite-ng; returns settings."""
        if serverHello.getExtension(ExtensionType.key_share) is None:
            shares = clientHello.getExtension(ExtensionType.key_share)
            # Ignored by the key schedule: _getKEX returns the MLS secret.
            entry = KeyShareEntry().create(shares.client_shares[0].group, bytearray(1), None)
            serverHello.extensions.append(ServerKeyShareExtension().create(entry))
        if not self._mls_cfg.send_certificates and \
                serverHello.getExtension(ExtensionType.pre_shared_key) is None:
            psk_ext = clientHello.getExtension(ExtensionType.pre_shared_key)
            if psk_ext is None:
                psk_ext = PreSharedKeyExtension().create([], [])
                clientHello.extensions.append(psk_ext)
            psk_ext.identities.append(PskIdentity().create(_NO_CERT_PSK_IDENTITY, 0))
            psk_ext.binders.append(bytearray(prf_size))
            serverHello.extensions.append(
                SrvPreSharedKeyExtension().create(len(psk_ext.identities) - 1))
            # settings is tlslite-ng's per-handshake validated copy.
            settings.pskConfigs = list(settings.pskConfigs) + [
                (_NO_CERT_PSK_IDENTITY, bytearray(prf_size), prf_name)]
        return settings

    def _serverTLS13Handshake(self, settings: Any, clientHello: Any,  # noqa: N802,N803
                              cipherSuite: int, privateKey: Any,  # noqa: N803
                              serverCertChain: Any, version: Any, scheme: Any,  # noqa: N803
                              srv_alpns: Any, reqCert: bool) -> Iterator[Any]:  # noqa: N803
        refusal = self._mls_refusal(clientHello, cipherSuite)
        if refusal is not None:
            yield from refusal
        cfg = self._mls_cfg
        found = find_all(clientHello.extensions, cfg.extension_type) \
            if cfg is not None and cfg.enabled else []
        if found and not HOOKS:
            for result in self._mls_respond(cfg, found[0].body, cipherSuite):
                yield result
            if self._mls_sh_ext is not None and not cfg.send_certificates:
                reqCert = False
                privateKey = _NoCertificateSignature(privateKey, self)
        if srv_alpns is None:
            # tlslite-ng 0.8.2 tests the client's ALPN names against srv_alpns without a
            # None check, so a server without ALPN failed every browser and curl.
            srv_alpns = ()
        try:
            for result in TLSConnection._serverTLS13Handshake(
                    self, settings, clientHello, cipherSuite, privateKey, serverCertChain,
                    version, scheme, srv_alpns, reqCert):
                if result in _FINISHED:
                    self._mls_finished()
                yield result
        finally:
            self._mls_uninstall_secret()

    def _create_cert_msg(self, peer: str, request_msg: Any, valid_compression_algos: Any,
                         *args: Any, **kwargs: Any) -> Any:
        # With MLS in place of the certificate messages the server's Certificate is
        # dropped before it is hashed or sent: do not spend a compression pass on it.
        cfg = self._mls_cfg
        if peer == "server" and self._mls_sh_ext is not None and cfg is not None \
                and not cfg.send_certificates:
            valid_compression_algos = []
        return TLSConnection._create_cert_msg(self, peer, request_msg,
                                              valid_compression_algos, *args, **kwargs)

    def _hook_server_client_hello(self, settings: Any, clientHello: Any,  # noqa: N803
                                  cipherSuite: int, dhe: bool) -> Iterator[Any]:  # noqa: N803
        """Hook patch: the Welcome for the ServerHello and the MLS secret."""
        cfg = self._mls_cfg
        found = find_all(clientHello.extensions, cfg.extension_type) \
            if cfg is not None and cfg.enabled else []
        if found and not dhe:
            self.mls_declined_reason = _PSK_KE_REASON
            if cfg.required:
                yield from self._mls_psk_ke_alert()
        elif found:
            for result in self._mls_respond(cfg, found[0].body, cipherSuite):
                yield result
        if self._mls_sh_ext is None:
            yield ([], None, False)
            return
        self._mls_sh_sent = True
        yield ([self._mls_sh_ext], bytearray(self._mls_hook_secret),
               not cfg.send_certificates)

    def _mls_respond(self, cfg: MLSSettings, key_package: bytes,
                     cipher_suite: int) -> Iterator[Any]:
        prf_name, prf_size = self._getPRFParams(cipher_suite)
        # The final ClientHello is the last message in the transcript.
        ch_hash = self._handshake_hash.digest(prf_name)
        eng = _engine.load()
        try:
            responder = eng.ResponderHandshake(_engine.make_config(eng, cfg))
            welcome, mls_session = responder.accept(key_package, ch_hash)
            ext = MLSHandshakeExtension(cfg.extension_type, server=True).create(
                welcome, f"MLS Welcome (suite 0x{mls_session.cipher_suite:04x})")
            secret = mls_session.exporter(SHARED_SECRET_LABEL, b"", prf_size)
        except (eng.Declined, MLSBodyTooLarge) as exc:
            self.mls_declined_reason = str(exc) or type(exc).__name__
            if cfg.required or self._mls_no_share:
                # The engine names the alert of a decline (access_denied or bad_certificate
                # for a refused credential), the same mapping as MLS-TLS.
                alert = alert_for(exc) if isinstance(exc, eng.Declined) \
                    else AlertDescription.handshake_failure
                yield from self._mls_alert(alert,
                                           f"{self._mls_must()} but the KeyPackage was "
                                           f"declined: {self.mls_declined_reason}", exc)
            return  # classic TLS 1.3 with the client's key shares
        except StoreUnavailable as exc:
            if cfg.required or self._mls_no_share:
                yield from self._mls_alert(AlertDescription.internal_error,
                                           f"{self._mls_must()} but {exc}", exc)
            # The store is the server's problem, not the client's: classic TLS 1.3.
            self.mls_declined_reason = str(exc)
            log.warning("MLS declined for %s, classic TLS 1.3 instead: %s",
                        _peer(self.sock), exc)
            return
        except Exception as exc:
            yield from self._mls_alert(alert_for(exc), describe(exc), exc)
        self._mls_sh_ext = ext
        self._mls_pending = mls_session
        if HOOKS:
            self._mls_hook_secret = secret
        else:
            self._mls_install_secret(secret)

    def _mls_stand_in_for_share(self, hello: ClientHello, key_package: bytes) -> None:
        """A ClientHello with the KeyPackage and no usable share (a client that requires
        MLS): a placeholder share if MLS is going to be taken (keyshare.py), none (so a
        HelloRetryRequest asks for a share) if the KeyPackage is declined up front."""
        cfg, settings = self._mls_cfg, self._mls_hs_settings
        group = _keyshare.shareless_hello_group(hello, settings) if settings else None
        if group is None:
            return
        if not cfg.required:
            eng = _engine.load()
            try:
                eng.ResponderHandshake(_engine.make_config(eng, cfg)).check(key_package)
            except eng.Declined as exc:
                self.mls_declined_reason = str(exc)
                return
            except Exception:  # noqa: BLE001 - a bad KeyPackage gets its alert from
                pass           # _mls_respond, after tlslite-ng's checks of the ClientHello
        _keyshare.add_placeholder_share(hello, group)
        self._mls_no_share = True

    def _mls_must(self) -> str:
        """Why a server cannot fall back to classic TLS after a decline."""
        return "MLS is required" if self._mls_cfg.required else \
            "the client sent no key share (it requires MLS)"

    def _mls_finished(self) -> None:
        negotiated = self._mls_sh_sent if not self._client else self._mls_pending is not None
        role = "client" if self._client else "server"
        if negotiated:
            self.mls_session = self._mls_pending
            self.ecdhCurve = None  # no (EC)DHE happened
            log.debug("%s: MLS negotiated with %s, suite 0x%04x, epoch %d, peer %s", role,
                      _peer(self.sock), self.mls_session.cipher_suite, self.mls_session.epoch,
                      short_identity(self.mls_session.peer_identity))
        elif self._mls_cfg is not None and self._mls_cfg.enabled:
            log.debug("%s: MLS not negotiated with %s (%s): classic TLS 1.3", role,
                      _peer(self.sock), self.mls_declined_reason or "not offered")
        self._mls_pending = None
        self._mls_initiator = None
        self._mls_hook_secret = None


def _peer(sock: Any) -> str:
    try:
        return peer_text(sock.getpeername())
    except (OSError, AttributeError):
        return "-"
