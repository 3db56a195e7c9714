"""Dataset plumbing for the explorer: the default dataset, its summary, splits and features.

Everything here is plain numpy / scipy / pandas over the data layer's ``InteractionDataset``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError


def default_dataset() -> Any:
    """The built-in synthetic dataset (planted clusters, known answers)."""
    from ..data import make_synthetic

    return make_synthetic()


def _labels(values: Any, n: int, prefix: str) -> list[str]:
    if values is None or len(values) != n:
        return [f"{prefix} {i}" for i in range(n)]
    return [str(v) for v in values]


def _columns(frame: Any) -> list[str]:
    if frame is None:
        return []
    return [str(c) for c in frame.columns]


#: What the explorer reads from a dataset (an InteractionDataset has them all).
_NEEDED = ("interactions", "n_users", "n_items", "features")


def check_dataset(dataset: Any) -> None:
    """Raise InputError unless ``dataset`` is an InteractionDataset-like object."""
    missing = [name for name in _NEEDED if not hasattr(dataset, name)]
    if missing:
        hint = (
            " Wrap an interactions matrix first: Explorer(InteractionDataset(matrix))."
            if sp.issparse(dataset) or isinstance(dataset, np.ndarray)
            else ""
        )
        raise InputError(
            f"Explorer needs an InteractionDataset (from tensorrec_explore.data: make_synthetic, "
            f"load_movielens, load_interactions_file, InteractionDataset.from_frame), got "
            f"{type(dataset).__name__} (no {', '.join(missing)}).{hint}"
        )


def describe(dataset: Any) -> dict[str, Any]:
    """State values describing ``dataset`` (name, sizes, labels, colourable columns)."""
    return {
        "dataset": dataset,
        "dataset_name": str(getattr(dataset, "name", "") or "dataset"),
        "n_users": int(dataset.n_users),
        "n_items": int(dataset.n_items),
        "user_labels": _labels(getattr(dataset, "user_labels", None), dataset.n_users, "user"),
        "item_titles": _labels(getattr(dataset, "item_titles", None), dataset.n_items, "item"),
        "user_color_columns": _columns(getattr(dataset, "user_metadata", None)),
        "item_color_columns": _columns(getattr(dataset, "item_metadata", None)),
    }


def has_timestamps(dataset: Any) -> bool:
    return getattr(dataset, "timestamps", None) is not None


class PreparedData(dict):
    """What :func:`prepare` returns: a dict that equals only itself.

    Its values are sparse matrices, whose ``==`` compares element by element (and warns);
    traitlets compares a trait's old and new values before notifying, so the explorer's state
    would compare every matrix when a run trained on other data (another split, feature set or
    ``learn_dislikes``). Two preparations are the same only when they are the same object.
    """

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = None  # type: ignore[assignment]


def prepare(
    dataset: Any,
    *,
    split: str,
    user_feature_set: str,
    item_feature_set: str,
    seed: int = 42,
    learn_dislikes: bool = True,
) -> dict[str, Any]:
    """Train / test / dislike matrices and the feature matrices the model is trained with.

    Positives (values > 0) are split by the data layer (BENCHMARK.md protocol for
    ``random_holdout``). Dislikes (values < 0) are held out the same way, separately, under
    ``random_holdout`` (so where held-out dislikes land can be measured); under
    ``leave_last_out`` and ``"none"`` they all stay in train.

    Returns
    -------
    PreparedData
        A dict: ``"train"``: the train likes, plus the train dislikes (as their negative
        values) when ``learn_dislikes``; ``"test"``: the held-out likes (None without a split);
        ``"dislikes"``: the train dislikes (negative values, learnt or not: the inspector marks
        them); ``"test_dislikes"``: the held-out dislikes (negative values; None without
        them); ``"train_weights"``: the dataset's ``weights`` of the train pairs (the
        ``sample_weight`` of ``fit``), or None when the dataset has no weights; the feature
        matrices and feature-set names.
    """
    from .. import data as data_layer

    X = sp.csr_matrix(dataset.interactions, dtype=np.float32)
    dislikes = X.multiply(X < 0).tocsr()
    dislikes.eliminate_zeros()
    positives = X.multiply(X > 0).tocsr()
    positives.eliminate_zeros()
    test_dislikes = None
    if split == "none":
        likes, test = positives, None
    else:
        if split == "random_holdout":
            parts = data_layer.random_holdout(positives, seed=seed)
            if dislikes.nnz:
                held = data_layer.random_holdout(-dislikes, seed=seed)
                dislikes, test_dislikes = -held.train.tocsr(), -held.test.tocsr()
        elif split == "leave_last_out":
            parts = data_layer.leave_last_out(dataset)
        else:
            raise ValueError(f"unknown split {split!r}")
        likes = positives.multiply(sp.csr_matrix(parts.train) != 0).tocsr()
        test = sp.csr_matrix(parts.test, dtype=np.float32)
    train = (likes + dislikes).tocsr() if learn_dislikes else likes
    train = train.astype(np.float32)
    train.eliminate_zeros()
    weights = getattr(dataset, "weights", None)
    return PreparedData(
        {
            "train": train,
            "train_weights": None if weights is None else weights.multiply(train != 0).tocsr(),
            "test": test,
            "dislikes": dislikes,
            "test_dislikes": test_dislikes,
            "user_features": dataset.features("user", mode=user_feature_set),
            "item_features": dataset.features("item", mode=item_feature_set),
            "user_feature_set": user_feature_set,
            "item_feature_set": item_feature_set,
        }
    )


def popularity(dataset: Any) -> np.ndarray:
    """Number of positive interactions per item."""
    X = sp.csr_matrix(dataset.interactions)
    return np.asarray((X > 0).sum(axis=0)).ravel().astype(np.float32)


def feature_names(dataset: Any, side: str, feature_set: str) -> list[str]:
    """Column names of ``dataset.features(side, feature_set)`` (ids first in 'both')."""
    n = dataset.n_users if side == "user" else dataset.n_items
    labels = describe(dataset)["user_labels" if side == "user" else "item_titles"]
    ids = [f"id: {label}" for label in labels][:n]
    extra = list(getattr(dataset, f"{side}_feature_names", None) or [])
    if feature_set == "ids":
        return ids
    if feature_set == "features":
        return extra
    return ids + extra
