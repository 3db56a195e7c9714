"""The set of liked (user, item) pairs, tested inside compiled training steps.

Sampled losses must not treat a sampled item the user liked as a negative. A step asks
``contains(users [p], items [s]) -> bool [p, s]``. Two layouts, chosen by size:

* a packed bitset, one row of 32-bit words per user, when that is at most
  :data:`BITSET_LIMIT` bits (16 MB): four cheap element-wise ops per pair;
* otherwise the sorted pair keys ``user * n_items + item`` and a binary search per pair
  (``O(log likes)``), memory proportional to the likes, never to users x items.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

#: Largest ``n_users * n_items`` held as a bitset (2^27 bits = 16 MB).
BITSET_LIMIT = 1 << 27


class LikedPairs:
    """Membership of (user, item) pairs in a fixed set of liked pairs, as graph ops."""

    def __init__(self, users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> None:
        self.n_items = int(n_items)
        users, items = users.astype(np.int64), items.astype(np.int64)
        #: 32-bit words per user row of the bitset (rows padded to whole words).
        self.row_words = -(-self.n_items // 32)
        self.use_bitset = int(n_users) * self.row_words * 32 <= BITSET_LIMIT
        if self.use_bitset:
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

    def contains(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p, s]`` booleans: is ``(users[r], items[c])`` a liked pair."""
        return tf.equal(self._bits(users, items), 1)

    def unliked(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p, s]`` float32: 1.0 where ``(users[r], items[c])`` is not a liked pair."""
        return tf.cast(1 - self._bits(users, items), tf.float32)

    def _bits(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """``[p, s]`` int32, 1 for liked pairs; per-row and per-column work is done before the
        ``[p, s]`` broadcast, which costs one add, one gather, one shift and one and."""
        if self.use_bitset:
            rows = tf.cast(users, tf.int32) * self.row_words
            items = tf.cast(items, tf.int32)
            words = tf.gather(self._table, rows[:, None] + items[None, :] // 32)
            return tf.bitwise.bitwise_and(tf.bitwise.right_shift(words, (items % 32)[None, :]), 1)
        keys = users[:, None] * self.n_items + items[None, :]
        flat = tf.reshape(keys, [-1])
        found = tf.searchsorted(self._table, flat)
        found = tf.minimum(found, tf.size(self._table, out_type=found.dtype) - 1)
        hits = tf.cast(tf.equal(tf.gather(self._table, found), flat), tf.int32)
        return tf.reshape(hits, tf.shape(keys))
