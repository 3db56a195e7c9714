"""New users without retraining: fit free representation vectors with the items held fixed.

The most requested feature in TensorRec's and LightFM's trackers. Each new user gets
``n_tastes`` vectors (and a bias) optimised for the model's own loss on their interactions,
while every trained weight stays untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .losses import LossInputs

#: Sampled losses compare each liked item with at most this many catalogue items while folding in.
FOLD_IN_SAMPLES = 2048


@dataclass
class NewUsers:
    """Representations of users who were not in training, usable by ``recommend``."""

    representations: np.ndarray  # [n_users, n_tastes, n_components]
    biases: np.ndarray  # [n_users]
    interactions: sp.csr_matrix  # the interactions they were fitted to

    @property
    def n_users(self) -> int:
        """Number of new users."""
        return int(self.representations.shape[0])


def _loss_inputs(kind: str, scores: tf.Tensor, targets: tf.Tensor, sampled: tf.Tensor,
                 item_counts: tf.Tensor, n_items: int) -> LossInputs:
    if kind == "dense":
        return LossInputs(scores=scores, targets=targets, weights=tf.ones_like(targets))
    observed = tf.where(tf.not_equal(targets, 0))
    if kind == "observed":
        values = tf.gather_nd(targets, observed)
        return LossInputs(predictions=tf.gather_nd(scores, observed), values=values,
                          weights=tf.ones_like(values))
    liked, disliked = tf.where(targets > 0), tf.where(targets < 0)
    sampled_scores = tf.gather(scores, sampled, axis=1)
    sampled_liked = tf.cast(tf.gather(targets, sampled, axis=1) > 0, tf.float32)
    return LossInputs(
        positive_scores=tf.gather_nd(scores, liked),
        positive_weights=tf.ones([tf.shape(liked)[0]]),
        sampled_scores=tf.gather(sampled_scores, liked[:, 0]),
        sampled_valid=1.0 - tf.gather(sampled_liked, liked[:, 0]),
        n_items=tf.constant(float(n_items)),
        item_counts=tf.gather(item_counts, liked[:, 1]),
        disliked_scores=tf.gather_nd(scores, disliked),
        disliked_sampled_scores=tf.gather(sampled_scores, disliked[:, 0]),
    )


def fold_in_users(model: Any, interactions: sp.csr_matrix, items: tf.Tensor,
                  item_biases: tf.Tensor, epochs: int) -> NewUsers:
    """Return :class:`NewUsers` fitted to ``interactions`` (one row per new user)."""
    network, loss = model.network_, model.loss_
    n_new, n_items = interactions.shape
    width = int(items.shape[1])
    rng = np.random.default_rng(model.random_state)
    vectors = tf.Variable(rng.normal(0.0, 0.1 / np.sqrt(width), (n_new, network.n_tastes, width))
                          .astype(np.float32))
    biases = tf.Variable(tf.zeros([n_new]))
    targets = tf.constant(interactions.toarray().astype(np.float32))
    item_counts = tf.constant(
        np.bincount(model.train_interactions_.indices[model.train_interactions_.data > 0],
                    minlength=n_items).astype(np.float32))
    sampled = tf.constant(
        np.sort(rng.choice(n_items, min(n_items, FOLD_IN_SAMPLES), replace=False)).astype(np.int64))
    optimizer = keras.optimizers.Adam(learning_rate=0.05)
    variables = [vectors, biases] if network.biased else [vectors]

    @tf.function
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            scores = network.pairwise(vectors, items) + biases[:, None] + item_biases[None, :]
            value = loss(_loss_inputs(loss.inputs, scores, targets, sampled, item_counts, n_items))
            value += model.l2 * tf.reduce_sum(tf.square(vectors))
        gradients = tape.gradient(value, variables)
        optimizer.apply_gradients(
            [(tf.zeros_like(v) if g is None else g, v) for g, v in zip(gradients, variables)])
        return value

    for _ in range(int(epochs)):
        step()
    return NewUsers(vectors.numpy(), biases.numpy(), interactions)
