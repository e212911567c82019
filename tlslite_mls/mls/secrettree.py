"""The secret tree and its per-sender ratchets (RFC 9420 section 9).

The epoch's ``encryption_secret`` sits at the root of a tree shaped like the
ratchet tree; each node's secret yields its children's through
``ExpandWithLabel(secret, "tree", "left"/"right", Nh)`` and each leaf's secret
seeds two hash ratchets, "handshake" and "application". Generation ``j`` of a
ratchet gives the AEAD key and nonce of that sender's ``j``-th message and the
ratchet secret of generation ``j + 1``.

Forward secrecy is the point of the structure, so this module follows the
deletion schedule of section 9.2 strictly:

* node secrets are derived lazily, only down the path to a leaf someone
  actually uses, and a node's secret is dropped as soon as both children's are
  derived (a leaf's as soon as its two ratchets are);
* a ratchet keeps only its current secret; advancing replaces it;
* a key handed out is forgotten. A receiver may keep keys of skipped
  generations (messages reordered in transit), but only within a bounded
  window, and each such key can be taken once.

The hot path (next message of a sender, in order) costs three HMAC calls; the
HKDF labels are encoded once per tree rather than once per message.
"""

from __future__ import annotations

import functools
from typing import Optional

from .codec import encode_varint
from .crypto import CipherSuite
from .errors import ProtocolError, StateError

__all__ = ["SecretTree", "sender_data_key_nonce", "DEFAULT_MAX_GENERATION_GAP",
           "DEFAULT_OUT_OF_ORDER_WINDOW"]

DEFAULT_MAX_GENERATION_GAP = 1000
DEFAULT_OUT_OF_ORDER_WINDOW = 64
_MAX_GENERATION = 0xFFFFFFFF  # generations are uint32 on the wire
_LABEL_PREFIX = b"MLS 1.0 "


def _info_prefix(label: bytes, length: int, context_len: int) -> bytes:
    """The KDFLabel of ExpandWithLabel up to (and excluding) the context bytes."""
    full = _LABEL_PREFIX + label
    return (length.to_bytes(2, "big") + encode_varint(len(full)) + full
            + encode_varint(context_len))


@functools.lru_cache(maxsize=8)
def _infos(nh: int, nk: int, nn: int) -> tuple[bytes, ...]:
    """The label encodings a tree of these sizes uses: constants, so every epoch's
    tree of a suite shares one set."""
    return (_info_prefix(b"key", nk, 4), _info_prefix(b"nonce", nn, 4),
            _info_prefix(b"secret", nh, 4), _info_prefix(b"tree", nh, 4) + b"left",
            _info_prefix(b"tree", nh, 5) + b"right", _info_prefix(b"handshake", nh, 0),
            _info_prefix(b"application", nh, 0))


def sender_data_key_nonce(cs: CipherSuite, sender_data_secret: bytes,
                          ciphertext: bytes) -> tuple[bytes, bytes]:
    """Key and nonce protecting a PrivateMessage's sender data (section 6.3.2).

    Both are bound to the first KDF.Nh bytes of the content ciphertext (all of
    it when shorter), so they differ per message without any extra state.
    """
    sample = ciphertext[:cs.hash_length]
    key = cs.expand_with_label(sender_data_secret, "key", sample, cs.key_size)
    nonce = cs.expand_with_label(sender_data_secret, "nonce", sample, cs.nonce_size)
    return key, nonce


class _Ratchet:
    """One sender's handshake or application ratchet."""

    __slots__ = ("secret", "generation", "skipped")

    def __init__(self, secret: bytes) -> None:
        self.secret: Optional[bytes] = secret
        self.generation = 0
        # generation -> (key, nonce) of skipped generations still accepted
        self.skipped: dict[int, tuple[bytes, bytes]] = {}

    def __repr__(self) -> str:
        return f"_Ratchet(generation={self.generation}, skipped={sorted(self.skipped)})"


