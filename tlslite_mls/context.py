"""One API for both modes, shaped like Python's ``ssl``: a context wraps sockets.

A :class:`ClientContext` or :class:`ServerContext` is made once from an identity, a
way to authenticate the peer, a mode and a store; ``wrap_socket()`` then returns an
:class:`MLSSocket` with the same properties and methods in both modes::

    ctx = tlslite_mls.ClientContext(identity="client.pem", pinned_keys=["server.pub"])
    with ctx.wrap_socket(socket.create_connection(addr), server_hostname="example") as s:
        s.sendall(b"hello")
        print(s.negotiated, s.cipher_suite, s.epoch, s.exporter(b"label", b"", 32))

Modes: ``mode="extension"`` (TLS 1.3 with the MLS extension; ``mls`` is ``"off"``,
``"preferred"`` or ``"required"``) and ``mode="mls-tls"`` (MLS as the handshake, TLS
1.3 records). The connections underneath are the modes' own classes
(``tlslite_mls.tls.MLSTLSConnection``, ``tlslite_mls.mlstls.MLSTLSClient/Server``):
this module builds their settings once per context and delegates every operation.

Defaults are the secure ones: a client context refuses to be made without a way to
authenticate the server (``expected_identity``, ``trust_anchors``, ``pinned_keys`` or
``auth_policy``; ``AcceptAnyCredential()`` says "anyone" explicitly), and a classic
TLS 1.3 fallback checks the server certificate as ``ssl.create_default_context()``
does unless ``insecure=True`` (where the extension-mode settings support it).
"""

from __future__ import annotations

import copy
import logging
import os
import socket
from typing import Any, Callable, Generator, Iterable, Iterator, Optional, Sequence, Union

__all__ = ["ClientContext", "ServerContext", "MLSSocket", "EXTENSION", "MLS_TLS",
           "EpochCallback"]

log = logging.getLogger("tlslite_mls.connection")

EXTENSION = "extension"
MLS_TLS = "mls-tls"
_MLS_LEVELS = ("off", "preferred", "required")

#: ``on_epoch_change(connection, new_epoch)``: called before the application can see
#: the new epoch's exporter values.
EpochCallback = Callable[["MLSSocket", int], None]

PathLike = Union[str, "os.PathLike[str]"]


# ----------------------------------------------------------------------------
# turning user input into the settings' keywords
# ----------------------------------------------------------------------------
def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def _identity_keywords(identity: Any) -> dict[str, Any]:
    """``suites``/``credential``/``signature_key`` from an identity file, an object with
    ``settings()`` (``tlslite_mls.identity.Identity``), or a (credential, key) pair."""
    if identity is None:
        return {}
    if _is_path(identity) or isinstance(identity, (bytes, bytearray)):
        try:
            from .identity import load_identity
        except ImportError:  # pragma: no cover - the identity module ships with the package
            raise ValueError("identity files need tlslite_mls.identity") from None
        identity = load_identity(identity)
    settings = getattr(identity, "settings", None)
    if callable(settings):
        return dict(settings())
    if isinstance(identity, tuple) and len(identity) == 2:
        return {"credential": identity[0], "signature_key": identity[1]}
    raise ValueError("identity must be an identity file (path or bytes), an Identity, or "
                     f"a (credential, signature_key) pair, not {type(identity).__name__}")


def _pins(pins: Iterable[Any]) -> list[Any]:
    """Pinned keys; paths are exported public identity files (or identity files)."""
    if _is_path(pins) or isinstance(pins, (bytes, bytearray)):
        raise ValueError("pinned_keys must be a sequence of keys or files, not one")
    out = []
    for p in pins or ():
        if _is_path(p):
            from .identity import load_public_identity
            p = load_public_identity(p)
        out.append(p)
    return out


