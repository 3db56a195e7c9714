"""Batched scoring: memory stays bounded whatever the catalogue size.

Scores are computed for blocks of users against all item representations (computed once per
call), so no ``users x items`` matrix is materialised beyond one block of at most :data:`BLOCK`
floats. Top-k selection is the metrics engine's (:func:`tensorrec_explore.metrics.top_k`).
"""

from __future__ import annotations

from collections.abc import Iterator

import tensorflow as tf

from .network import TwoTower

#: Largest score block (floats) computed at once: 2^24 floats = 64 MB.
BLOCK = 1 << 24


def user_blocks(n_users: int, n_items: int) -> Iterator[slice]:
    """Yield slices of user positions so each block's scores fit in :data:`BLOCK` floats."""
    size = max(1, BLOCK // max(n_items, 1))
    for start in range(0, n_users, size):
        yield slice(start, min(start + size, n_users))


def block_scores(
    network: TwoTower, users: tf.Tensor, user_biases: tf.Tensor,
    items: tf.Tensor, item_biases: tf.Tensor,
) -> tf.Tensor:
    """Return ``[b, n_items]`` scores of user vectors ``[b, T, d]`` against item vectors."""
    return network.pairwise(users, items) + user_biases[:, None] + item_biases[None, :]
