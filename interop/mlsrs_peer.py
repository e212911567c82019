"""AWS mls-rs (through the ``agentvault-mls-rs-uniffi`` wheel) as an in-process peer.

The binding's limits shape this adapter: one cipher suite (0x0001), handshake
messages always sent as PublicMessage, and no epoch getter. The epoch is read from
the group's own serialized state (it starts with the GroupContext) so that
``epoch()`` reports what mls-rs believes, not what the harness assumes.
"""

from __future__ import annotations

import importlib
import os
import time
from types import ModuleType
from typing import Any, Optional

from interop.peer import PUBLIC, Peer, PeerError, PeerUnavailable, PeerUnsupported
from interop.wire import WireError, read_varint

SUITES = frozenset({1})
DIST_VERSION = "0.1.1"


def _module() -> ModuleType:
    try:
        return importlib.import_module("mls_rs_uniffi")
    except ImportError as e:
        raise PeerUnavailable(
            f"mls-rs bindings are not installed ({e}); pip install 'agentvault-mls-rs-uniffi=={DIST_VERSION}' "
            "(x86_64 Linux, macOS and Windows wheels only)"
        ) from None
    except OSError as e:  # the bundled .so failed to load
        raise PeerUnavailable(f"mls-rs bindings do not load here: {e}") from None


def mlsrs_unavailable_reason() -> Optional[str]:
    try:
        _module()
    except PeerUnavailable as e:
        return str(e)
    return None


def mlsrs_available() -> bool:
    return mlsrs_unavailable_reason() is None


class _StateCapture:
    """A GroupStateStorage that only remembers the latest state bytes per group."""

    def __init__(self) -> None:
        self.states: dict[bytes, bytes] = {}
        self.epochs: dict[tuple[bytes, int], bytes] = {}

    def state(self, group_id: bytes) -> Optional[bytes]:
        return self.states.get(group_id)

    def epoch(self, group_id: bytes, epoch_id: int) -> Optional[bytes]:
        return self.epochs.get((group_id, epoch_id))

    def write(self, group_id: bytes, group_state: bytes, epoch_inserts: list, epoch_updates: list) -> None:
        self.states[group_id] = group_state
        for record in list(epoch_inserts) + list(epoch_updates):
            self.epochs[(group_id, record.id)] = record.data

    def max_epoch_id(self, group_id: bytes) -> Optional[int]:
        ids = [e for (g, e) in self.epochs if g == group_id]
        return max(ids) if ids else None


def _storage_class(m: ModuleType) -> type:
    # Subclassing the binding's callback interface is what lets mls-rs call back in.
    return type("StateCapture", (_StateCapture, m.GroupStateStorage), {})


def _epoch_from_state(state: bytes, group_id: bytes) -> int:
    """mls-rs snapshot = u16 snapshot version || GroupContext (version, suite, group_id, epoch, ...)."""
    try:
        if int.from_bytes(state[2:4], "big") != 1:
            raise WireError("unexpected protocol version in the mls-rs state")
        length, offset = read_varint(state, 6)
        if bytes(state[offset : offset + length]) != group_id:
            raise WireError("group_id not where expected in the mls-rs state")
        end = offset + length
        return int.from_bytes(state[end : end + 8], "big")
    except (WireError, IndexError) as e:
        raise PeerError(f"mls-rs: cannot read the epoch from its state ({e}); binding version changed?") from None


