"""The training objectives and the optimizer step shared by the in-memory and streamed trainers.

An :class:`Objective` turns a batch (liked pairs and sampled items, or observed pairs) into
``(data loss, regularisation)`` under a ``GradientTape``, and applies the optimizer step;
:class:`~tensorrec_explore.training.Trainer` and
:class:`~tensorrec_explore.streaming.StreamTrainer` each hold one and only lay out the batches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from .fused_adam import apply_adam, can_fuse
from .liked_pairs import LikedPairs
from .losses import Loss, LossInputs, disliked_sampled
from .sparse_rows import SparseRows


class Objective:
    """The losses of a batch, their L2 penalties and the optimizer step.

    Parameters
    ----------
    parts
        The fitted state (:class:`~tensorrec_explore.fitting.FittedState`) whose ``network``,
        ``optimizer`` (built here on the network's trainable variables, so a step's first call
        traces once), ``user_table`` and ``item_table`` the steps use.
    loss
        The loss, with its declared ``inputs``.
    l2
        The L2 weight.
    n_sampled, batch_size
        Items sampled and rows per step (how many item rows a sampled step computes).
    item_counts
        Liked count per item ``[n_items]`` (losses that read it; zeros otherwise).
    liked
        The liked pairs, for in-batch negatives when a batch does not say which are valid.
    strategy
        The ``tf.distribute`` strategy or None: each replica's loss counts ``1 / replicas``.
    """

    def __init__(
        self,
        parts: Any,
        loss: Loss,
        l2: float,
        n_sampled: int,
        batch_size: int,
        item_counts: tf.Tensor,
        liked: LikedPairs | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.network, self.loss, self.optimizer = parts.network, loss, parts.optimizer
        self.users, self.items = parts.user_table, parts.item_table
        self.l2 = tf.constant(float(l2), tf.float32)
        self.n_items = self.items.n_rows
        self.n_sampled, self.batch_size = int(n_sampled), int(batch_size)
        self.item_counts, self.liked = item_counts, liked
        # Under a tf.distribute strategy the optimizer sums the replicas' gradients: each
        # replica's (local mean) loss counts 1 / replicas (see distributed.py).
        self.strategy = strategy
        self.replica_scale = 1.0 / (strategy.num_replicas_in_sync if strategy else 1)
        self.optimizer.build(self.network.trainable_variables)

    def apply(self, tape: tf.GradientTape, total: tf.Tensor) -> None:
        """Apply one optimizer step of the gradients of ``total`` recorded on ``tape``."""
        variables = self.network.trainable_variables
        gradients = tape.gradient(total, variables)
        if self.strategy is None and can_fuse(self.optimizer):
            apply_adam(
                self.optimizer,
                [(g, v) for g, v in zip(gradients, variables, strict=False) if g is not None],
            )
            return
        pairs = [
            (tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) * self.replica_scale, v)
            for g, v in zip(gradients, variables, strict=False)
        ]
        self.optimizer.apply_gradients(pairs)

    def candidates_valid(
        self, users: tf.Tensor, items: tf.Tensor, candidates: tf.Tensor
    ) -> tf.Tensor:
        """Return which candidates may be negatives of each liked pair.

        Parameters
        ----------
        users, items : tf.Tensor
            int64 ``[p]``: the liked pairs.
        candidates : tf.Tensor
            int64 ``[c]``: the items the pairs are compared with.

        Returns
        -------
        tf.Tensor
            float32 ``[p, c]``: 1.0 where candidate ``c`` is not a liked item of ``users[r]``;
            for a loss declaring ``accidental_hits_only``, where it is not ``items[r]``.
        """
        return candidates_valid(
            self.loss, items, candidates, lambda: self.liked.unliked(users, candidates)
        )

    def regularization(self) -> tf.Tensor:
        """Return ``l2`` times the sum of squares of every representation weight."""
        return self.l2 * self.network.regularization()

    def _user_vectors(self, users: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        if self.users.is_identity and self.network.users_look_up:
            return self.network.user_rows(users)
        return _tower_rows(
            users,
            self.users,
            self.network.users,
            self.network.user_biases,
            self.network.user_layers,
            training,
        )

    def _item_vectors(self, items: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        if self.items.is_identity and self.network.items_look_up:
            return self.network.item_rows(items)
        return _tower_rows(
            items,
            self.items,
            self.network.items,
            self.network.item_biases,
            [self.network.item_layer],
            training,
            self.batch_size + self.n_sampled,
        )

    def _sampled_scores(
        self,
        users: tf.Tensor,
        sampled_vectors: tf.Tensor,
        sampled_biases: tf.Tensor,
        training: bool,
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        user_vectors, user_biases = self._user_vectors(users, training)
        scores = (
            self.network.pairwise(user_vectors, sampled_vectors)
            + user_biases[:, None]
            + sampled_biases[None, :]
        )
        return user_vectors, user_biases, scores

    def sampled_objective(
        self,
        users: tf.Tensor,
        items: tf.Tensor,
        weights: tf.Tensor,
        sampled: tf.Tensor,
        disliked_users: tf.Tensor | None,
        disliked_items: tf.Tensor | None,
        valid: tf.Tensor,
        disliked_valid: tf.Tensor | None,
        item_counts: tf.Tensor,
        batch_valid: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Return (data loss, regularisation) of liked pairs, sampled items and dislikes.

        ``valid`` / ``disliked_valid`` ``[p, s]`` / ``[q, s]``: 1.0 where a sampled item is not a
        liked item of that row's user; ``item_counts [p]``: liked count of each liked item.
        ``disliked_*`` None: no dislikes (nothing of theirs is computed). ``batch_valid [p, p]``
        (losses with ``in_batch_negatives``): 1.0 where liked item ``c`` of the batch is not a
        like of row ``r``'s user. Call it under a ``GradientTape`` (both trainers use it).
        """
        net = self.network
        parts = [items, sampled] + ([] if disliked_items is None else [disliked_items])
        # One tower call for every item row of the step, split back (a split's gradient is one
        # concat; slices' gradients are zero-padded copies summed).
        sizes = tf.stack([tf.size(part) for part in parts])
        item_vectors, item_biases = self._item_vectors(tf.concat(parts, axis=0), True)
        liked_vectors, sampled_vectors, *disliked_vectors = tf.split(item_vectors, sizes)
        liked_biases, sampled_biases, *disliked_biases = tf.split(item_biases, sizes)
        user_vectors, user_biases, sampled_scores = self._sampled_scores(
            users, sampled_vectors, sampled_biases, True
        )
        positive_scores = net.elementwise(user_vectors, liked_vectors) + user_biases + liked_biases
        dislikes = {}
        if disliked_items is not None:
            disliked_user_vectors, disliked_user_biases, scores_of_disliking = self._sampled_scores(
                disliked_users, sampled_vectors, sampled_biases, True
            )
            dislikes = {
                "disliked_scores": net.elementwise(disliked_user_vectors, disliked_vectors[0])
                + disliked_user_biases
                + disliked_biases[0],
                "disliked_sampled_scores": disliked_sampled(scores_of_disliking, disliked_valid),
            }
        in_batch = {}
        if getattr(self.loss, "in_batch_negatives", False):
            in_batch = self.in_batch_negatives(
                users,
                items,
                sampled,
                user_vectors,
                user_biases,
                liked_vectors,
                liked_biases,
                batch_valid,
            )
        data = self.loss(
            LossInputs(
                positive_scores=positive_scores,
                positive_weights=weights,
                sampled_scores=sampled_scores,
                sampled_valid=valid,
                n_items=tf.constant(self.n_items, tf.float32),
                item_counts=item_counts,
                **dislikes,
                **in_batch,
            )
        )
        return data, self.sampled_regularization(user_vectors, liked_vectors, sampled_vectors)

    def in_batch_negatives(
        self,
        users: tf.Tensor,
        items: tf.Tensor,
        sampled: tf.Tensor,
        user_vectors: tf.Tensor,
        user_biases: tf.Tensor,
        item_vectors: tf.Tensor,
        item_biases: tf.Tensor,
        batch_valid: tf.Tensor | None,
    ) -> dict[str, tf.Tensor]:
        """The batch's first liked items as negatives, and the log expected count of each.

        A step's candidates are the first ``k`` of its ``p`` liked items
        (:func:`in_batch_candidates`), drawn (by shuffling the likes) with probability
        ``likes_j / likes`` each, and ``s`` uniform items: item ``j`` is expected
        ``E_j = k * likes_j / likes + s / n_items`` times, for in-batch and uniform ones alike.
        ``batch_valid``, when given, is ``[p, k]``.
        """
        candidates = in_batch_candidates(self.loss, items)
        k = tf.size(candidates)
        if batch_valid is None:
            batch_valid = self.candidates_valid(users, items, candidates)
        uniform = tf.cast(tf.size(sampled), tf.float32) / float(self.n_items)
        share = tf.cast(k, tf.float32) / tf.maximum(tf.reduce_sum(self.item_counts), 1.0)
        counts = tf.gather(self.item_counts, items)
        return {
            "batch_scores": self.network.pairwise(user_vectors, item_vectors[:k])
            + user_biases[:, None]
            + item_biases[None, :k],
            "batch_valid": batch_valid,
            "batch_log_q": tf.math.log(share * counts + uniform),
            "sampled_log_q": tf.math.log(share * tf.gather(self.item_counts, sampled) + uniform),
        }

    def sampled_regularization(
        self, user_vectors: tf.Tensor, item_vectors: tf.Tensor, sampled_vectors: tf.Tensor
    ) -> tf.Tensor:
        """L2 on the representations the step touches:
        ``l2 * (mean |u|^2 + mean |v|^2 + mean |v_s|^2)``.

        Over the liked pairs' users ``[p, T, d]`` and items ``[p, d]`` and the sampled items. A
        penalty on every weight at every step would, under Adam's per-coordinate scaling, drag
        the rows a step does not touch towards zero at ~learning-rate speed and collapse the
        model to popularity (ml-100k BPR NDCG@10 0.148 that way, 0.29 this way).
        """
        return self.l2 * (
            _mean_square(user_vectors) + _mean_square(item_vectors) + _mean_square(sampled_vectors)
        )

    def observed_objective(
        self, users: tf.Tensor, items: tf.Tensor, values: tf.Tensor, weights: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Return (data loss, regularisation) of observed pairs; call it under a tape."""
        net = self.network
        user_vectors, user_biases = self._user_vectors(users, True)
        item_vectors, item_biases = self._item_vectors(items, True)
        predictions = net.elementwise(user_vectors, item_vectors) + user_biases + item_biases
        data = self.loss(LossInputs(predictions=predictions, values=values, weights=weights))
        return data, self.regularization()


def _mean_square(vectors: tf.Tensor) -> tf.Tensor:
    """Return the mean over rows of ``vectors``'s squared norms (0 without rows: a streamed
    batch may hold dislikes only)."""
    rows = tf.cast(tf.shape(vectors)[0], tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(tf.square(vectors)), rows)


def in_batch_candidates(loss: Loss, items: tf.Tensor) -> tf.Tensor:
    """Return the in-batch candidates of a batch's liked ``items`` (int64 ``[p]``): the first
    ``loss.in_batch_candidates`` of them, or all when it is None or the batch is smaller."""
    limit = getattr(loss, "in_batch_candidates", None)
    return items if limit is None else items[:limit]


def candidates_valid(
    loss: Loss, items: tf.Tensor, candidates: tf.Tensor, unliked: Callable[[], tf.Tensor]
) -> tf.Tensor:
    """Return which candidates may be negatives of liked pairs: the one rule every path uses.

    Parameters
    ----------
    loss
        Its ``accidental_hits_only`` is read.
    items, candidates : tf.Tensor
        int64 ``[p]`` liked items and ``[c]`` candidate items.
    unliked
        Called only when needed: float32 ``[p, c]``, 1.0 where candidate ``c`` is not a liked
        item of row ``r``'s user.

    Returns
    -------
    tf.Tensor
        float32 ``[p, c]``: for a loss declaring ``accidental_hits_only``, 1.0 where candidate
        ``c`` is not ``items[r]``; else ``unliked()``.
    """
    if getattr(loss, "accidental_hits_only", False):
        return tf.cast(tf.not_equal(items[:, None], candidates[None, :]), tf.float32)
    return unliked()


def _tower_rows(
    ids: tf.Tensor,
    table: SparseRows,
    tower: Any,
    biases: Any,
    layers: list[Any],
    training: bool,
    rows_per_call: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Return the representations and biases of rows ``ids`` (repeats allowed).

    Embedding-like towers (a row's cost is one gather) run on ``ids`` as given; other towers
    run once on every row of the table when it has at most half the rows a call asks for
    (``rows_per_call``: nearly every row is asked for anyway; no distinct-id pass, no CSR
    gather), else once per distinct id; the results are gathered back. (At 1,000 items and
    1,088 rows per call the distinct-id pass is the faster: ``benchmarks/README.md``,
    "Figures behind design choices (training defaults)".)
    """
    if all(getattr(layer, "embedding_like", False) for layer in layers):
        features = table.rows(ids)
        return tower(features, training), biases(features)
    if rows_per_call is not None and 2 * table.n_rows <= rows_per_call:
        features = table.all()
        return tf.gather(tower(features, training), ids), tf.gather(biases(features), ids)
    unique, where = tf.unique(ids)
    features = table.rows(unique)
    return tf.gather(tower(features, training), where), tf.gather(biases(features), where)
