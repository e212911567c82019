"""RedisStore: state shared by a fleet of servers behind one name.

Needs the optional ``redis`` package (``pip install tlslite-mls[redis]``).

* Replay cache: ``SET ref 1 NX PX ttl`` -- Redis decides atomically which of several
  servers claims a KeyPackageRef first, and forgets it when its lifetime is over.
* Group state: a hash ``{rev, exp, blob}`` whose key TTL is the group's expiry, so Redis
  drops expired groups itself (``purge_expired`` has nothing to do).
* Compare-and-swap and the atomic group + pending-commit write: one Lua script, which
  Redis runs without interleaving any other command. Revisions are compared as decimal
  strings, so even values beyond 2**53 (Lua's exact-number range) compare exactly.
* Key layout under ``prefix``: ``g:{hex(key)}`` group, ``p:{hex(key)}`` pending commit,
  ``k:hex(ref)`` claim. The ``{...}`` hash tag keeps a group and its pending commit in one
  Redis Cluster slot, which a multi-key script needs.
* The ``max_groups`` cap: a sorted set ``i:{groups}`` of group keys scored by a write
  counter ``i:{groups}:n`` (one slot, one script). After each group write the group is
  scored as the most recent and the lowest-scored groups beyond the cap are popped and
  deleted with their pending commits. A group that Redis expired stays in the set until
  it is popped, so it counts against the cap until then (the oldest go first anyway).

TTLs are computed from this process's clock, so servers sharing one Redis need roughly
synchronised clocks (as they do for KeyPackage lifetimes anyway). Durability is whatever
the Redis server is configured for (AOF ``appendfsync always`` for the strictest).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Optional, Union

from .base import DEFAULT_MAX_GROUPS, KEEP, Clock, PendingUpdate, StateStore
from .errors import StoreConflict

if TYPE_CHECKING:  # pragma: no cover
    import redis as redis_lib

__all__ = ["RedisStore", "DEFAULT_PREFIX"]

DEFAULT_PREFIX = b"tlslite_mls:"

# KEYS[1] group hash, KEYS[2] pending commit.
# ARGV[1] expected revision ('' = unconditional, '-1' = must not exist),
# ARGV[2] revision, ARGV[3] group blob, ARGV[4] expires_at ('' = never),
# ARGV[5] TTL in ms ('' = never), ARGV[6] 'keep' | 'clear' | 'set', ARGV[7] pending blob.
_WRITE_GROUP = """
if ARGV[1] ~= '' then
  local found = redis.call('HGET', KEYS[1], 'rev')
  if not found then found = '-1' end
  if found ~= ARGV[1] then return {0, found} end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'exp', ARGV[4], 'blob', ARGV[3])
if ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
if ARGV[6] == 'clear' then
  redis.call('DEL', KEYS[2])
elseif ARGV[6] == 'set' then
  if ARGV[5] ~= '' then
    redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[2], ARGV[7])
  end