class MlsRsPeer(Peer):
    """An mls-rs member living in this Python process."""

    name = "mls-rs"
    suites = SUITES
    supported_wire_formats = frozenset({PUBLIC})

    def __init__(self, suite: int, identity: bytes) -> None:
        if suite not in SUITES:
            raise PeerUnsupported(f"mls-rs uniffi supports suite 0x0001 only, not 0x{suite:04x}")
        m = _module()
        self._m = m
        self.suite = suite
        self.identity = identity
        self._storage = _storage_class(m)()
        config = m.ClientConfig(group_state_storage=self._storage, use_ratchet_tree_extension=True)
        self._client: Any = m.Client(identity, m.generate_signature_keypair(m.CipherSuite.CURVE25519_AES128), config)
        self._group: Any = None
        self._group_id: Optional[bytes] = None

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except (self._m.Error, self._m.InternalError, ValueError, TypeError) as e:
            raise PeerError(f"mls-rs rejected {what}: {e}") from None

    def _need_group(self) -> Any:
        if self._group is None:
            raise PeerError("mls-rs: not in a group")
        return self._group

    def _message(self, data: bytes) -> Any:
        return self._call("message decoding", self._m.Message.from_bytes, data)

    def key_package(self) -> bytes:
        return self._call("key_package", self._client.generate_key_package_message).to_bytes()

    def create_group(self, group_id: bytes) -> None:
        self._group = self._call("create_group", self._client.create_group, group_id)
        self._group_id = group_id

    def add(self, key_package: bytes) -> tuple[bytes, bytes]:
        group = self._need_group()
        out = self._call("add", group.add_members, [self._message(key_package)])
        # mls-rs keeps its own commit pending until it processes it.
        self._call("applying own commit", group.process_incoming_message, out.commit_message)
        if out.welcome_message is None:
            raise PeerError("mls-rs produced no Welcome")
        return out.commit_message.to_bytes(), out.welcome_message.to_bytes()

    def join(self, welcome: bytes) -> None:
        info = self._call("join", self._client.join_group, None, self._message(welcome))
        self._group = info.group
        self._group_id = None  # learned from the first state write

    def commit_update(self, public: bool) -> bytes:
        if not public:
            raise PeerUnsupported("mls-rs uniffi sends handshake messages as PublicMessage only")
        group = self._need_group()
        out = self._call("commit", group.commit)
        self._call("applying own commit", group.process_incoming_message, out.commit_message)
        return out.commit_message.to_bytes()

    def process(self, message: bytes) -> tuple[str, Optional[bytes]]:
        group = self._need_group()
        received = self._call("process", group.process_incoming_message, self._message(message))
        if received.is_application_message():
            return "application", bytes(received.data)
        if received.is_commit():
            return "commit", None
        if received.is_received_proposal():
            return "proposal", None
        raise PeerError(f"mls-rs: unexpected result {received}")

    def protect(self, data: bytes) -> bytes:
        group = self._need_group()
        return self._call("protect", group.encrypt_application_message, data).to_bytes()

    def exporter(self, label: bytes, context: bytes, length: int) -> bytes:
        group = self._need_group()
        return bytes(self._call("exporter", group.export_secret, label, context, length))

    def epoch(self) -> int:
        group = self._need_group()
        self._call("state write", group.write_to_storage)
        if self._group_id is None:
            if len(self._storage.states) != 1:
                raise PeerError("mls-rs: cannot tell which stored group is ours")
            self._group_id = next(iter(self._storage.states))
        return _epoch_from_state(self._storage.states[self._group_id], self._group_id)

    def close(self) -> None:
        self._group = None
        self._client = None


def make_mlsrs_peer(suite: int, identity: bytes) -> MlsRsPeer:
    """An mls-rs member; :class:`PeerUnavailable` if the wheel is missing."""
    _module()
    return MlsRsPeer(suite, identity)


def _bench_config(m: ModuleType) -> Any:
    """In-memory storage (no Python callbacks on the timed path), tree in the Welcome."""
    default = m.client_config_default()
    return m.ClientConfig(group_state_storage=default.group_state_storage, use_ratchet_tree_extension=True)


def mlsrs_cycle_times(suite: int, n: int, *, warmup: int = 1) -> list[float]:
    """Per-cycle seconds of a full two-party cycle, fresh clients each time, timed in Python."""
    if suite not in SUITES:
        raise PeerUnsupported(f"mls-rs uniffi supports suite 0x0001 only, not 0x{suite:04x}")
    m = _module()
    cs = m.CipherSuite.CURVE25519_AES128
    label = b"TLS shared secret"
    times: list[float] = []
    for i in range(warmup + n):
        t0 = time.perf_counter()
        alice = m.Client(b"alice", m.generate_signature_keypair(cs), _bench_config(m))
        bob = m.Client(b"bob", m.generate_signature_keypair(cs), _bench_config(m))
        kp = m.Message.from_bytes(bob.generate_key_package_message().to_bytes())
        group_a = alice.create_group(os.urandom(32))
        added = group_a.add_members([kp])
        group_a.process_incoming_message(added.commit_message)
        welcome = m.Message.from_bytes(added.welcome_message.to_bytes())
        group_b = bob.join_group(None, welcome).group
        update = group_a.commit()
        group_a.process_incoming_message(update.commit_message)
        group_b.process_incoming_message(m.Message.from_bytes(update.commit_message.to_bytes()))
        t1 = time.perf_counter()
        if i == 0 and group_a.export_secret(label, b"", 32) != group_b.export_secret(label, b"", 32):
            raise PeerError("mls-rs bench: exporter mismatch")
        if i >= warmup:
            times.append(t1 - t0)
    return times
