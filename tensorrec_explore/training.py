"""One epoch of training: batches laid out for what the loss declared, and compiled steps.

``dense`` losses get batches of users scored against the whole catalogue; ``sampled`` losses get
batches of liked interactions plus ``s`` uniformly sampled items shared by the batch (and the
batch's share of disliked interactions); ``observed`` losses get batches of observed
interactions. Each step is one ``tf.function`` traced once per batch layout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .defaults import XLA_MIN_LIKES, sampled_batch
from .errors import TrainingError
from .liked_pairs import LikedPairs
from .losses import Loss, LossInputs, disliked_sampled, uses_autograph
from .objectives import Objective
from .sparse_rows import SparseRows

#: Dense losses score ``users x items`` per step: cap the block at this many floats.
DENSE_BLOCK = 1 << 21
#: Unobserved items each dislike is compared with per step (dense losses).
DISLIKE_SAMPLES = 64
#: Weight of the item term against the user term in the dense (per-interaction) L2 penalty.
ITEM_PENALTY = 50.0


class Trainer:
    """Holds the training data on the TensorFlow side and runs epochs of optimizer steps.

    ``parts``: the fitted state (:class:`~tensorrec_explore.fitting.FittedState`) whose
    ``network``, ``optimizer``, ``user_table`` and ``item_table`` it trains; the steps'
    losses and optimizer update are its :class:`~tensorrec_explore.objectives.Objective`'s.
    """

    def __init__(
        self,
        parts: Any,
        loss: Loss,
        interactions: sp.csr_matrix,
        weights: sp.csr_matrix | None,
        l2: float,
        batch_size: int | None,
        n_sampled_items: int,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.network, self.loss, self.optimizer = parts.network, loss, parts.optimizer
        self.users, self.items = parts.user_table, parts.item_table
        self.l2 = tf.constant(float(l2), tf.float32)
        self.n_items = interactions.shape[1]
        self.n_sampled = int(min(n_sampled_items, self.n_items))
        coo = interactions.tocoo()
        weight_values = (
            np.ones(coo.nnz, np.float32)
            if weights is None
            else np.asarray(weights.tocsr()[coo.row, coo.col]).ravel().astype(np.float32)
        )
        self.positive = np.flatnonzero(coo.data > 0)
        self.negative = np.flatnonzero(coo.data < 0)
        self.observed = np.arange(coo.nnz)
        self.rows = tf.constant(coo.row.astype(np.int64))
        self.cols = tf.constant(coo.col.astype(np.int64))
        self.values = tf.constant(coo.data.astype(np.float32))
        self.weights = tf.constant(weight_values)
        self.liked = LikedPairs(
            coo.row[self.positive], coo.col[self.positive], interactions.shape[0], self.n_items
        )
        counts = np.bincount(coo.col[self.positive], minlength=self.n_items).astype(np.float32)
        self.item_counts = tf.constant(counts)
        # Dense losses: each item's share of all likes weights its representation's penalty.
        self.item_penalty_weights = tf.constant(ITEM_PENALTY * counts / max(counts.sum(), 1.0))
        self.active_users = np.unique(coo.row)
        self.has_dislikes = bool(self.negative.size)
        if loss.inputs == "dense":
            self.targets = SparseRows(interactions, interactions.shape[0])
            weight_matrix = sp.csr_matrix(
                (weight_values, (coo.row, coo.col)), shape=interactions.shape
            )
            self.target_weights = SparseRows(weight_matrix, interactions.shape[0])
            self.has_weights = weights is not None
            self.batch_size = batch_size or max(1, min(256, DENSE_BLOCK // max(self.n_items, 1)))
        else:
            self.batch_size = sampled_batch(loss, self.positive.size, batch_size)
        # The objective builds the optimizer's slots now, so the first call traces once instead
        # of twice; the loss declares whether its call needs autograph (Python control flow on
        # tensors).
        self.objective = Objective(
            parts,
            loss,
            l2,
            self.n_sampled,
            self.batch_size,
            self.item_counts,
            self.liked,
            strategy,
        )
        autograph = uses_autograph(loss)
        # The compiled epoch's sampled step: compiled by XLA where that pays (compiles_with_xla).
        self.uses_xla = loss.inputs == "sampled" and compiles_with_xla(self, strategy)
        self._epoch_step = (
            tf.function(self._sampled_step, jit_compile=True)
            if self.uses_xla
            else self._sampled_step
        )
        ids = tf.TensorSpec([None], tf.int64)
        signatures = {"dense": [ids], "sampled": [ids, ids, ids], "observed": [ids]}
        step = {
            "dense": self._dense_step,
            "sampled": self._sampled_step,
            "observed": self._observed_step,
        }[loss.inputs]
        if strategy is not None:
            from .distributed import replicated

            step = replicated(
                step,
                strategy,
                {"dense": (True,), "sampled": (True, False, True), "observed": (True,)}[
                    loss.inputs
                ],
            )
        self._step = tf.function(step, input_signature=signatures[loss.inputs], autograph=autograph)
        # Sampled losses: batches and samples drawn by TensorFlow from one seed per epoch (the
        # same ones on every path); on one device a whole epoch is one compiled call.
        self._epoch = None
        if loss.inputs == "sampled":
            self._positive_ids = tf.constant(self.positive.astype(np.int64))
            self._negative_ids = tf.constant(self.negative.astype(np.int64))
            self.n_batches = max(1, -(-self.positive.size // self.batch_size))
            if strategy is None:
                self._epoch = tf.function(
                    self._sampled_epoch,
                    autograph=autograph,
                    input_signature=[tf.TensorSpec([2], tf.int64)],
                )

    # ----------------------------------------------------------------- epochs
    def run_epoch(self, rng: np.random.Generator) -> tuple[float, float]:
        """Run one pass over the data; return (mean data loss, mean regularisation loss)."""
        if self._epoch is not None:
            data, reg = self._epoch(self._epoch_seed(rng))
            return float(data), float(reg)
        step = self._step
        data_total, reg_total, n_steps = tf.constant(0.0), tf.constant(0.0), 0
        for batch in self._batches(rng):
            data, reg = step(*batch)
            data_total += data
            reg_total += reg
            n_steps += 1
        n_steps = max(n_steps, 1)
        return float(data_total) / n_steps, float(reg_total) / n_steps

    @staticmethod
    def _epoch_seed(rng: np.random.Generator) -> tf.Tensor:
        return tf.constant(rng.integers(0, 2**62, 2), tf.int64)

    def _batches(self, rng: np.random.Generator) -> Iterator[tuple[tf.Tensor, ...]]:
        if self.loss.inputs == "sampled":  # eagerly, the compiled epoch's batches (distributed)
            order = self._sampled_order(self._epoch_seed(rng))
            for index in range(self.n_batches):
                yield self._sampled_batch(tf.constant(index, tf.int64), *order)
            return
        ids = self.active_users if self.loss.inputs == "dense" else self.observed
        order = rng.permutation(ids)
        for start in range(0, order.size, self.batch_size):
            yield (tf.constant(order[start : start + self.batch_size].astype(np.int64)),)

    def _sampled_order(self, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Return one epoch's step seeds ``[n_batches, 2]``, shuffled likes and dislikes."""
        seeds = tf.random.experimental.stateless_split(seed, self.n_batches + 2)
        return (
            seeds[2:],
            _shuffled(self._positive_ids, seeds[0]),
            _shuffled(self._negative_ids, seeds[1]),
        )

    def _sampled_batch(
        self, index: tf.Tensor, seeds: tf.Tensor, positives: tf.Tensor, negatives: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Return step ``index``'s (liked ids, sampled items, disliked ids) of the epoch order.

        Every step takes the next :meth:`likes_per_step` likes of the order, the last step
        completing its batch from the order's start (those likes count twice that epoch), so
        every step has one static shape: the compiled step's shape and broadcast-gradient ops
        fold away. Dislikes are cut into ``n_batches`` even slices; each step draws its
        ``n_sampled`` uniform items from its own stateless seed.
        """
        n_negatives = tf.size(negatives, out_type=tf.int64)
        n_batches = self.n_batches
        sampled = tf.random.stateless_uniform(
            [self.n_sampled], seeds[index], minval=0, maxval=self.n_items, dtype=tf.int64
        )
        size = self.likes_per_step()
        within = (index * size + tf.range(size, dtype=tf.int64)) % max(self.positive.size, 1)
        return (
            tf.gather(positives, within),
            sampled,
            negatives[index * n_negatives // n_batches : (index + 1) * n_negatives // n_batches],
        )

    def likes_per_step(self) -> int:
        """Return the liked interactions of each sampled step: ``batch_size``, or every like
        when there are fewer."""
        return min(self.batch_size, int(self.positive.size))

    def _sampled_epoch(self, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Every sampled step of one epoch in the graph; return the mean (data, reg) losses."""
        order = self._sampled_order(seed)

        def body(index: tf.Tensor, data_total: tf.Tensor, reg_total: tf.Tensor) -> tuple:
            data, reg = self._epoch_step(*self._sampled_batch(index, *order))
            return index + 1, data_total + data, reg_total + reg

        zero = tf.constant(0.0)
        _, data_total, reg_total = tf.while_loop(
            lambda index, *_: index < self.n_batches,
            body,
            (tf.constant(0, tf.int64), zero, zero),
            parallel_iterations=1,
        )
        return data_total / self.n_batches, reg_total / self.n_batches

    def _dense_step(self, users: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        net = self.network
        with tf.GradientTape() as tape:
            user_features, item_features = self.users.rows(users), self.items.all()
            user_vectors, item_vectors = (
                net.users(user_features, True),
                net.items(item_features, True),
            )
            scores = (
                net.pairwise(user_vectors, item_vectors)
                + tf.reshape(net.user_biases(user_features), [-1, 1])
                + net.item_biases(item_features)
            )
            targets = self.targets.dense_rows(users)
            weights = (
                tf.where(tf.equal(targets, 0), 1.0, self.target_weights.dense_rows(users))
                if self.has_weights
                else tf.ones_like(targets)
            )
            data = self.loss(
                LossInputs(
                    scores=scores,
                    targets=targets,
                    weights=weights,
                    **self._dense_dislikes(scores, targets),
                )
            )
            reg = self.dense_regularization(targets, user_vectors, item_vectors)
            total = data + reg
        self.objective.apply(tape, total)
        return data, reg

    def _dense_dislikes(self, scores: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        """Scores of the batch's disliked pairs and of their users on sampled unobserved items.

        Comparing each dislike with sampled items (rather than with a user's mean score) is what
        ranks dislikes below the unobserved catalogue. The sample changes every step, drawn
        statelessly from the optimizer's step count.
        """
        if not self.has_dislikes:
            return {}
        seed = tf.stack([tf.constant(0, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)])
        sampled = tf.random.stateless_uniform(
            [DISLIKE_SAMPLES], seed=seed, minval=0, maxval=self.n_items, dtype=tf.int64
        )
        return dense_dislike_inputs(scores, targets, sampled)

    def dense_regularization(
        self, targets: tf.Tensor, user_vectors: tf.Tensor, item_vectors: tf.Tensor
    ) -> tf.Tensor:
        """Per-interaction L2 on the representations (the classic matrix-factorisation form).

        ``l2 * (sum_u n_u |u|^2 / sum_u n_u + ITEM_PENALTY * sum_i (likes_i / likes) |v_i|^2)``:
        the step's users weighted by their liked count and every item by its share of all likes,
        so the representations the data term pulls hardest are held back most while rare ones
        are not shrunk to zero, independently of the dataset's size. The penalty is on the
        representations (outputs), so it applies to feature-based and custom towers alike.
        """
        liked = tf.reduce_sum(tf.cast(targets > 0, tf.float32), axis=1)
        user_norms = tf.reduce_sum(tf.square(user_vectors), axis=[1, 2])
        item_norms = tf.reduce_sum(tf.square(item_vectors), axis=1)
        return self.l2 * (
            tf.math.divide_no_nan(tf.reduce_sum(liked * user_norms), tf.reduce_sum(liked))
            + tf.reduce_sum(self.item_penalty_weights * item_norms)
        )

    def _sampled_step(
        self, positives: tf.Tensor, sampled: tf.Tensor, negatives: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        users, items = tf.gather(self.rows, positives), tf.gather(self.cols, positives)
        valid = self.objective.candidates_valid(users, items, sampled)
        disliked_users = disliked_items = disliked_valid = None  # implicit data: no dislike graph
        if self.has_dislikes:
            disliked_users = tf.gather(self.rows, negatives)
            disliked_items = tf.gather(self.cols, negatives)
            disliked_valid = self.liked.unliked(disliked_users, sampled)
        with tf.GradientTape() as tape:
            data, reg = self.objective.sampled_objective(
                users,
                items,
                tf.gather(self.weights, positives),
                sampled,
                disliked_users,
                disliked_items,
                valid,
                disliked_valid,
                tf.gather(self.item_counts, items),
            )
            total = data + reg
        self.objective.apply(tape, total)
        return data, reg

    def _observed_step(self, observed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        users, items = tf.gather(self.rows, observed), tf.gather(self.cols, observed)
        with tf.GradientTape() as tape:
            data, reg = self.objective.observed_objective(
                users, items, tf.gather(self.values, observed), tf.gather(self.weights, observed)
            )
            total = data + reg
        self.objective.apply(tape, total)
        return data, reg


def dense_dislike_inputs(
    scores: tf.Tensor, targets: tf.Tensor, sampled: tf.Tensor
) -> dict[str, tf.Tensor]:
    """Return a dense batch's dislike fields of :class:`~tensorrec_explore.losses.LossInputs`.

    Parameters
    ----------
    scores, targets : tf.Tensor
        ``[b, n_items]`` scores and interaction values of a batch of users.
    sampled : tf.Tensor
        int64 ``[s]``: the items each dislike is compared with.

    Returns
    -------
    dict
        ``disliked_scores [q]`` (the batch's ``q`` disliked pairs) and
        ``disliked_sampled_scores [q, s]`` (their users' scores on ``sampled``; a sampled item
        the user interacted with is set to +1e4, so it adds nothing to the penalty).
    """
    disliked = tf.where(targets < 0)
    valid = tf.cast(tf.equal(tf.gather(targets, sampled, axis=1), 0), tf.float32)
    valid = tf.gather(valid, disliked[:, 0])
    sampled_scores = tf.gather(tf.gather(scores, sampled, axis=1), disliked[:, 0])
    return {
        "disliked_scores": tf.gather_nd(scores, disliked),
        "disliked_sampled_scores": disliked_sampled(sampled_scores, valid),
    }


@contextlib.contextmanager
def failures_reported(doing: str) -> Iterator[None]:
    """Turn a TensorFlow failure inside the block into a :class:`TrainingError` saying what
    was being done (``doing``, e.g. "during training") and TensorFlow's message."""
    try:
        yield
    except tf.errors.OpError as error:
        raise TrainingError(f"TensorFlow failed {doing}: {error.message}") from error


def compiles_with_xla(trainer: Trainer, strategy: Any) -> bool:
    """Return True when ``trainer``'s sampled steps are compiled with XLA.

    When it pays: at least :data:`~tensorrec_explore.defaults.XLA_MIN_LIKES` likes (XLA's
    fused element-wise work is ~40% cheaper per like, its compilation costs about a second and
    each step's launch more). When it compiles: :func:`xla_compiles_towers`, no dislikes (their
    per-step count varies) and liked pairs tested by flags or bitset (or not at all).
    """
    liked_ok = (
        getattr(trainer.loss, "accidental_hits_only", False) or trainer.liked.compiles_with_xla
    )
    return (
        trainer.positive.size >= XLA_MIN_LIKES
        and not trainer.has_dislikes
        and liked_ok
        and xla_compiles_towers(
            trainer.loss, trainer.network, trainer.users, trainer.items, strategy
        )
    )


def xla_compiles_towers(
    loss: Loss, network: Any, users: SparseRows, items: SparseRows, strategy: Any
) -> bool:
    """Return True when a sampled step of ``loss`` over ``network``'s towers compiles with XLA:
    one device, a built-in loss, identity features on both sides (``users`` / ``items``) with
    towers that look their rows up (XLA has no sparse matmul)."""
    return (
        strategy is None
        and type(loss).__module__ == Loss.__module__
        and users.is_identity
        and items.is_identity
        and network.users_look_up
        and network.items_look_up
    )


def _shuffled(values: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Return ``values`` in a random order drawn from the stateless ``seed``.

    A linear-time shuffle: sorting random keys (``argsort``) took 2.5 s per epoch at 10^7
    likes, a tenth of the epoch; this takes 0.3-0.4 s."""
    return tf.random.experimental.stateless_shuffle(values, seed)
