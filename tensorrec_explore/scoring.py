"""Batched scoring and top-k: memory stays bounded whatever the catalogue size.

Scores are computed for blocks of users against all item representations (computed once per
call) and reduced to their top-k by ``tf.math.top_k`` (5x faster than a numpy selection here),
so no ``users x items`` matrix is materialised beyond one block of at most :data:`BLOCK`
floats. Ties go to the lower item index, the rule of :func:`tensorrec_explore.metrics.top_k`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .network import TwoTower

#: The id that pads a top-k row when fewer than k items are eligible (its score is NaN).
PAD_ID = -1
#: Largest score block (floats) computed at once: 2^24 floats = 64 MB.
BLOCK = 1 << 24


def user_blocks(n_users: int, n_items: int) -> Iterator[slice]:
    """Yield slices of user positions so each block's scores fit in :data:`BLOCK` floats."""
    size = max(1, BLOCK // max(n_items, 1))
    for start in range(0, n_users, size):
        yield slice(start, min(start + size, n_users))


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
    fewer than ``k`` eligible items ends with ids ``-1`` and scores NaN (:data:`PAD_ID`).
    """
    indices = np.empty((rows.size, k), np.int64)
    scores = np.empty((rows.size, k), np.float32)
    for block in user_blocks(rows.size, n_items):
        block_scores_ = scores_of(rows[block])
        if exclude is not None:
            excluded = exclude[rows[block]]
            block_scores_ = np.array(block_scores_)  # masking in numpy beats a scatter op
            block_scores_[
                np.repeat(np.arange(excluded.shape[0]), np.diff(excluded.indptr)), excluded.indices
            ] = -np.inf
        top = tf.math.top_k(block_scores_, k=k, sorted=True)
        indices[block] = top.indices.numpy()
        scores[block] = top.values.numpy()
    if exclude is not None:
        eligible = n_items - np.diff(exclude.indptr)[rows]
        padded = np.arange(k)[None, :] >= eligible[:, None]
        indices[padded], scores[padded] = PAD_ID, np.nan
    return indices, scores


def rank_rows(scores: np.ndarray, exclude: sp.csr_matrix | None) -> np.ndarray:
    """Return the int32 ranks (1 = best) of each row of ``scores``; excluded items rank last."""
    if exclude is not None:
        scores[exclude.nonzero()] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order, dtype=np.int32)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1, dtype=np.int32), axis=1)
    return ranks


def most_similar(vectors: tf.Tensor, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` rows of ``vectors`` most cosine-similar to each of ``ids`` (itself out)."""
    vectors = tf.math.l2_normalize(vectors, axis=1)
    scores = tf.matmul(tf.gather(vectors, ids), vectors, transpose_b=True)
    scores = tf.tensor_scatter_nd_update(
        scores, np.stack([np.arange(len(ids)), ids], axis=1), tf.fill([len(ids)], -np.inf)
    )
    top = tf.math.top_k(scores, k=k)
    return top.indices.numpy().astype(np.int64), top.values.numpy()
