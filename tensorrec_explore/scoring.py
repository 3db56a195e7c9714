"""Batched scoring: memory stays bounded whatever the catalogue size.

Scores are computed for blocks of users against all item representations (computed once per
call), so no ``users x items`` matrix is materialised beyond one block of at most
:data:`~tensorrec_explore.ranking.BLOCK` floats; each block is reduced to its top-k or ranks by
:mod:`tensorrec_explore.ranking`, the package's one ranking engine (ties to the lower item index,
excluded items never returned, ``-1`` / NaN padding).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .network import TwoTower
from .ranking import rank_rows, top_k_others, top_k_rows
from .ranking import row_blocks as user_blocks

__all__ = ["block_scores", "most_similar", "rank_rows", "top_k_blocks", "user_blocks"]


def block_scores(
    network: TwoTower,
    users: tf.Tensor,
    user_biases: tf.Tensor,
    items: tf.Tensor,
    item_biases: tf.Tensor,
) -> tf.Tensor:
    """Return ``[b, n_items]`` scores of user vectors ``[b, T, d]`` against item vectors."""
    return network.pairwise(users, items) + tf.reshape(user_biases, [-1, 1]) + item_biases


def top_k_blocks(
    scores_of: Callable[[np.ndarray], tf.Tensor],
    rows: np.ndarray,
    n_items: int,
    k: int,
    exclude: sp.csr_matrix | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top-``k`` item indices ``[n, k]`` and scores of each of ``rows``.

    ``scores_of(block_rows)`` gives a block's ``[b, n_items]`` scores; ``exclude`` (canonical
    CSR, one row per entry of ``rows``' index space) marks items never returned: a row with
    fewer than ``k`` eligible items ends with ids ``-1`` and scores NaN
    (:func:`tensorrec_explore.ranking.top_k_rows`).
    """
    indices = np.empty((rows.size, k), np.int64)
    scores = np.empty((rows.size, k), np.float32)
    for block in user_blocks(rows.size, n_items):
        found = scores_of(rows[block])
        if exclude is None:  # the engine only reads the block
            indices[block], scores[block] = top_k_rows(found.numpy(), k)
        else:  # the engine masks excluded items in place: a writeable copy
            indices[block], scores[block] = top_k_rows(np.array(found), k, exclude[rows[block]])
    return indices, scores


def most_similar(vectors: tf.Tensor, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` rows of ``vectors`` most cosine-similar to each of ``ids`` (itself out)."""
    vectors = tf.math.l2_normalize(vectors, axis=1)
    scores = tf.matmul(tf.gather(vectors, ids), vectors, transpose_b=True)
    return top_k_others(np.array(scores), ids, k)