def _anchors(anchors: Iterable[Any]) -> list[Any]:
    """Trust anchors; paths are PEM files (their certificates are parsed later)."""
    if _is_path(anchors) or isinstance(anchors, (bytes, bytearray)):
        raise ValueError("trust_anchors must be a sequence of certificates or files, not one")
    out = []
    for a in anchors or ():
        if _is_path(a):
            with open(a, "rb") as f:
                a = f.read()
        out.append(a)
    return out


def _check_mode(mode: str, mls: str) -> None:
    if mode not in (EXTENSION, MLS_TLS):
        raise ValueError(f"mode must be {EXTENSION!r} or {MLS_TLS!r}, not {mode!r}")
    if mls not in _MLS_LEVELS:
        raise ValueError(f"mls must be one of {', '.join(_MLS_LEVELS)}, not {mls!r}")
    if mode == MLS_TLS and mls != "required":
        raise ValueError(f"mls={mls!r} is an extension-mode choice: MLS-TLS always uses MLS "
                         "(leave mls at its default)")


# ----------------------------------------------------------------------------
# contexts
# ----------------------------------------------------------------------------
class _Context:
    """What both roles share: the validated settings and the connection factory."""

    server_side = False

    def __init__(self, identity: Any = None, *, mode: str = EXTENSION,
                 mls: Optional[str] = None, suites: Optional[Sequence[int]] = None,
                 expected_identity: "bytes | str | None" = None,
                 trust_anchors: Iterable[Any] = (), pinned_keys: Iterable[Any] = (),
                 auth_policy: Any = None, store: Any = None,
                 on_epoch_change: Optional[EpochCallback] = None,
                 **options: Any) -> None:
        mls = mls if mls is not None else ("required" if mode == MLS_TLS else "preferred")
        _check_mode(mode, mls)
        self.mode = mode
        self.mls = mls
        self.on_epoch_change = on_epoch_change
        self.store = store
        if isinstance(store, str):
            from .store import open_store
            self.store = open_store(store)
        kw: dict[str, Any] = _identity_keywords(identity)
        if suites is not None:
            kw["suites"] = list(suites)
        kw.update(expected_identity=expected_identity, trust_anchors=_anchors(trust_anchors),
                  pinned_keys=_pins(pinned_keys), auth_policy=auth_policy, store=self.store)
        kw.update(options)
        self._settings = self._make_settings(kw)
        # Mistakes show here, not at the first connection.
        self._validated = self._validate(self._settings)

    def _validate(self, settings: Any) -> Any:
        return settings.validate()

    def _make_settings(self, kw: dict[str, Any]) -> Any:
        raise NotImplementedError

    @property
    def settings(self) -> Any:
        """The mode's own settings object underneath (a copy: changes do not apply)."""
        return copy.copy(self._settings)

    def peer_authentication(self) -> str:
        """What this context verifies about the peer, in words."""
        return self._validated.peer_authentication()

    def __repr__(self) -> str:
        mls = f", mls={self.mls}" if self.mode == EXTENSION else ""
        return f"{type(self).__name__}(mode={self.mode}{mls}, {self._validated!r})"


