"""A tiny planted dataset with known answers for the core engine's tests.

Users and items belong to one of three taste clusters; each user likes most items of their own
cluster and (in the explicit variant) dislikes a few items of the next cluster. Features are a
noisy one-hot of the cluster in 8 columns, so every representation (pass-through included, with
``n_components=8``) can express the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

N_USERS, N_ITEMS, N_CLUSTERS, WIDTH = 30, 24, 3, 8


@dataclass
class Planted:
    interactions: sp.csr_matrix
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_clusters: np.ndarray
    item_clusters: np.ndarray
    held_out: sp.csr_matrix  # liked items of each user's cluster not in ``interactions``


def _features(clusters: np.ndarray, rng: np.random.Generator) -> sp.csr_matrix:
    dense = rng.normal(0.0, 0.05, (clusters.size, WIDTH)).astype(np.float32)
    dense[np.arange(clusters.size), clusters] += 1.0
    dense[:, WIDTH - 1] = 1.0
    return sp.csr_matrix(dense)


def make_planted(seed: int = 0, explicit: bool = False) -> Planted:
    """Return the planted dataset; ``explicit`` adds -1 dislikes of the next cluster's items."""
    rng = np.random.default_rng(seed)
    user_clusters = np.arange(N_USERS) % N_CLUSTERS
    item_clusters = np.arange(N_ITEMS) % N_CLUSTERS
    liked = user_clusters[:, None] == item_clusters[None, :]
    keep = rng.random((N_USERS, N_ITEMS)) < 0.6
    train = (liked & keep).astype(np.float32)
    held_out = (liked & ~keep).astype(np.float32)
    if explicit:
        disliked = (item_clusters[None, :] == (user_clusters[:, None] + 1) % N_CLUSTERS) & (
            rng.random((N_USERS, N_ITEMS)) < 0.5
        )
        train[disliked] = -1.0
    return Planted(
        sp.csr_matrix(train),
        _features(user_clusters, rng),
        _features(item_clusters, rng),
        user_clusters,
        item_clusters,
        sp.csr_matrix(held_out),
    )