end
return {1}
"""

# KEYS[1] the index (sorted set), KEYS[2] its write counter; ARGV[1] the group's key in
# hex, ARGV[2] the cap. Returns the popped members and their scores.
_INDEX_GROUP = """
local n = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], n, ARGV[1])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then return redis.call('ZPOPMIN', KEYS[1], excess) end
return {}
"""


def _ttl_ms(expires_at: float, now: float) -> int:
    # At least 1 ms: an already expired record is written and vanishes at once, which
    # readers cannot tell from never having been written.
    return max(1, math.ceil((expires_at - now) * 1000))


class RedisStore(StateStore):
    """Store backed by a Redis server, given as a ``redis.Redis`` client or a URL.

    A client built here from a URL is closed by ``close()``; a client passed in belongs
    to the caller and stays open. It must not use ``decode_responses=True``.
    """

    def __init__(
        self,
        client: "Union[redis_lib.Redis, str]",
        *,
        prefix: Union[bytes, str] = DEFAULT_PREFIX,
        clock: Clock = time.time,
        max_groups: int = DEFAULT_MAX_GROUPS,
    ) -> None:
        super().__init__(clock=clock, max_groups=max_groups)
        try:
            import redis as redis_lib
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "RedisStore needs the 'redis' package: pip install 'tlslite-mls[redis]'"
            ) from exc
        if isinstance(client, str):
            self._client: Any = redis_lib.Redis.from_url(client)
            self._owns_client = True
        else:
            self._client = client
            self._owns_client = False
            kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
            if kwargs.get("decode_responses"):
                raise ValueError("RedisStore needs a client with decode_responses=False")
        self._prefix = prefix.encode() if isinstance(prefix, str) else bytes(prefix)
        self._write_script = self._client.register_script(_WRITE_GROUP)
        self._index_script = self._client.register_script(_INDEX_GROUP)

    def __repr__(self) -> str:
        # No URL: it may carry a password.
        return f"RedisStore(prefix={self._prefix!r})"

    @property
    def prefix(self) -> bytes:
        """The key prefix all of this store's Redis keys start with, so that several
        stores (or applications) can share one Redis."""
        return self._prefix

    def _group_key(self, key: bytes) -> bytes:
        return self._prefix + b"g:{" + key.hex().encode() + b"}"

    def _pending_key(self, key: bytes) -> bytes:
        return self._prefix + b"p:{" + key.hex().encode() + b"}"

    def _index_keys(self) -> list[bytes]:
        return [self._prefix + b"i:{groups}", self._prefix + b"i:{groups}:n"]

    def _claim_key(self, ref: bytes) -> bytes:
        return self._prefix + b"k:" + ref.hex().encode()

    def _write_group(
        self,
        key: bytes,
        blob: bytes,
        revision: int,
        expires_at: Optional[float],
        expected_revision: Optional[int],
        pending: PendingUpdate,
    ) -> None:
        if expires_at is None:
            exp, ttl = b"", b""
        else:
            exp, ttl = repr(expires_at).encode(), str(_ttl_ms(expires_at, self._clock())).encode()
        if pending is KEEP:
            mode, pending_blob = b"keep", b""
        elif pending is None:
            mode, pending_blob = b"clear", b""
        else:
            mode, pending_blob = b"set", pending  # type: ignore[assignment]
        expected = b"" if expected_revision is None else str(expected_revision).encode()
        result = self._write_script(
            keys=[self._group_key(key), self._pending_key(key)],
            args=[expected, str(revision).encode(), blob, exp, ttl, mode, pending_blob],
        )
        if int(result[0]) != 1:
            raise StoreConflict(expected_revision, int(result[1]))  # type: ignore[arg-type]
        popped = self._index_script(keys=self._index_keys(),
                                    args=[key.hex().encode(), str(self._max_groups).encode()])
        # Reply: member, score, member, score, ... Each group goes with its pending
        # commit (one slot per group, so one DEL per group also works on a cluster).
        for member in popped[::2]:
            old = bytes.fromhex(bytes(member).decode())
            self._client.delete(self._group_key(old), self._pending_key(old))

    def _read_group(self, key: bytes, now: float) -> Optional[tuple[bytes, int, Optional[float]]]:
        rev, exp, blob = self._client.hmget(self._group_key(key), [b"rev", b"exp", b"blob"])
        if rev is None or blob is None:
            return None
        expires_at = float(exp) if exp else None
        if expires_at is not None and expires_at <= now:
            return None
        return bytes(blob), int(rev), expires_at

    def _delete_group(self, key: bytes) -> None:
        self._client.delete(self._group_key(key), self._pending_key(key))
        self._client.zrem(self._index_keys()[0], key.hex().encode())

    def _write_pending(self, key: bytes, blob: bytes, expires_at: Optional[float]) -> None:
        px = None if expires_at is None else _ttl_ms(expires_at, self._clock())
        self._client.set(self._pending_key(key), blob, px=px)

    def _read_pending(self, key: bytes, now: float) -> Optional[bytes]:
        blob = self._client.get(self._pending_key(key))
        return None if blob is None else bytes(blob)

    def _delete_pending(self, key: bytes) -> None:
        self._client.delete(self._pending_key(key))

    def _claim(self, ref: bytes, expires_at: float, now: float) -> bool:
        return bool(
            self._client.set(self._claim_key(ref), b"1", nx=True, px=_ttl_ms(expires_at, now))
        )

    def _purge(self, now: float) -> int:
        return 0  # Redis expires keys itself.

    def _close(self) -> None:
        if self._owns_client:
            self._client.close()
