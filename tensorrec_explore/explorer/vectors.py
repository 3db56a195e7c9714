"""Embeddings of any other system (LightFM, TFRS, ALS, ...) as a model the explorer can show.

:class:`VectorModel` scores users against items from fixed vectors (and optional biases) with
one of TensorRec's prediction functions, in numpy, and answers the inspection calls the explorer
makes (``recommend``, ``score_users``, representations, biases, ``similar_items``). It cannot
be trained or fold a new user in: the panels that need a TensorRec model say so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError, describe
from ..inputs import check_ids, check_k
from ..metrics import top_k
from ..ranking import top_k_others

PREDICTIONS = ("dot", "cosine", "euclidean")


def _matrix(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        raise InputError(
            f"{name} must be a 2-D array of numbers [n, dimensions]; got "
            f"{describe(values)} with shape {getattr(array, 'shape', None)}."
        )
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise InputError(f"{name} holds NaN or infinite values; the embeddings must be finite.")
    return array


def _vector(name: str, values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.float32)
    array = np.asarray(values, dtype=np.float32).reshape(-1)
    if array.shape != (n,) or not np.isfinite(array).all():
        raise InputError(
            f"{name} must be {n} finite numbers (one per row of the vectors); "
            f"got shape {np.shape(values)}."
        )
    return array


class VectorModel:
    """Fixed user and item vectors scored with ``prediction`` ("dot", "cosine", "euclidean")
    plus optional biases: ``score = f(user, item) + user_bias + item_bias``."""

    def __init__(
        self,
        user_vectors: Any,
        item_vectors: Any,
        *,
        user_biases: Any = None,
        item_biases: Any = None,
        prediction: str = "dot",
    ):
        self.users_ = _matrix("user_vectors", user_vectors)
        self.items_ = _matrix("item_vectors", item_vectors)
        if self.users_.shape[1] != self.items_.shape[1]:
            raise InputError(
                f"user_vectors have {self.users_.shape[1]} dimensions and item_vectors "
                f"{self.items_.shape[1]}; a prediction compares vectors of one size."
            )
        if prediction not in PREDICTIONS:
            raise InputError(
                f"prediction must be one of {', '.join(PREDICTIONS)}; got {describe(prediction)}."
            )
        self.prediction = prediction
        self.user_biases_ = _vector("user_biases", user_biases, len(self.users_))
        self.item_biases_ = _vector("item_biases", item_biases, len(self.items_))
        self.n_users_, self.n_items_ = len(self.users_), len(self.items_)

    def score_users(self, users: Any) -> np.ndarray:
        """``[len(users), n_items]`` float32 scores."""
        users = check_ids(users, self.n_users_, "users")
        u = self.users_[users]
        items = self.items_
        if self.prediction == "cosine":
            u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
            items = items / np.maximum(np.linalg.norm(items, axis=1, keepdims=True), 1e-12)
        if self.prediction == "euclidean":
            squares = (u**2).sum(1)[:, None] + (items**2).sum(1)[None, :] - 2 * u @ items.T
            scores = -np.sqrt(np.maximum(squares, 0.0))
        else:
            scores = u @ items.T
        return (scores + self.user_biases_[users, None] + self.item_biases_[None, :]).astype(
            np.float32
        )

    def recommend(
        self, users: Any, k: int = 10, exclude: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items ``[n, k]`` and scores of fitted users; ``exclude`` as in TensorRec."""
        return top_k(
            self.score_users,
            check_ids(users, self.n_users_, "users"),
            check_k(k, self.n_items_),
            exclude=exclude,
        )

    def user_representations(self, user_features: Any = None) -> np.ndarray:
        return self.users_

    def item_representations(self, item_features: Any = None) -> np.ndarray:
        return self.items_

    def user_biases(self, user_features: Any = None) -> np.ndarray:
        return self.user_biases_

    def item_biases(self, item_features: Any = None) -> np.ndarray:
        return self.item_biases_

    def similar_items(self, item_ids: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most cosine-similar to each of ``item_ids`` (itself excluded)."""
        ids = check_ids(item_ids, self.n_items_, "item_ids")
        unit = self.items_ / np.maximum(np.linalg.norm(self.items_, axis=1, keepdims=True), 1e-12)
        return top_k_others(unit[ids] @ unit.T, ids, check_k(k, self.n_items_ - 1))
