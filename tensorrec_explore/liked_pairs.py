"""The set of liked (user, item) pairs, tested inside compiled training steps.

Sampled losses must not treat a sampled item the user liked as a negative. A step asks
``contains(users [p], items [s]) -> bool [p, s]``. Three layouts, chosen by size:

* a dense ``[n_users, n_items]`` float32 table of "not liked" flags when that is at most
  :data:`DENSE_LIMIT` pairs (1 MB): a step gathers the sampled items' columns (``n_users x
  s``), then its users' rows of those (contiguous copies), with no per-pair arithmetic. On the
  explorer's toy (600 x 400) a bpr epoch costs ~20% less CPU than with the bitset; above
  ~500,000 pairs the column gather costs more than it saves (``benchmarks/README.md``);
* a packed bitset, one row of 32-bit words per user, when that is at most
  :data:`BITSET_LIMIT` bits (16 MB): a gather and three cheap element-wise ops per pair
  (short rows, up to :data:`ROW_GATHER_WORDS` words, are first copied whole per user);
* otherwise the sorted pair keys ``user * n_items + item``, memory proportional to the likes,
  never to users x items, behind a filter: a bitset of :data:`FILTER_BITS_PER_LIKE` bits per
  like indexed by ``key mod (a prime)``. A pair whose filter bit is clear is not liked (the
  same four ops per pair as the bitset); only the pairs whose bit is set (the liked ones and
  ~1 / FILTER_BITS_PER_LIKE of the others) take the binary search (``O(log likes)``), so the
  answer stays exact.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Largest ``n_users * n_items`` held as a dense float32 table of flags (2^18 pairs = 1 MB).
DENSE_LIMIT = 1 << 18
#: Largest ``n_users * n_items`` held as a bitset (2^27 bits = 16 MB).
BITSET_LIMIT = 1 << 27
#: Bitset rows of at most this many words (4,096 items) are gathered whole per user, then the
#: candidates' words from those copies: on ml-100k (53 words) and ml-1m-all (116) a sampled
#: epoch costs 10-17% less than gathering one word per (user, candidate) pair.
ROW_GATHER_WORDS = 128
#: Filter bits per liked pair above :data:`BITSET_LIMIT` (8 bytes per like, as the keys).
FILTER_BITS_PER_LIKE = 64


class LikedPairs:
    """Membership of (user, item) pairs in a fixed set of liked pairs, as graph ops."""

    def __init__(self, users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> None:
        self.n_items = int(n_items)
        users, items = users.astype(np.int64), items.astype(np.int64)
        #: 32-bit words per user row of the bitset (rows padded to whole words).
        self.row_words = -(-self.n_items // 32)
        self.use_dense = int(n_users) * self.n_items <= DENSE_LIMIT
        self.use_bitset = not self.use_dense and int(n_users) * self.row_words * 32 <= BITSET_LIMIT
        if self.use_dense:
            flags = np.ones((int(n_users), self.n_items), np.float32)
            flags[users, items] = 0.0
            self._table = tf.constant(flags)
        elif self.use_bitset:
            words = np.zeros(max(int(n_users) * self.row_words, 1), np.uint32)
            np.bitwise_or.at(
                words,
                users * self.row_words + (items >> 5),
                np.left_shift(np.uint32(1), (items & 31).astype(np.uint32)),
            )
            self._table = tf.constant(words.view(np.int32))
        else:
            keys = np.unique(users * self.n_items + items)
            self._table = tf.constant(keys if keys.size else np.array([-1], np.int64))
            self._modulus = _prime_at_least(max(FILTER_BITS_PER_LIKE * keys.size, 64))
            spots = keys % self._modulus
            words = np.zeros(-(-self._modulus // 32), np.uint32)
            np.bitwise_or.at(
                words, spots >> 5, np.left_shift(np.uint32(1), (spots & 31).astype(np.uint32))
            )
            self._filter = tf.constant(words.view(np.int32))

    @property
    def compiles_with_xla(self) -> bool:
        """True when :meth:`unliked` uses only XLA-compilable ops (flags or bitset; the
        filtered search's data-dependent sizes are not)."""
        return self.use_dense or self.use_bitset

    def contains(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p, s]`` booleans: is ``(users[r], items[c])`` a liked pair."""
        if self.use_dense:
            return tf.equal(self.unliked(users, items), 0.0)
        return tf.equal(self._bits(users, items), 1)

    def unliked(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p, s]`` float32: 1.0 where ``(users[r], items[c])`` is not a liked pair."""
        if self.use_dense:
            return tf.gather(tf.gather(self._table, items, axis=1), users)
        return tf.cast(1 - self._bits(users, items), tf.float32)

    def _bits(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """``[p, s]`` int32, 1 for liked pairs; per-row and per-column work is done before the
        ``[p, s]`` broadcast, which costs one gather, one shift and one and."""
        if self.use_bitset:
            items = tf.cast(items, tf.int32)
            if self.row_words <= ROW_GATHER_WORDS:
                table = tf.reshape(self._table, [-1, self.row_words])
                words = tf.gather(tf.gather(table, users), items // 32, axis=1)
            else:
                rows = tf.cast(users, tf.int32) * self.row_words
                words = tf.gather(self._table, rows[:, None] + items[None, :] // 32)
            return tf.bitwise.bitwise_and(tf.bitwise.right_shift(words, (items % 32)[None, :]), 1)
        keys = users[:, None] * self.n_items + items[None, :]
        spots = tf.math.floormod(keys, self._modulus)
        words = tf.gather(self._filter, spots // 32)
        shifts = tf.cast(spots % 32, tf.int32)
        maybe = tf.where(
            tf.equal(tf.bitwise.bitwise_and(tf.bitwise.right_shift(words, shifts), 1), 1)
        )
        candidates = tf.gather_nd(keys, maybe)
        found = tf.searchsorted(self._table, candidates)
        found = tf.minimum(found, tf.size(self._table, out_type=found.dtype) - 1)
        hits = tf.cast(tf.equal(tf.gather(self._table, found), candidates), tf.int32)
        return tf.scatter_nd(maybe, hits, tf.shape(keys, out_type=tf.int64))


def _prime_at_least(n: int) -> int:
    """Return the smallest prime >= ``n`` (trial division: ``n`` is at most ~10^10)."""
    n = max(int(n), 2)
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n
