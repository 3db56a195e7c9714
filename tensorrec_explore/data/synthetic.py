"""Synthetic datasets with planted taste clusters and known answers (the explorer's default).

Users and items belong to ``n_clusters`` taste clusters. Each cluster has a code in {-1, +1}^m
(a vertex of a hypercube, m = ceil(log2(n_clusters))); the true affinity of a user for an item
is the agreement of their clusters' codes, ``code_u . code_i / m`` (1 for the own cluster).
Users pick items with probability ~ exp(affinity / temperature + item_bias), so the data has
both taste structure and a long popularity tail. The feature *flavour* decides how the clusters
show in the features:

- ``"clean"``: one indicator per cluster.
- ``"redundant"``: the clean indicators, each repeated ``n_copies`` times (rank = n_clusters).
- ``"correlated"``: dense continuous features, noisy mixtures of the cluster code whose columns
  are strongly correlated with each other.
- ``"imbalanced"``: the clean indicators scaled from 1e-3 to 1e3, plus a huge-scale noise column.
- ``"nonlinear"``: item features are random bits; item code j is the XOR (as a ±1 product) of
  bits 2j and 2j+1, so taste depends on combinations of features and no linear map of them can
  express it. User features stay clean indicators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, describe
from .dataset import InteractionDataset
from .interactions import from_triples

__all__ = ["FLAVOURS", "SyntheticDataset", "SyntheticTruth", "make_synthetic"]

FLAVOURS = ("clean", "redundant", "correlated", "imbalanced", "nonlinear")


@dataclass(frozen=True)
class SyntheticTruth:
    """The planted answer: cluster labels, cluster codes, true affinities and popularity."""

    user_clusters: np.ndarray  # int [n_users]
    item_clusters: np.ndarray  # int [n_items]
    cluster_codes: np.ndarray  # ±1 [n_clusters, m]
    affinity: np.ndarray  # float [n_users, n_items] in [-1, 1]: code agreement
    item_bias: np.ndarray  # float [n_items]: log-popularity added when sampling
    flavour: str


class SyntheticDataset(InteractionDataset):
    """An :class:`InteractionDataset` with ``truth`` (:class:`SyntheticTruth`) attached."""

    truth: SyntheticTruth


def _codes(n_clusters: int) -> np.ndarray:
    m = max(1, int(np.ceil(np.log2(n_clusters))))
    bits = (np.arange(n_clusters)[:, None] >> np.arange(m)[None, :]) & 1
    return (2 * bits - 1).astype(np.float64)


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def _features(
    flavour: str, labels: np.ndarray, codes: np.ndarray, rng: np.random.Generator, n_copies: int
) -> tuple[np.ndarray, list[str]]:
    """Return (dense features, names) for entities with cluster ``labels`` in ``flavour``."""
    k = len(codes)
    onehot = _onehot(labels, k)
    names = [f"cluster_{c}" for c in range(k)]
    if flavour == "clean":
        return onehot, names
    if flavour == "redundant":
        copies = [f"{name}_copy{r}" for r in range(1, n_copies) for name in names]
        return np.hstack([onehot] * n_copies), names + copies
    if flavour == "correlated":
        # every column mixes all code dimensions with weights near 1: strongly correlated columns
        mixing = 1.0 + 0.3 * rng.standard_normal((codes.shape[1], 2 * k))
        mixed = codes[labels] @ mixing + 0.1 * rng.standard_normal((len(labels), 2 * k))
        return mixed, [f"mix_{j}" for j in range(mixed.shape[1])]
    if flavour == "imbalanced":
        scales = np.logspace(-3, 3, k)
        noise = 1e4 * rng.standard_normal((len(labels), 1))
        return np.hstack([onehot * scales, noise]), [*names, "noise_large"]
    raise InputError(f"flavour must be one of {FLAVOURS}, got {describe(flavour)}.")


def _xor_bits(
    labels: np.ndarray, codes: np.ndarray, rng: np.random.Generator, n_noise: int
) -> tuple[np.ndarray, list[str]]:
    """Return 0/1 bits whose pairwise ±1 products are the cluster codes, plus noise bits."""
    n, m = len(labels), codes.shape[1]
    first = rng.integers(0, 2, size=(n, m))
    target = (codes[labels] > 0).astype(int)  # code +1 <=> the two bits agree
    second = np.where(target == 1, first, 1 - first)
    bits = np.empty((n, 2 * m), dtype=np.float64)
    bits[:, 0::2], bits[:, 1::2] = first, second
    noise = rng.integers(0, 2, size=(n, n_noise)).astype(np.float64)
    names = [f"bit_{j}" for j in range(2 * m)] + [f"noise_bit_{j}" for j in range(n_noise)]
    return np.hstack([bits, noise]), names


def make_synthetic(
    flavour: str = "clean",
    seed: int = 0,
    *,
    n_users: int = 600,
    n_items: int = 400,
    n_clusters: int = 8,
    interactions_per_user: int = 33,
    temperature: float = 0.25,
    popularity_spread: float = 1.0,
    n_copies: int = 3,
) -> SyntheticDataset:
    """Return a planted dataset (~20k implicit interactions by default), same for the same seed.

    For a given seed the interactions and ``truth`` are the same whatever the flavour, so
    flavours compare features only. ``truth`` holds the clusters and affinities;
    ``item_metadata`` / ``user_metadata`` have a "cluster" column; titles read "Item 12 (cluster
    3)". ``interactions_per_user`` is the mean (Poisson, at least 5) of distinct items per user;
    ``temperature`` sets how strictly users follow their taste; ``popularity_spread`` the std of
    the log-normal item popularity.
    """
    if flavour not in FLAVOURS:
        raise InputError(f"flavour must be one of {FLAVOURS}, got {describe(flavour)}.")
    if n_clusters < 2 or n_users < n_clusters or n_items < n_clusters:
        raise InputError(
            f"need 2 <= n_clusters <= min(n_users, n_items), got n_clusters={n_clusters}, "
            f"n_users={n_users}, n_items={n_items}."
        )
    if not 5 <= interactions_per_user < n_items:
        raise InputError(
            f"interactions_per_user must be in [5, n_items={n_items}), got {interactions_per_user}."
        )
    rng = np.random.default_rng(seed)
    codes = _codes(n_clusters)
    user_clusters = rng.permutation(np.arange(n_users) % n_clusters)
    item_clusters = rng.permutation(np.arange(n_items) % n_clusters)
    affinity = codes[user_clusters] @ codes[item_clusters].T / codes.shape[1]
    item_bias = popularity_spread * rng.standard_normal(n_items)

    logits = affinity / temperature + item_bias + rng.gumbel(size=(n_users, n_items))
    counts = np.clip(rng.poisson(interactions_per_user, n_users), 5, n_items - 1)
    ranked = np.argsort(-logits, axis=1, kind="stable")
    rows = np.repeat(np.arange(n_users), counts)
    cols = np.concatenate([ranked[u, : counts[u]] for u in range(n_users)])
    interactions = from_triples(rows, cols, np.ones(len(rows)), (n_users, n_items))

    user_x, user_names = _features(
        "clean" if flavour == "nonlinear" else flavour, user_clusters, codes, rng, n_copies
    )
    if flavour == "nonlinear":
        item_x, item_names = _xor_bits(item_clusters, codes, rng, n_noise=2)
    else:
        item_x, item_names = _features(flavour, item_clusters, codes, rng, n_copies)

    dataset = SyntheticDataset(
        interactions,
        user_features=user_x,
        item_features=item_x,
        user_feature_names=user_names,
        item_feature_names=item_names,
        user_labels=[f"User {u} (cluster {c})" for u, c in enumerate(user_clusters)],
        item_titles=[f"Item {i} (cluster {c})" for i, c in enumerate(item_clusters)],
        user_metadata=_metadata(user_clusters),
        item_metadata=_metadata(item_clusters),
        name=f"synthetic-{flavour}",
    )
    dataset.truth = SyntheticTruth(
        user_clusters=user_clusters,
        item_clusters=item_clusters,
        cluster_codes=codes,
        affinity=affinity,
        item_bias=item_bias,
        flavour=flavour,
    )
    return dataset


def _metadata(clusters: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"cluster": clusters, "cluster_name": [f"cluster {c}" for c in clusters]})