class SecretTree:
    """The secret tree of one epoch, for one member.

    ``n_leaves`` is the ratchet tree's leaf count (a power of two in RFC 9420;
    any other count is placed in the enclosing full tree, which is what the
    ratchet tree would be extended to).

    ``max_generation_gap`` bounds how far ahead of a ratchet a received
    generation may be (each skipped generation costs hashing work, so an
    unbounded gap would be a denial-of-service lever). ``out_of_order_window``
    is how many generations behind the newest one received a late message is
    still accepted; keys of skipped generations within it are kept until
    used, all older ones are dropped.
    """

    __slots__ = ("cs", "n_leaves", "max_generation_gap", "out_of_order_window",
                 "_nodes", "_ratchets", "_root", "_nh", "_nk", "_nn",
                 "_info_key", "_info_nonce", "_info_secret",
                 "_info_left", "_info_right", "_info_handshake", "_info_application")

    def __init__(self, cs: CipherSuite, encryption_secret: bytes, n_leaves: int, *,
                 max_generation_gap: int = DEFAULT_MAX_GENERATION_GAP,
                 out_of_order_window: int = DEFAULT_OUT_OF_ORDER_WINDOW) -> None:
        if n_leaves < 1:
            raise ValueError(f"a secret tree needs at least one leaf, got {n_leaves}")
        if max_generation_gap < 0 or out_of_order_window < 0:
            raise ValueError("generation gap and out-of-order window must not be negative")
        if len(encryption_secret) != cs.hash_length:
            raise ValueError(
                f"encryption_secret must be {cs.hash_length} bytes, got {len(encryption_secret)}")
        self.cs = cs
        self.n_leaves = n_leaves
        self.max_generation_gap = max_generation_gap
        self.out_of_order_window = out_of_order_window
        full_leaves = 1 << (n_leaves - 1).bit_length()
        self._root = full_leaves - 1
        self._nodes: dict[int, bytes] = {self._root: encryption_secret}
        self._ratchets: dict[int, _Ratchet] = {}
        nh, nk, nn = cs.hash_length, cs.key_size, cs.nonce_size
        self._nh, self._nk, self._nn = nh, nk, nn
        (self._info_key, self._info_nonce, self._info_secret, self._info_left,
         self._info_right, self._info_handshake, self._info_application) = _infos(nh, nk, nn)

    def __repr__(self) -> str:
        return (f"SecretTree(suite=0x{self.cs.suite_id:04x}, n_leaves={self.n_leaves}, "
                f"ratchets={len(self._ratchets)}, <secrets redacted>)")

    # --- tree ------------------------------------------------------------
    def _leaf_ratchets(self, leaf: int) -> None:
        """Derive both ratchets of ``leaf`` along the path from its nearest
        stored ancestor, dropping every node secret that got consumed."""
        nodes = self._nodes
        target = 2 * leaf
        x = target
        while x not in nodes:
            if x == self._root:
                raise StateError(f"secret tree has no secret left for leaf {leaf}")
            k = 0
            while (x >> k) & 1:
                k += 1
            # parent in the full tree: set bit k, clear bit k + 1
            x = (x | (1 << k)) & ~(1 << (k + 1))
        expand = self.cs.expand
        nh = self._nh
        secret = nodes.pop(x)
        while x != target:
            k = 0
            while (x >> k) & 1:
                k += 1
            left = x ^ (1 << (k - 1))
            right = x ^ (3 << (k - 1))
            left_secret = expand(secret, self._info_left, nh)
            right_secret = expand(secret, self._info_right, nh)
            if target < x:
                nodes[right] = right_secret
                x, secret = left, left_secret
            else:
                nodes[left] = left_secret
                x, secret = right, right_secret
        self._ratchets[leaf << 1 | 1] = _Ratchet(expand(secret, self._info_handshake, nh))
        self._ratchets[leaf << 1] = _Ratchet(expand(secret, self._info_application, nh))

    def _ratchet(self, leaf: int, handshake: bool) -> _Ratchet:
        index = leaf << 1 | (1 if handshake else 0)
        r = self._ratchets.get(index)
        if r is not None:
            return r
        if self.n_leaves == 0:
            raise StateError("the secret tree of a finished epoch was wiped")
        if not isinstance(leaf, int) or not 0 <= leaf < self.n_leaves:
            raise ProtocolError(f"leaf index {leaf} outside a tree of {self.n_leaves} leaves")
        self._leaf_ratchets(leaf)
        return self._ratchets[index]

    # --- ratchets ----------------------------------------------------------
    def _advance(self, r: _Ratchet) -> tuple[bytes, bytes]:
        """Key and nonce of ``r``'s current generation; moves ``r`` one step on."""
        secret = r.secret
        if secret is None:
            raise ProtocolError("ratchet exhausted: generation would exceed 2^32 - 1")
        g = r.generation
        gen = g.to_bytes(4, "big")
        expand = self.cs.expand
        key = expand(secret, self._info_key + gen, self._nk)
        nonce = expand(secret, self._info_nonce + gen, self._nn)
        if g == _MAX_GENERATION:
            r.secret = None
        else:
            r.secret = expand(secret, self._info_secret + gen, self._nh)
        r.generation = g + 1
        return key, nonce

    def _skip_secret(self, r: _Ratchet) -> None:
        """Advance ``r`` without deriving the key and nonce nobody will keep."""
        g = r.generation
        if r.secret is None or g == _MAX_GENERATION:
            raise ProtocolError("ratchet exhausted: generation would exceed 2^32 - 1")
        r.secret = self.cs.expand(r.secret, self._info_secret + g.to_bytes(4, "big"), self._nh)
        r.generation = g + 1

    def next_encryption_key(self, leaf: int, handshake: bool) -> tuple[int, bytes, bytes]:
        """``(generation, key, nonce)`` for this member's next outgoing message.

        The ratchet moves on; nothing that could decrypt the message is kept.
        """
        r = self._ratchet(leaf, handshake)
        g = r.generation
        key, nonce = self._advance(r)
        return g, key, nonce

    def decryption_key(self, leaf: int, handshake: bool, generation: int) -> tuple[bytes, bytes]:
        """Key and nonce of ``leaf``'s message of ``generation``; each is handed out once.

        Raises :class:`ProtocolError` when the generation was already used, is
        older than the out-of-order window or further ahead than the allowed gap.
        """
        r = self._ratchet(leaf, handshake)
        current = r.generation
        if generation == current:
            key_nonce = self._advance(r)
            if r.skipped:
                self._evict(r)
            return key_nonce
        kind = "handshake" if handshake else "application"
        if generation < current:
            if generation < 0:
                raise ProtocolError(f"negative generation {generation}")
            entry = r.skipped.pop(generation, None)
            if entry is not None:
                return entry
            if current - 1 - generation > self.out_of_order_window:
                raise ProtocolError(
                    f"{kind} generation {generation} of leaf {leaf} is too old "
                    f"(ratchet at {current}, window {self.out_of_order_window})")
            raise ProtocolError(
                f"{kind} key of leaf {leaf} for generation {generation} was already used")
        if generation > _MAX_GENERATION:
            raise ProtocolError(f"generation {generation} does not fit in uint32")
        if generation - current > self.max_generation_gap:
            raise ProtocolError(
                f"{kind} generation {generation} of leaf {leaf} is too far ahead "
                f"(ratchet at {current}, at most {self.max_generation_gap} may be skipped)")
        keep_from = generation - self.out_of_order_window
        while r.generation < keep_from:
            self._skip_secret(r)
        while r.generation < generation:
            g = r.generation
            r.skipped[g] = self._advance(r)
        key_nonce = self._advance(r)
        self._evict(r)
        return key_nonce

    def _evict(self, r: _Ratchet) -> None:
        floor = r.generation - 1 - self.out_of_order_window
        stale = [g for g in r.skipped if g < floor]
        for g in stale:
            del r.skipped[g]

    def checkpoint(self) -> object:
        """The ratchet state now, for :meth:`restore` if what follows fails.

        Receiving takes a key out of the tree before the AEAD tag is checked; a
        message that then fails to decrypt or verify must not cost the genuine
        message its key, so callers restore the checkpoint on failure.
        """
        return (dict(self._nodes),
                {i: (r.secret, r.generation, dict(r.skipped)) for i, r in self._ratchets.items()})

    def restore(self, checkpoint: object) -> None:
        nodes, ratchets = checkpoint  # type: ignore[misc]
        self._nodes = nodes
        restored = {}
        for index, (secret, generation, skipped) in ratchets.items():
            r = self._ratchets.get(index) or _Ratchet(b"")
            r.secret, r.generation, r.skipped = secret, generation, skipped
            restored[index] = r
        self._ratchets = restored

    def generation(self, leaf: int, handshake: bool) -> int:
        """The next generation ``leaf``'s ratchet will produce."""
        return self._ratchet(leaf, handshake).generation

    def copy(self) -> "SecretTree":
        """An independent tree in the same state: consuming keys of either leaves the
        other's untouched (for trying a message on a scratch copy of a group)."""
        new = SecretTree.__new__(SecretTree)
        for name in SecretTree.__slots__:
            setattr(new, name, getattr(self, name))
        new._nodes = dict(self._nodes)
        ratchets = {}
        for index, r in self._ratchets.items():
            c = _Ratchet.__new__(_Ratchet)
            c.secret, c.generation, c.skipped = r.secret, r.generation, dict(r.skipped)
            ratchets[index] = c
        new._ratchets = ratchets
        return new

    def wipe(self) -> None:
        """Drop every secret and key: the epoch is over."""
        self._nodes.clear()
        for r in self._ratchets.values():
            r.secret = None
            r.skipped.clear()
        self._ratchets.clear()
        # any later request for a leaf finds neither ratchets nor node secrets
        self.n_leaves = 0