class ClientContext(_Context):
    """A client's context (the MLS initiator), like ``ssl.SSLContext(PROTOCOL_TLS_CLIENT)``.

    :param identity: identity file path (``python -m tlslite_mls keygen``), an
        ``Identity``, a ``(credential, signature_key)`` pair, or ``None`` for a
        throw-away basic identity.
    :param mode: ``"extension"`` or ``"mls-tls"``.
    :param mls: extension mode only: ``"off"``, ``"preferred"`` (default), ``"required"``.
    :param expected_identity: / :param trust_anchors: / :param pinned_keys: /
        :param auth_policy: how the server is authenticated (at least one is needed;
        ``auth_policy=AcceptAnyCredential()`` accepts anyone). Anchors and pins may be
        file paths.
    :param insecure: extension mode: skip the TLS certificate check of a classic
        fallback.
    :param store: a ``StateStore`` or a store spec (``"sqlite:///path"``) for groups kept
        for resumption.
    :param tls_settings: extension mode: tlslite-ng ``HandshakeSettings`` (default: TLS
        1.3 only, one x25519 share for classic fallback).
    :param options: any other keyword of ``MLSClientSettings`` / ``MLSTLSClientSettings``.
    """

    def __init__(self, identity: Any = None, *, insecure: bool = False,
                 tls_settings: Any = None, **kwargs: Any) -> None:
        self.insecure = insecure
        self.tls_settings = tls_settings
        super().__init__(identity, **kwargs)

    def _make_settings(self, kw: dict[str, Any]) -> Any:
        if self.mode == MLS_TLS:
            if self.insecure:
                raise ValueError("insecure applies to the extension mode's classic fallback; "
                                 "MLS-TLS never falls back")
            from .mlstls import MLSTLSClientSettings
            return MLSTLSClientSettings(**kw)
        from .tls import MLSClientSettings
        if self.insecure:
            kw["insecure"] = True  # refused by settings that cannot honour it
        return MLSClientSettings(mode=self.mls, **kw)

    @property
    def _needs_hostname(self) -> bool:
        """MLS-TLS has no SNI: x509 anchors need each connection's server_hostname."""
        s = self._settings
        return self.mode == MLS_TLS and bool(s.trust_anchors) and not (
            s.server_name or s.expected_identity)

    def _validate(self, settings: Any) -> Any:
        if self._needs_hostname:
            settings = copy.copy(settings)
            settings.server_name = "checked-per-connection.invalid"
        return settings.validate()

    def wrap_socket(self, sock: socket.socket, server_side: bool = False,
                    server_hostname: Optional[str] = None, session: Any = None,
                    do_handshake_on_connect: bool = True) -> "MLSSocket":
        """Wrap a connected socket; the handshake runs now unless told otherwise.

        :param server_hostname: the server's name: SNI in the extension mode, and the
            name an x509 credential must carry when ``trust_anchors`` judge it.
        :param session: a ``session`` of an earlier connection of this context, to
            resume its MLS group (``resumed`` says whether it worked).
        """
        if server_side:
            raise ValueError("a ClientContext makes client connections: server_side=True "
                             "needs a ServerContext")
        if self._needs_hostname and not server_hostname:
            raise ValueError("server_hostname is needed: trust_anchors check the server's "
                             "x509 credential for that name (or give the context "
                             "server_name or expected_identity)")
        conn = _make_socket(self, sock, server_hostname, session)
        if do_handshake_on_connect:
            conn.do_handshake()
        return conn


class ServerContext(_Context):
    """A server's context (the MLS responder).

    Without peer-authentication options any client is accepted (like a TLS server that
    does not ask for client certificates).

    :param certfile: / :param keyfile: extension mode: the TLS certificate chain and key
        (PEM paths) that classic TLS 1.3 clients see; default a throw-away self-signed
        certificate (classic clients that verify will refuse it).
    :param tickets: extension mode: issue TLS session tickets, so clients can resume
        their MLS groups (keeps groups in the store for ``state_lifetime``).
    :param options: as for :class:`ClientContext`, for ``MLSServerSettings`` /
        ``MLSTLSServerSettings``.
    """

    server_side = True

    def __init__(self, identity: Any = None, *, certfile: Optional[PathLike] = None,
                 keyfile: Optional[PathLike] = None, tickets: bool = False,
                 tls_settings: Any = None, **kwargs: Any) -> None:
        self.tickets = tickets
        self.tls_settings = tls_settings
        super().__init__(identity, **kwargs)
        self._tls_identity: Any = None
        if self.mode == EXTENSION:
            from .tls.certificates import load_tls_identity, throwaway_tls_identity
            if (certfile is None) != (keyfile is None):
                raise ValueError("certfile and keyfile go together (or neither)")
            if certfile is not None:
                with open(certfile) as c, open(keyfile) as k:  # type: ignore[arg-type]
                    self._tls_identity = load_tls_identity(c.read(), k.read())
            else:
                self._tls_identity = throwaway_tls_identity()
            self._ticket_keys = [os.urandom(32)] if tickets else []
        elif certfile is not None or keyfile is not None or tickets:
            raise ValueError("certfile, keyfile and tickets are extension-mode options "
                             "(MLS-TLS sends no certificates; resumption needs a store)")

    def _make_settings(self, kw: dict[str, Any]) -> Any:
        if self.mode == MLS_TLS:
            from .mlstls import MLSTLSServerSettings
            return MLSTLSServerSettings(**kw)
        from .tls import MLSServerSettings
        return MLSServerSettings(mode=self.mls, **kw)

    def wrap_socket(self, sock: socket.socket, server_side: bool = True,
                    server_hostname: Optional[str] = None,
                    do_handshake_on_connect: bool = True) -> "MLSSocket":
        """Wrap an accepted socket; the handshake runs now unless told otherwise."""
        if not server_side:
            raise ValueError("a ServerContext makes server connections: server_side=False "
                             "needs a ClientContext")
        if server_hostname is not None:
            raise ValueError("server_hostname is only for client connections")
        conn = _make_socket(self, sock, None, None)
        if do_handshake_on_connect:
            conn.do_handshake()
        return conn


