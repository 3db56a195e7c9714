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

Two options change the interactions themselves (any flavour; off by default, and off they leave
every output unchanged), each planted the way it happens in real data:

- ``dislikes=True``: explicit feedback. Each item has one of ``N_STYLES`` hidden styles and each
  user dislikes one style (a second hidden trait, independent of the taste clusters). Users
  still pick items by taste, so they *watch* items of the style they dislike as often as the
  others; those interactions are -1 (watched, disliked), the rest +1 (liked): about a quarter
  of the interactions are dislikes. A model trained on the likes alone cannot tell a future
  dislike from a like (both are close to the user's taste), so it ranks held-out dislikes high;
  the style is learnable from the -1s, so a model trained on them can sink them.
- ``tastes_per_user=T`` (T >= 2): each user has T distinct taste clusters, the first one
  (``truth.user_clusters``) and T - 1 others drawn at random; taste ``j`` (0-based) is sampled
  with weight ``2**-j`` (about 2/3 of a user's items from the first taste, 1/3 from the second
  with T = 2), so the second taste is a minority one. Users pick items by their best taste.
  User features still encode the first taste only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError, describe
from .dataset import InteractionDataset
from .interactions import from_triples

__all__ = ["FLAVOURS", "N_STYLES", "SyntheticDataset", "SyntheticTruth", "make_synthetic"]

FLAVOURS = ("clean", "redundant", "correlated", "imbalanced", "nonlinear")
#: Hidden item styles of ``make_synthetic(dislikes=True)`` (each user dislikes one).
N_STYLES = 4


@dataclass(frozen=True)
class SyntheticTruth:
    """The planted answer: cluster labels, cluster codes, true affinities and popularity.

    Parameters
    ----------
    user_clusters : numpy.ndarray
        int ``[n_users]``: each user's cluster.
    item_clusters : numpy.ndarray
        int ``[n_items]``: each item's cluster.
    cluster_codes : numpy.ndarray
        ±1 ``[n_clusters, m]``: each cluster's code.
    affinity : numpy.ndarray
        float ``[n_users, n_items]`` in [-1, 1]: the agreement of the user's and the item's
        codes (with several tastes, of the user's closest taste).
    item_bias : numpy.ndarray
        float ``[n_items]``: the log-popularity added when sampling.
    flavour : str
        The feature flavour of the dataset (one of :data:`FLAVOURS`).
    user_tastes : numpy.ndarray or None
        int ``[n_users, tastes_per_user]``: each user's taste clusters, the first one
        (``user_clusters``) first; None for datasets built before tastes existed.
    item_styles : numpy.ndarray or None
        int ``[n_items]`` in ``[0, N_STYLES)``: each item's hidden style (``dislikes=True``).
    user_disliked_styles : numpy.ndarray or None
        int ``[n_users]``: the style each user dislikes (``dislikes=True``).
    """

    user_clusters: np.ndarray
    item_clusters: np.ndarray
    cluster_codes: np.ndarray
    affinity: np.ndarray
    item_bias: np.ndarray
    flavour: str
    user_tastes: np.ndarray | None = None
    item_styles: np.ndarray | None = None
    user_disliked_styles: np.ndarray | None = None


class SyntheticDataset(InteractionDataset):
    """An :class:`InteractionDataset` with ``truth`` (:class:`SyntheticTruth`) attached.

    Built by :func:`make_synthetic`; its constructor is :class:`InteractionDataset`'s.
    """

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
    dislikes: bool = False,
    tastes_per_user: int = 1,
) -> SyntheticDataset:
    """Return a planted dataset (~20k implicit interactions by default), same for the same seed.

    For a given seed the interactions and ``truth`` are the same whatever the flavour, so
    flavours compare features only. ``dislikes`` and ``tastes_per_user`` draw from their own
    random streams, so the default dataset is the same with or without them in the code.

    Parameters
    ----------
    flavour : {"clean", "redundant", "correlated", "imbalanced", "nonlinear"}, default "clean"
        How the clusters show in the features (see the module's docstring).
    seed : int, default 0
        The random seed.
    n_users, n_items : int, default 600, 400
        The dataset's size.
    n_clusters : int, default 8
        The number of taste clusters, in ``[2, min(n_users, n_items)]``.
    interactions_per_user : int, default 33
        The mean (Poisson, at least 5) of distinct items per user, in ``[5, n_items)``.
    temperature : float, default 0.25
        How loosely users follow their taste (lower: more strictly).
    popularity_spread : float, default 1.0
        The standard deviation of the log-normal item popularity.
    n_copies : int, default 3
        How many times the ``"redundant"`` flavour repeats each indicator.
    dislikes : bool, default False
        Explicit feedback: +1 liked, -1 watched and disliked, the dislikes explained by a
        hidden item style (see the module's docstring).
    tastes_per_user : int, default 1
        Distinct taste clusters per user, in ``[1, n_clusters]``; from 2 on, a user's second
        taste is a minority one (see the module's docstring).

    Returns
    -------
    SyntheticDataset
        Implicit interactions (all 1.0; +1 / -1 with ``dislikes``) with user and item features;
        ``truth`` holds the clusters and affinities (and the tastes and styles);
        ``item_metadata`` / ``user_metadata`` have a "cluster" column (plus "style" /
        "disliked_style" with ``dislikes``, "second_cluster" with several tastes); titles read
        "Item 12 (cluster 3)" ("Item 12 (cluster 3, style 1)" with ``dislikes``).

    Raises
    ------
    InputError
        On an unknown flavour, ``n_clusters`` outside ``[2, min(n_users, n_items)]``,
        ``interactions_per_user`` outside ``[5, n_items)`` or ``tastes_per_user`` outside
        ``[1, n_clusters]``.
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
    if isinstance(tastes_per_user, bool) or not isinstance(tastes_per_user, int | np.integer):
        raise InputError(f"tastes_per_user must be an integer, got {describe(tastes_per_user)}.")
    if not 1 <= tastes_per_user <= n_clusters:
        raise InputError(
            f"tastes_per_user must be in [1, n_clusters={n_clusters}], got {tastes_per_user}; "
            "each taste is a distinct cluster."
        )
    rng = np.random.default_rng(seed)
    codes = _codes(n_clusters)
    user_clusters = rng.permutation(np.arange(n_users) % n_clusters)
    item_clusters = rng.permutation(np.arange(n_items) % n_clusters)
    user_tastes = _tastes(user_clusters, n_clusters, tastes_per_user, seed)
    # [n_users, tastes, n_items]: each taste's agreement with each item
    per_taste = codes[user_tastes] @ codes[item_clusters].T / codes.shape[1]
    affinity = per_taste.max(axis=1)
    item_bias = popularity_spread * rng.standard_normal(n_items)

    taste_logits = per_taste / temperature - np.log(2.0) * np.arange(tastes_per_user)[:, None]
    logits = taste_logits.max(axis=1) + item_bias + rng.gumbel(size=(n_users, n_items))
    counts = np.clip(rng.poisson(interactions_per_user, n_users), 5, n_items - 1)
    ranked = np.argsort(-logits, axis=1, kind="stable")
    rows = np.repeat(np.arange(n_users), counts)
    cols = np.concatenate([ranked[u, : counts[u]] for u in range(n_users)])
    styles = _styles(n_users, n_items, seed) if dislikes else None
    values = (
        np.ones(len(rows))
        if styles is None
        else np.where(styles[0][cols] == styles[1][rows], -1.0, 1.0)
    )
    interactions = from_triples(rows, cols, values, (n_users, n_items))

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
        user_labels=_labels("User", user_clusters, None if styles is None else styles[1]),
        item_titles=_labels("Item", item_clusters, None if styles is None else styles[0]),
        user_metadata=_metadata(
            user_clusters,
            disliked_style=None if styles is None else styles[1],
            second_cluster=user_tastes[:, 1] if tastes_per_user > 1 else None,
        ),
        item_metadata=_metadata(item_clusters, style=None if styles is None else styles[0]),
        name=_name(flavour, dislikes, tastes_per_user),
    )
    dataset.truth = SyntheticTruth(
        user_clusters=user_clusters,
        item_clusters=item_clusters,
        cluster_codes=codes,
        affinity=affinity,
        item_bias=item_bias,
        flavour=flavour,
        user_tastes=user_tastes,
        item_styles=None if styles is None else styles[0],
        user_disliked_styles=None if styles is None else styles[1],
    )
    return dataset


def _tastes(user_clusters: np.ndarray, n_clusters: int, tastes: int, seed: int) -> np.ndarray:
    """Return ``[n_users, tastes]`` distinct clusters per user, ``user_clusters`` first (the
    others from their own stream: one taste draws nothing)."""
    if tastes == 1:
        return user_clusters[:, None]
    rng = np.random.default_rng([seed, 1])
    # random offsets 1..n_clusters-1 without repetition: distinct from the first and each other
    offsets = np.argsort(rng.random((len(user_clusters), n_clusters - 1)), axis=1)[:, : tastes - 1]
    others = (user_clusters[:, None] + 1 + offsets) % n_clusters
    return np.hstack([user_clusters[:, None], others])


def _styles(n_users: int, n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (each item's hidden style, the style each user dislikes), from their own stream."""
    rng = np.random.default_rng([seed, 2])
    return rng.integers(0, N_STYLES, n_items), rng.integers(0, N_STYLES, n_users)


def _labels(kind: str, clusters: np.ndarray, styles: np.ndarray | None) -> list[str]:
    """ "Item 12 (cluster 3)", with ", style 1" (items) or ", dislikes style 1" (users)."""
    if styles is None:
        return [f"{kind} {i} (cluster {c})" for i, c in enumerate(clusters)]
    style = "style" if kind == "Item" else "dislikes style"
    return [
        f"{kind} {i} (cluster {c}, {style} {st})"
        for i, (c, st) in enumerate(zip(clusters, styles, strict=True))
    ]


def _name(flavour: str, dislikes: bool, tastes: int) -> str:
    parts = [f"synthetic-{flavour}"]
    if dislikes:
        parts.append("dislikes")
    if tastes > 1:
        parts.append(f"{tastes}-tastes")
    return "-".join(parts)


def _metadata(clusters: np.ndarray, **extra: np.ndarray | None) -> pd.DataFrame:
    """The "cluster" and "cluster_name" columns, plus the ``extra`` columns that are not None."""
    frame = pd.DataFrame({"cluster": clusters, "cluster_name": [f"cluster {c}" for c in clusters]})
    for name, values in extra.items():
        if values is not None:
            frame[name] = values
    return frame
