"""Prediction functions: how a user representation and an item representation become a score.

Each class offers two shapes of the same function: ``pairwise(users [b, d], items [n, d]) ->
[b, n]`` for ranking, and ``elementwise(users [p, d], items [p, d]) -> [p]`` for scoring given
pairs. A custom prediction subclasses :class:`Prediction` and implements both.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from .errors import InputError


class Prediction:
    """Base class: a stateless scoring function between representations."""

    def pairwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return the ``[b, n]`` scores of every user row against every item row."""
        raise NotImplementedError

    def elementwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return the ``[p]`` scores of row ``i`` of ``users`` against row ``i`` of ``items``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Prediction:
        return cls(**config)


class Dot(Prediction):
    """Dot product: the matrix-factorisation score. Vector lengths carry popularity/confidence."""

    def pairwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        return tf.matmul(users, items, transpose_b=True)

    def elementwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(users * items, axis=-1)


class Cosine(Prediction):
    """Cosine similarity: the dot product of L2-normalised vectors, in [-1, 1]; ignores length."""

    def pairwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        return tf.matmul(
            tf.math.l2_normalize(users, axis=-1),
            tf.math.l2_normalize(items, axis=-1),
            transpose_b=True,
        )

    def elementwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(
            tf.math.l2_normalize(users, axis=-1) * tf.math.l2_normalize(items, axis=-1), axis=-1
        )


class Euclidean(Prediction):
    """Negative Euclidean distance: nearer items score higher (a metric-learning view)."""

    def pairwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        squared = (
            tf.reduce_sum(tf.square(users), axis=-1, keepdims=True)
            - 2.0 * tf.matmul(users, items, transpose_b=True)
            + tf.reduce_sum(tf.square(items), axis=-1)[tf.newaxis, :]
        )
        return -tf.sqrt(tf.maximum(squared, 1e-12))

    def elementwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        return -tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(users - items), axis=-1), 1e-12))


def make_prediction(spec: Any) -> Prediction:
    """Return a prediction function for ``spec``: a registry name, a class or an instance."""
    from .registry import PREDICTIONS

    if isinstance(spec, str):
        spec = PREDICTIONS.get(spec)
    if isinstance(spec, type):
        spec = spec()
    if isinstance(spec, Prediction) or (hasattr(spec, "pairwise") and hasattr(spec, "elementwise")):
        return spec
    raise InputError(
        f"prediction must be a registry name or an object with pairwise() and elementwise(); "
        f"got {spec!r}."
    )
