"""New users without retraining: fit free representation vectors with the items held fixed.

The most requested feature in TensorRec's and LightFM's trackers. Each new user gets
``n_tastes`` vectors (and a bias) optimised for the model's own loss on their interactions,
while every trained weight stays untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .errors import InputError
from .inputs import check_count, check_interactions
from .losses import LossInputs, uses_autograph
from .training import dense_dislike_inputs

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


def _loss_inputs(
    kind: str,
    scores: tf.Tensor,
    targets: tf.Tensor,
    sampled: tf.Tensor,
    item_counts: tf.Tensor,
    n_items: int,
) -> LossInputs:
    dislikes = dense_dislike_inputs(scores, targets, sampled)
    sampled_scores = tf.gather(scores, sampled, axis=1)
    if kind == "dense":
        return LossInputs(scores=scores, targets=targets, weights=tf.ones_like(targets), **dislikes)
    observed = tf.where(tf.not_equal(targets, 0))
    if kind == "observed":
        values = tf.gather_nd(targets, observed)
        return LossInputs(
            predictions=tf.gather_nd(scores, observed), values=values, weights=tf.ones_like(values)
        )
    liked = tf.where(targets > 0)
    sampled_liked = tf.cast(tf.gather(targets, sampled, axis=1) > 0, tf.float32)
    return LossInputs(
        positive_scores=tf.gather_nd(scores, liked),
        positive_weights=tf.ones([tf.shape(liked)[0]]),
        sampled_scores=tf.gather(sampled_scores, liked[:, 0]),
        sampled_valid=1.0 - tf.gather(sampled_liked, liked[:, 0]),
        n_items=tf.constant(float(n_items)),
        item_counts=tf.gather(item_counts, liked[:, 1]),
        **dislikes,
    )


class FoldIn:
    """Fits new users' vectors with Adam in one compiled loop, traced once per model."""

    LEARNING_RATE = 0.05

    def __init__(self, state: Any) -> None:
        self.network, self.loss = state.network, state.loss
        self.l2 = state.l2
        train = state.train_interactions
        self.n_items = train.shape[1]
        self.item_counts = tf.constant(
            np.bincount(train.indices[train.data > 0], minlength=self.n_items).astype(np.float32)
        )
        matrix, vector = (
            tf.TensorSpec([None, None, None], tf.float32),
            tf.TensorSpec([None], tf.float32),
        )
        self.fit = tf.function(
            self._fit,
            autograph=uses_autograph(self.loss),
            input_signature=[
                matrix,
                tf.TensorSpec([None, None], tf.float32),
                tf.TensorSpec([None, None], tf.float32),
                vector,
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([], tf.int32),
            ],
        )

    def _objective(self, vectors, biases, items, item_biases, targets, sampled):
        scores = self.network.pairwise(vectors, items) + biases[:, None] + item_biases[None, :]
        inputs = _loss_inputs(
            self.loss.inputs, scores, targets, sampled, self.item_counts, self.n_items
        )
        return self.loss(inputs) + self.l2 * tf.reduce_sum(tf.square(vectors))

    def _fit(self, vectors, targets, items, item_biases, sampled, steps):
        biases = tf.zeros([tf.shape(vectors)[0]])
        state = [
            vectors,
            biases,
            tf.zeros_like(vectors),
            tf.zeros_like(biases),
            tf.zeros_like(vectors),
            tf.zeros_like(biases),
        ]

        def body(step, vectors, biases, m_v, m_b, s_v, s_b):
            with tf.GradientTape() as tape:
                tape.watch([vectors, biases])
                value = self._objective(vectors, biases, items, item_biases, targets, sampled)
            g_v, g_b = tape.gradient(
                value, [vectors, biases], unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            if not self.network.biased:
                g_b = tf.zeros_like(g_b)
            t = tf.cast(step + 1, tf.float32)
            m_v, m_b = 0.9 * m_v + 0.1 * g_v, 0.9 * m_b + 0.1 * g_b
            s_v, s_b = 0.999 * s_v + 0.001 * g_v**2, 0.999 * s_b + 0.001 * g_b**2
            rate = self.LEARNING_RATE * tf.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
            vectors = vectors - rate * m_v / (tf.sqrt(s_v) + 1e-7)
            biases = biases - rate * m_b / (tf.sqrt(s_b) + 1e-7)
            return step + 1, vectors, biases, m_v, m_b, s_v, s_b

        result = tf.while_loop(lambda step, *_: step < steps, body, [tf.constant(0), *state])
        return result[1], result[2]


def fold_in_users(
    state: Any, interactions: sp.csr_matrix, epochs: int, seed: int | None
) -> NewUsers:
    """Return :class:`NewUsers` fitted to ``interactions`` (one row per new user).

    Each new user's ``n_tastes`` vectors and bias are fitted by Adam for ``epochs`` steps to the
    fitted ``state``'s own loss (plus its L2 penalty), every trained weight held fixed; ``seed``
    draws the starting vectors and the sampled items.
    """
    if state.fold_in is None:  # the state's cache: one traced loop per fitted state
        state.fold_in = FoldIn(state)
    items, item_biases = state.items()
    n_new, n_items = interactions.shape
    width = int(items.shape[1])
    rng = np.random.default_rng(seed)
    start = rng.normal(0.0, 0.1 / np.sqrt(width), (n_new, state.network.n_tastes, width))
    sampled = np.sort(rng.choice(n_items, min(n_items, FOLD_IN_SAMPLES), replace=False))
    vectors, biases = state.fold_in.fit(
        tf.constant(start.astype(np.float32)),
        tf.constant(interactions.toarray(), tf.float32),
        items,
        item_biases,
        tf.constant(sampled.astype(np.int64)),
        tf.constant(int(epochs)),
    )
    return NewUsers(vectors.numpy(), biases.numpy(), interactions)


def fold_in_new_users(
    state: Any, interactions: Any, user_features: Any, epochs: Any, seed: int | None
) -> NewUsers:
    """Return :class:`NewUsers` for ``interactions`` of users not seen in training (checked),
    from a model's fitted ``state`` (:class:`~tensorrec_explore.fitting.FittedState`).

    With identity user features each new user's vectors are fitted (:func:`fold_in_users`);
    with user features, ``user_features`` (one row per new user) are simply new feature rows.
    """
    check_count(epochs, "epochs")
    interactions = check_interactions(interactions, "interactions (new users)")
    if interactions.shape[1] != state.n_items:
        raise InputError(
            f"fold_in interactions have {interactions.shape[1]} columns; expected "
            f"{state.n_items} items."
        )
    if not state.user_table.is_identity:
        if user_features is None:
            raise InputError("The model uses user features: pass user_features for the new users.")
        vectors, biases = state.users(state.table(user_features, "user"))
        return NewUsers(vectors, biases, interactions)
    return fold_in_users(state, interactions, int(epochs), seed)