def tls_handshake_settings(custom: Any = None) -> Any:
    """tlslite-ng ``HandshakeSettings`` for the extension mode: TLS 1.3 only (MLS needs
    it) and one x25519 key share, which serves classic TLS 1.3 fallback."""
    if custom is not None:
        return custom
    from tlslite import HandshakeSettings
    s = HandshakeSettings()
    s.minVersion = s.maxVersion = (3, 4)
    s.keyShares = ["x25519"]
    return s


def _make_socket(ctx: _Context, sock: socket.socket, server_hostname: Optional[str],
                 session: Any) -> "MLSSocket":
    if ctx.mode == MLS_TLS:
        return _MLSTLSSocket(ctx, sock, server_hostname, session)
    return _ExtensionSocket(ctx, sock, server_hostname, session)


# ----------------------------------------------------------------------------
# connections
# ----------------------------------------------------------------------------
class MLSSocket:
    """A connection made by a context: the same API in both modes.

    Like an ``ssl.SSLSocket``: ``send``/``sendall``/``recv``/``close``, ``fileno``,
    context manager. MLS: ``negotiated``, ``cipher_suite`` (MLS suite id),
    ``epoch``, ``peer_identity``, ``local_identity``, ``exporter()``, ``update()``,
    ``resumed``, ``session`` (give it to ``wrap_socket(session=...)`` to resume) and
    ``on_epoch_change`` (from the context; settable per connection).

    Not thread-safe, like the connections underneath: one thread at a time.
    """

    mode = ""

    def __init__(self, ctx: _Context, sock: socket.socket, server_hostname: Optional[str],
                 session: Any) -> None:
        self.context = ctx
        self.sock = sock
        self.server_side = ctx.server_side
        self.server_hostname = server_hostname
        self.on_epoch_change: Optional[EpochCallback] = ctx.on_epoch_change
        self._offered_session = session
        self._pending = b""  # received, beyond what recv() was asked for
        self._seen_epoch: Optional[int] = None
        self._handshaken = False

    # -- what the modes supply -------------------------------------------------------
    def _handshake_steps(self) -> Iterator[Any]:
        """The handshake as a generator: yields 0 while it needs the peer's bytes (on a
        blocking socket it never does)."""
        raise NotImplementedError

    def _recv_steps(self) -> Generator[Any, None, bytes]:
        """One piece of application data (b"" at the end), as a generator like
        :meth:`_handshake_steps`."""
        raise NotImplementedError

    @property
    def negotiated(self) -> bool:
        """True when MLS keys this connection (always so in MLS-TLS)."""
        raise NotImplementedError

    @property
    def cipher_suite(self) -> Optional[int]:
        """The MLS cipher suite id (``None`` without MLS)."""
        raise NotImplementedError

    @property
    def epoch(self) -> Optional[int]:
        """The MLS epoch whose exporter ``exporter()`` uses (``None`` without MLS)."""
        raise NotImplementedError

    @property
    def peer_identity(self) -> Optional[bytes]:
        """The identity in the peer's MLS credential (``None`` without MLS)."""
        raise NotImplementedError

    @property
    def local_identity(self) -> Optional[bytes]:
        """The identity in our own MLS credential (``None`` without MLS)."""
        raise NotImplementedError

    @property
    def resumed(self) -> bool:
        """True when this connection resumed an earlier MLS group."""
        raise NotImplementedError

    @property
    def session(self) -> Any:
        """What ``wrap_socket(session=...)`` takes to resume this connection's group."""
        raise NotImplementedError

    @property
    def tls_cipher_suite(self) -> Optional[str]:
        """The TLS 1.3 record protection (IANA name)."""
        raise NotImplementedError

    def _exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        raise NotImplementedError

    def _update(self, wait: bool) -> None:
        raise NotImplementedError

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- the shared API ----------------------------------------------------------------
    def do_handshake(self) -> None:
        """Run the handshake (``wrap_socket`` does unless ``do_handshake_on_connect``
        is False)."""
        if self._handshaken:
            return
        try:
            for _ in self._handshake_steps():
                pass
        except Exception as exc:
            self._handshake_failed(exc)
            raise
        self._handshake_done()

    def _handshake_failed(self, exc: BaseException) -> None:
        log.info("%s handshake failed (%s, %s): %s", self._role(), self.mode,
                 self._mls_level(), exc)

    def _handshake_done(self) -> None:
        self._handshaken = True
        self._seen_epoch = self.epoch
        if self.negotiated:
            log.info("%s handshake done: %s, MLS suite 0x%04x, epoch %s%s", self._role(),
                     self.mode, self.cipher_suite, self.epoch,
                     ", resumed" if self.resumed else "")
        else:
            log.info("%s handshake done: %s, MLS not negotiated (classic TLS 1.3, %s)",
                     self._role(), self.mode, self.tls_cipher_suite)

    def exporter(self, label: Union[bytes, str], context: bytes, length: int) -> bytes:
        """MLS-Exporter of the current epoch (RFC 9420 section 8.5)."""
        self._require()
        if isinstance(label, str):
            label = label.encode()
        self._check_epoch()
        if not self.negotiated:
            raise ValueError("MLS was not negotiated on this connection")
        return self._exporter(bytes(label), bytes(context), length)

    def update(self, wait: bool = False) -> None:
        """Start an epoch change; it completes while the connection is read (``wait``:
        read until it has, keeping data that arrives for ``recv``)."""
        self._require()
        if not self.negotiated:
            raise ValueError("MLS was not negotiated on this connection: no epochs to change")
        self._update(wait)
        self._check_epoch()

    def send(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """Send all of ``data`` as application data (like ``ssl.SSLSocket.send``, but
        never partial: records are not split across calls); returns its length."""
        self._require()
        self._send(bytes(data))
        self._check_epoch()
        return len(data)

    def sendall(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Send all of ``data``; the same as :meth:`send`, for code written against
        ``socket``."""
        self.send(data)

    def write(self, data: Union[bytes, bytearray, memoryview]) -> int:
        """``ssl.SSLSocket.write``'s name for :meth:`send`."""
        return self.send(data)

    def recv(self, bufsize: int = 1 << 14) -> bytes:
        """Application data, at most ``bufsize`` bytes; b"" once the peer closed."""
        self._require()
        if self._pending:
            data = self._pending
        else:
            steps = self._recv_steps()
            while True:
                try:
                    next(steps)
                except StopIteration as stop:
                    data = stop.value
                    break
        data, self._pending = data[:bufsize], data[bufsize:]
        self._check_epoch()
        return data

    read = recv

    def makefile(self, mode: str = "rb", buffering: Optional[int] = None, **kwargs: Any) -> Any:
        """A file object over the connection (as ``socket.makefile``), for ``http.client``
        and friends."""
        return _makefile(self, mode, buffering)

    def close(self) -> None:
        """close_notify, then close the socket."""
        try:
            self._close()
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def fileno(self) -> int:
        """The TCP socket's descriptor, for ``select``/``selectors`` (readable does not
        mean a whole record is there)."""
        return self.sock.fileno()

    def getpeername(self) -> Any:
        """The peer's address, from the TCP socket."""
        return self.sock.getpeername()

    def getsockname(self) -> Any:
        """Our address, from the TCP socket."""
        return self.sock.getsockname()

    def settimeout(self, value: Optional[float]) -> None:
        """Timeout of the TCP socket for every later read and write (``None``: block)."""
        self.sock.settimeout(value)

    def gettimeout(self) -> Optional[float]:
        """The TCP socket's timeout."""
        return self.sock.gettimeout()

    def __enter__(self) -> "MLSSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self._handshaken:
            return f"<MLSSocket {self.mode} {self._role()} before the handshake>"
        if not self.negotiated:
            return f"<MLSSocket {self.mode} {self._role()} classic TLS 1.3>"
        return (f"<MLSSocket {self.mode} {self._role()} suite=0x{self.cipher_suite:04x} "
                f"epoch={self.epoch}>")

    # -- helpers -----------------------------------------------------------------------
    def _role(self) -> str:
        return "server" if self.server_side else "client"

    def _mls_level(self) -> str:
        return self.context.mls if self.mode == EXTENSION else "MLS"

    def _require(self) -> None:
        if not self._handshaken:
            self.do_handshake()

    def _check_epoch(self) -> None:
        """Tell the application about an epoch change the layer underneath made."""
        epoch = self.epoch
        if epoch is None or epoch == self._seen_epoch:
            return
        old, self._seen_epoch = self._seen_epoch, epoch
        log.debug("%s epoch change %s -> %s (%s)", self._role(), old, epoch, self.mode)
        if self.on_epoch_change is not None:
            self.on_epoch_change(self, epoch)


def _makefile(conn: MLSSocket, mode: str, buffering: Optional[int]) -> Any:
    import io

    class _Raw(io.RawIOBase):
        def readable(self) -> bool:
            return "r" in mode

        def writable(self) -> bool:
            return "w" in mode

        def readinto(self, b: Any) -> int:
            data = conn.recv(len(b))
            b[:len(data)] = data
            return len(data)

        def write(self, b: Any) -> int:
            conn.sendall(bytes(b))
            return len(b)

    raw = _Raw()
    if buffering == 0:
        return raw
    size = buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE
    if "r" in mode and "w" in mode:
        return io.BufferedRWPair(raw, raw, size)
    return io.BufferedReader(raw, size) if "r" in mode else io.BufferedWriter(raw, size)


def _is_ip(name: Optional[str]) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(name or "")
    except ValueError:
        return False
    return True


def delegated(holder: str, name: str, public: Optional[str] = None) -> Any:
    """A read-only property: ``self.<holder>.<name>``, documented as ``MLSSocket.<public>``
    (default ``name``)."""
    doc = getattr(getattr(MLSSocket, public or name, None), "__doc__", None)
    return property(lambda self: getattr(getattr(self, holder), name), doc=doc)


def _via(name: str, public: str) -> Any:
    return delegated("connection", name, public)


class _ExtensionSocket(MLSSocket):
    """Over ``tlslite_mls.tls.MLSTLSConnection``."""

    mode = EXTENSION

    def __init__(self, ctx: Any, sock: socket.socket, server_hostname: Optional[str],
                 session: Any) -> None:
        super().__init__(ctx, sock, server_hostname, session)
        from .tls import MLSTLSConnection
        self.connection = MLSTLSConnection(sock, mls_settings=ctx._validated)

    def _handshake_steps(self) -> Iterator[Any]:
        ctx: Any = self.context
        conn = self.connection
        tls = copy.copy(tls_handshake_settings(ctx.tls_settings))
        if self.server_side:
            if ctx._ticket_keys:
                tls.ticketKeys = list(ctx._ticket_keys)
            return conn.handshakeServerAsync(certChain=ctx._tls_identity.chain,
                                             privateKey=ctx._tls_identity.key, settings=tls)
        # SNI carries host names only (RFC 6066 section 3); an IP address is still
        # checked against the fallback certificate, as the peer's address.
        sni = None if _is_ip(self.server_hostname) else self.server_hostname
        if self._offered_session is not None:
            return conn.handshakeClientMLSResume(self._offered_session, settings=tls,
                                                 serverName=sni, async_=True)
        return conn.handshakeClientCert(settings=tls, serverName=sni, async_=True)

    negotiated = _via("mls_negotiated", "negotiated")
    cipher_suite = _via("mls_cipher_suite", "cipher_suite")
    epoch = _via("mls_epoch", "epoch")
    peer_identity = _via("mls_peer_identity", "peer_identity")
    local_identity = _via("mls_local_identity", "local_identity")
    resumed = _via("mls_resumed", "resumed")

    session = _via("session", "session")

    @property
    def tls_cipher_suite(self) -> Optional[str]:
        from tlslite.constants import CipherSuite
        suite = getattr(self.connection.session, "cipherSuite", None)
        return CipherSuite.ietfNames.get(suite) if suite is not None else None

    def _exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        return self.connection.mls_exporter(label, context, length)

    def _update(self, wait: bool) -> None:
        self.connection.mls_update(wait=wait)

    def _send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def _recv_steps(self) -> Generator[Any, None, bytes]:
        for result in self.connection.readAsync():
            if isinstance(result, int):
                yield result
            else:
                return bytes(result)
        return b""

    def _close(self) -> None:
        if not self.connection.closed:
            self.connection.close()


class _MLSTLSSocket(MLSSocket):
    """Over ``tlslite_mls.mlstls.MLSTLSClient`` / ``MLSTLSServer``."""

    mode = MLS_TLS

    def __init__(self, ctx: Any, sock: socket.socket, server_hostname: Optional[str],
                 session: Any) -> None:
        super().__init__(ctx, sock, server_hostname, session)
        from .mlstls import MLSTLSClient, MLSTLSServer, new_session_key
        settings = copy.copy(ctx._settings)
        if ctx.server_side:
            self.connection: Any = MLSTLSServer(sock, settings)
            return
        if server_hostname is not None and settings.server_name is None:
            settings.server_name = server_hostname
        if session is not None:
            settings.session_key, settings.resume = bytes(session), True
        elif ctx.store is not None and settings.session_key is None:
            settings.session_key = new_session_key()  # kept so a later connection resumes
        self._session_key = settings.session_key
        self.connection = MLSTLSClient(sock, settings)

    def _handshake_steps(self) -> Iterator[Any]:
        return self.connection.handshake_async()

    negotiated = _via("handshake_complete", "negotiated")
    cipher_suite = _via("cipher_suite", "cipher_suite")
    epoch = _via("epoch", "epoch")
    peer_identity = _via("peer_identity", "peer_identity")
    local_identity = _via("local_identity", "local_identity")
    resumed = _via("resumed", "resumed")
    tls_cipher_suite = _via("record_cipher_suite", "tls_cipher_suite")

    @property
    def session(self) -> Any:
        return getattr(self, "_session_key", None)

    def _exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        return self.connection.exporter(label, context, length)

    def _update(self, wait: bool) -> None:
        conn = self.connection
        conn.start_update()
        while wait and conn.update_in_flight:
            if not conn.pump_one():
                break

    def _send(self, data: bytes) -> None:
        self.connection.write(data)

    def _recv_steps(self) -> Generator[Any, None, bytes]:
        conn = self.connection
        while not conn.pending():
            if not (yield from conn.pump_one_async()):
                return b""
        return conn.read_buffered()

    def _close(self) -> None:
        self.connection.close()
