"""Batched scoring and top-k: memory stays bounded whatever the catalogue size.

Scores are computed for blocks of users against all item representations (computed once per
call) and reduced to their top-k inside TensorFlow, so no ``users x items`` matrix is ever
materialised beyond one block of at most :data:`BLOCK` floats.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import scipy.sparse as sp
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


def exclusion_mask(exclude: sp.csr_matrix, rows: np.ndarray) -> tf.Tensor:
    """Return a ``[len(rows), n_items]`` boolean mask of the non-zeros of ``exclude[rows]``."""
    block = exclude[rows]
    positions = np.stack(
        [np.repeat(np.arange(len(rows)), np.diff(block.indptr)), block.indices], axis=1
    ).astype(np.int64)
    return tf.scatter_nd(
        positions, tf.ones(len(positions), tf.bool), [len(rows), exclude.shape[1]]
    )


def top_k_blocks(
    network: TwoTower,
    user_vectors: np.ndarray,
    user_biases: np.ndarray,
    items: tf.Tensor,
    item_biases: tf.Tensor,
    k: int,
    exclude: sp.csr_matrix | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return top-k item indices and scores for every user vector, block by block.

    Ties go to the lower item index (``tf.math.top_k`` is stable). Excluded items score -inf and
    come last when fewer than ``k`` items remain.
    """
    n_users, n_items = user_vectors.shape[0], int(items.shape[0])
    indices = np.empty((n_users, k), np.int64)
    scores = np.empty((n_users, k), np.float32)
    for block in user_blocks(n_users, n_items):
        block_score = block_scores(
            network, tf.constant(user_vectors[block]), tf.constant(user_biases[block]),
            items, item_biases,
        )
        if exclude is not None:
            mask = exclusion_mask(exclude, np.arange(block.start, block.stop))
            block_score = tf.where(mask, tf.constant(-np.inf, tf.float32), block_score)
        top = tf.math.top_k(block_score, k=k, sorted=True)
        indices[block] = top.indices.numpy()
        scores[block] = top.values.numpy()
    return indices, scores
