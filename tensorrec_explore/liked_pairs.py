"""The set of liked (user, item) pairs, tested inside compiled training steps.

Sampled losses must not treat a sampled item the user liked as a negative. A step asks
``contains(users [p], items [s]) -> bool [p, s]``. Two layouts, chosen by size:

* a packed bitset of ``n_users x n_items`` bits when that is at most :data:`BITSET_LIMIT` bits
  (16 MB): five cheap element-wise ops per pair;
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
        keys = np.unique(users.astype(np.int64) * self.n_items + items.astype(np.int64))
        self.use_bitset = int(n_users) * self.n_items <= BITSET_LIMIT
        if self.use_bitset:
            n_words = -(-int(n_users) * self.n_items // 32)
            words = np.zeros(max(n_words, 1), np.uint32)
            np.bitwise_or.at(words, keys >> 5, np.left_shift(np.uint32(1), (keys & 31).astype(np.uint32)))
            self._table = tf.constant(words.view(np.int32))
        else:
            self._table = tf.constant(keys if keys.size else np.array([-1], np.int64))

    def contains(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p, s]`` booleans: is ``(users[r], items[c])`` a liked pair."""
        keys = users[:, None] * self.n_items + items[None, :]
        if self.use_bitset:
            words = tf.gather(self._table, keys // 32)
            bits = tf.bitwise.right_shift(words, tf.cast(keys % 32, tf.int32))
            return tf.equal(tf.bitwise.bitwise_and(bits, 1), 1)
        flat = tf.reshape(keys, [-1])
        found = tf.searchsorted(self._table, flat)
        found = tf.minimum(found, tf.size(self._table, out_type=found.dtype) - 1)
        hits = tf.equal(tf.gather(self._table, found), flat)
        return tf.reshape(hits, tf.shape(keys))
