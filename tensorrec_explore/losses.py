"""Loss functions, each declaring which inputs it needs so the model computes only those.

The contract for a custom loss: subclass :class:`Loss`, set ``inputs`` to one of

* ``"dense"`` — you receive ``LossInputs.scores`` and ``LossInputs.targets``, both
  ``[batch_users, n_items]`` (targets hold interaction values: 0 unobserved, > 0 liked,
  < 0 disliked) and ``weights`` of the same shape;
* ``"sampled"`` — you receive, for a batch of ``p`` liked interactions, ``positive_scores [p]``,
  ``positive_weights [p]``, the same users' scores against ``s`` uniformly sampled items
  ``sampled_scores [p, s]``, ``sampled_valid [p, s]`` (1.0 where the sampled item is not a liked
  item of that user; with ``accidental_hits_only = True``, where it is not the row's own liked
  item), ``n_items`` and ``item_counts [p]`` (liked count of each positive item);
  with ``in_batch_negatives = True`` also ``batch_scores [p, k]`` (each user against the first
  ``k`` liked items of the batch: all ``p``, or ``in_batch_candidates`` when the loss sets it
  and the batch is larger), ``batch_valid [p, k]`` (1.0 where that item is not one of the
  user's likes, or not the row's own liked item under ``accidental_hits_only``)
  and ``batch_log_q [p]`` / ``sampled_log_q [s]``, the log of each liked item's and each sampled
  item's expected count among the step's ``k + s`` candidates (for the sampling-bias
  correction; the first ``k`` of ``batch_log_q`` are the in-batch candidates');
* ``"observed"`` — you receive ``predictions [p]``, ``values [p]`` and ``weights [p]`` for a
  batch of observed interactions (liked and disliked);

and implement ``call(inputs) -> scalar tf.Tensor`` (lower is better, differentiable). Explicit
dislikes: for ``"sampled"`` losses the model also passes ``disliked_scores [q]`` and
``disliked_sampled_scores [q, s]``; :meth:`Loss.dislike_term` turns them into a penalty that
ranks dislikes below unobserved items, and the built-ins add it.

Everything else the model decides about a loss it reads from class attributes the loss declares
(never from its class or module name):

* ``needs_negatives`` (default False) — the loss can only learn when the interactions contain
  disliked (negative) values; training refuses data without them;
* ``needs_item_counts`` (default True) — ``call`` reads ``item_counts``. In memory the counts
  are free; a stream (:meth:`TensorRec.fit_stream <tensorrec_explore.model.TensorRec>`) pays
  one extra pass over the data to count them, only for ``"sampled"`` losses that declare it (or
  set ``in_batch_negatives``, whose ``log_q`` is computed from the counts);
* ``sampled_variant`` (default None) — a ``"dense"`` loss's sampled form, declared on the
  class: a :class:`Loss` class, or a function of no argument returning a ``"sampled"`` loss
  (read from the class, so a plain function needs no ``staticmethod``). The model trains with it
  instead when ``n_sampled_items`` asks for it or the catalogue is too large for the dense form
  (:func:`tensorrec_explore.defaults.use_sampled_softmax`). A stream trains a dense loss only
  through it (with ``n_sampled_items`` set or a catalogue over
  :data:`~tensorrec_explore.defaults.FULL_SOFTMAX_LIMIT`): it cannot give complete rows.
  :class:`Softmax` declares :class:`SampledSoftmax`;
* ``autograph`` (default True) — the training step may be traced with autograph, so ``call``
  may branch or loop on tensors in Python. Set it to False when ``call`` uses TensorFlow ops
  only (``tf.cond``, ``tf.where``, ...): tracing is quicker. The built-ins declare False.
* ``uses_weights`` (default True) — ``call`` reads the pairs' weights of
  ``fit(sample_weight=...)``; a loss declaring False (``rmse_dense``, ``separation``,
  ``separation_dense``) makes ``fit`` refuse weights rather than ignore them.

``needs_item_counts``, ``autograph`` and ``uses_weights`` describe the code of ``call``, so a
subclass that does not declare them gets the safe defaults above, not its parent's values (a
subclass of
:class:`WMRB` whose ``call`` reads ``item_counts`` gets them); ``inputs``, ``needs_negatives``,
``in_batch_negatives`` and ``sampled_variant`` are inherited as usual (a subclass of
:class:`Softmax` whose ``call`` is no longer a softmax sets ``sampled_variant = None`` or its own).
:func:`needs_item_counts`, :func:`uses_autograph`, :func:`check_weights_used` and
:func:`in_sampled_form` read the contract
(also from duck-typed losses that are not :class:`Loss` subclasses, with the same defaults).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from .defaults import (
    DENSE_SOFTMAX_RECIPE,
    SOFTMAX_IN_BATCH_CANDIDATES,
    SOFTMAX_SAMPLED_BATCH,
    SOFTMAX_SAMPLED_BATCH_MAX,
    SOFTMAX_SAMPLED_ITEMS,
    Recipe,
)
from .errors import InputError

INPUT_KINDS = ("dense", "sampled", "observed")


@dataclass
class LossInputs:
    """Tensors given to a loss; only the fields of the loss's ``inputs`` kind are set."""

    scores: tf.Tensor | None = None
    targets: tf.Tensor | None = None
    weights: tf.Tensor | None = None
    positive_scores: tf.Tensor | None = None
    positive_weights: tf.Tensor | None = None
    sampled_scores: tf.Tensor | None = None
    sampled_valid: tf.Tensor | None = None
    n_items: tf.Tensor | None = None
    item_counts: tf.Tensor | None = None
    disliked_scores: tf.Tensor | None = None
    disliked_sampled_scores: tf.Tensor | None = None
    predictions: tf.Tensor | None = None
    values: tf.Tensor | None = None
    batch_scores: tf.Tensor | None = None
    batch_valid: tf.Tensor | None = None
    batch_log_q: tf.Tensor | None = None
    sampled_log_q: tf.Tensor | None = None


def _weighted_mean(values: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    return tf.math.divide_no_nan(tf.reduce_sum(values * weights), tf.reduce_sum(weights))


def _separation(positive: tf.Tensor, negative: tf.Tensor) -> tf.Tensor:
    pos_mean, pos_var = tf.nn.moments(positive, axes=[0])
    neg_mean, neg_var = tf.nn.moments(negative, axes=[0])
    z = (pos_mean - neg_mean) / tf.sqrt(pos_var + neg_var + 1e-6)
    return 1.0 - 0.5 * (1.0 + tf.math.erf(z / math.sqrt(2.0)))


#: The contract attributes that describe the code of ``call``, with their safe defaults: a
#: subclass that does not declare one gets this value, not its parent's.
CODE_ATTRIBUTES = {"needs_item_counts": True, "autograph": True, "uses_weights": True}


class Loss:
    """Base class of losses. See the module docstring for the contract.

    Attributes
    ----------
    inputs : str
        ``"dense"``, ``"sampled"`` or ``"observed"``: which tensors ``call`` receives.
    needs_negatives : bool
        The loss only learns from data holding disliked (negative) values.
    needs_item_counts : bool
        ``call`` reads ``item_counts`` (a stream counts the items only when True).
    sampled_variant : type or callable or None
        A dense loss's sampled form (a class or a no-argument factory), or None.
    autograph : bool
        The training step may be traced with autograph (Python control flow on tensors).
    uses_weights : bool
        ``call`` reads the ``weights`` / ``positive_weights`` of ``fit(sample_weight=...)``;
        a loss declaring False refuses weights instead of ignoring them.
    """

    inputs = "dense"
    needs_negatives = False
    needs_item_counts = True
    sampled_variant: type[Loss] | Callable[[], Loss] | None = None
    autograph = True
    uses_weights = True
    #: Weight of the explicit-dislike penalty added by the built-ins.
    dislike_weight = 1.0
    #: True when the fast embedding recipe of :mod:`tensorrec_explore.defaults` suits the loss.
    embedding_recipe = False
    #: The model's ``l2`` when left as None, if the loss needs its own (None = its kind's).
    default_l2: float | None = None
    #: True when the model's default ``l2`` should scale with the data's density (tuned for
    #: the softmax's per-like scale); otherwise the default is a small constant.
    density_scaled_l2 = False
    #: ``"sampled"`` losses: items sampled per step when ``n_sampled_items`` is None (None = the
    #: default of :func:`tensorrec_explore.defaults.sampled_items`).
    default_sampled_items: int | None = None
    #: With ``default_l2``: the mean liked interactions per user of the data it was measured on
    #: (None: not scaled). On denser data the default is ``default_l2 * sqrt(this / their
    #: mean)``: less L2 (see :func:`tensorrec_explore.defaults.default_l2`).
    l2_likes_per_user: float | None = None
    #: With the embedding recipe: its starting rate for this loss, if not the recipe's.
    embedding_learning_rate: float | None = None
    #: With the embedding recipe, a ``"dense"`` loss trained dense at the default width
    #: (``n_components`` None): its own :class:`~tensorrec_explore.defaults.Recipe` (rate,
    #: schedule, epochs and width chosen together), if any.
    dense_recipe: Recipe | None = None
    #: With the embedding recipe: its epochs for this loss, if not the recipe's.
    embedding_epochs: int | None = None
    #: ``"sampled"`` losses: the default batch grows with the data
    #: (:func:`tensorrec_explore.defaults.sampled_batch`); False keeps 1024 likes per step.
    batch_grows_with_data = False
    #: With ``batch_grows_with_data``: the largest default batch (None:
    #: :data:`~tensorrec_explore.defaults.SAMPLED_BATCH_MAX`).
    largest_default_batch: int | None = None
    #: ``"sampled"`` losses over embedding towers: items drawn per step on catalogues of at
    #: least :data:`~tensorrec_explore.defaults.LARGE_CATALOGUE_ITEMS` items (None: as on
    #: smaller ones; :func:`tensorrec_explore.defaults.sampled_items`).
    large_catalogue_sampled_items: int | None = None
    #: With those samples and the embedding recipe: the epochs there, if not
    #: ``embedding_epochs`` (:func:`tensorrec_explore.defaults.recipe_for`).
    large_catalogue_epochs: int | None = None
    #: ``"sampled"`` losses only: also receive the batch's liked items as negatives
    #: (``batch_scores``, ``batch_valid``) and every candidate's ``log_q``.
    in_batch_negatives = False
    #: With ``in_batch_negatives``: only the first this many liked items of a batch are
    #: in-batch candidates (None: every one), so a larger batch costs each like no more scores.
    in_batch_candidates: int | None = None
    #: ``"sampled"`` losses: liked interactions per step when ``batch_size`` is None (None = the
    #: default of :func:`tensorrec_explore.defaults.sampled_batch`).
    default_batch_size: int | None = None
    #: ``"sampled"`` losses only: True when ``sampled_valid`` / ``batch_valid`` need only remove
    #: *accidental hits* (a candidate equal to the row's own liked item: an id comparison per
    #: pair) instead of every liked item of the row's user (a look-up in the liked pairs).
    accidental_hits_only = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, default in CODE_ATTRIBUTES.items():
            if name not in vars(cls):
                setattr(cls, name, default)

    def call(self, inputs: LossInputs) -> tf.Tensor:
        """Return the loss of one batch.

        Parameters
        ----------
        inputs : LossInputs
            The batch's tensors of the loss's ``inputs`` kind (see the module docstring).

        Returns
        -------
        tf.Tensor
            A differentiable scalar; lower is better.
        """
        raise NotImplementedError

    def __call__(self, inputs: LossInputs) -> tf.Tensor:
        return self.call(inputs)

    def dislike_term(self, inputs: LossInputs) -> tf.Tensor:
        """Return a BPR-style penalty for disliked items scoring above sampled unobserved items.

        The model fills ``disliked_scores`` and ``disliked_sampled_scores`` (invalid samples set
        to a very high score by :func:`disliked_sampled`) for every kind of input that can hold
        dislikes.

        Parameters
        ----------
        inputs : LossInputs
            The batch, as :meth:`call` receives it.

        Returns
        -------
        tf.Tensor
            A scalar: the mean of ``softplus(disliked - sampled)``; zero when the batch holds
            no dislikes.
        """
        if inputs.disliked_scores is not None:
            margin = inputs.disliked_scores[:, None] - inputs.disliked_sampled_scores
            return tf.math.divide_no_nan(
                tf.reduce_sum(tf.nn.softplus(margin)), tf.cast(tf.size(margin), margin.dtype)
            )
        return tf.constant(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)


class RMSE(Loss):
    """Root mean squared error between scores and the observed interaction values.

    Fits ratings (or +1/-1 likes/dislikes) on observed pairs only, as TensorRec's
    ``RMSELossGraph``; it never sees unobserved items, so it does not learn a ranking of the
    whole catalogue. Source: TensorRec (Kirk, 2018), classic rating prediction (Koren et al., 2009).
    """

    inputs = "observed"
    needs_item_counts = False
    autograph = False

    def call(self, inputs: LossInputs) -> tf.Tensor:
        return tf.sqrt(
            _weighted_mean(tf.square(inputs.predictions - inputs.values), inputs.weights) + 1e-12
        )


class RMSEDense(Loss):
    """RMSE over every (user, item) pair of the batch, unobserved pairs counting as 0.

    Learns to score liked items high, unobserved items near zero and disliked (negative) items
    low. Source: TensorRec's ``RMSEDenseLossGraph``.
    """

    needs_item_counts = False
    autograph = False
    uses_weights = False

    def call(self, inputs: LossInputs) -> tf.Tensor:
        return tf.sqrt(tf.reduce_mean(tf.square(inputs.scores - inputs.targets)) + 1e-12)


class Separation(Loss):
    """Probability that a negative interaction outscores a positive one (normal approximation).

    Among the observed interactions, models the positive and negative scores as two normal
    distributions and minimises ``P(negative > positive) = 1 - Phi((mu+ - mu-) / sqrt(var+ +
    var-))``. Needs explicit negatives (values <= 0) in the interactions; use
    ``separation_dense`` for implicit data. Source: TensorRec's ``SeparationLossGraph``.
    """

    inputs = "observed"
    needs_item_counts = False
    autograph = False
    uses_weights = False
    needs_negatives = True

    def call(self, inputs: LossInputs) -> tf.Tensor:
        positive = tf.boolean_mask(inputs.predictions, inputs.values > 0)
        negative = tf.boolean_mask(inputs.predictions, inputs.values <= 0)
        return _separation(positive, negative)


class SeparationDense(Loss):
    """Separation loss over every pair of the batch: liked vs all others (unobserved, disliked).

    Source: TensorRec's ``SeparationDenseLossGraph``.
    """

    needs_item_counts = False
    autograph = False
    uses_weights = False

    def call(self, inputs: LossInputs) -> tf.Tensor:
        positive = tf.boolean_mask(inputs.scores, inputs.targets > 0)
        negative = tf.boolean_mask(inputs.scores, inputs.targets <= 0)
        disliked = tf.boolean_mask(inputs.scores, inputs.targets < 0)
        unobserved = tf.boolean_mask(inputs.scores, tf.equal(inputs.targets, 0))
        dislike = tf.cond(
            tf.size(disliked) > 0, lambda: _separation(unobserved, disliked), lambda: 0.0
        )
        return _separation(positive, negative) + self.dislike_weight * dislike


def _sampled_hinge(inputs: LossInputs) -> tf.Tensor:
    """Margin violations ``[p, s]``: ``max(0, 1 - s_pos + s_sampled)`` on valid samples."""
    return tf.nn.relu(1.0 - inputs.positive_scores[:, None] + inputs.sampled_scores) * (
        inputs.sampled_valid
    )


def _rank_scale(inputs: LossInputs) -> tf.Tensor:
    """``n_items / n_valid_samples`` per positive: scales sampled counts to catalogue ranks."""
    n_valid = tf.reduce_sum(inputs.sampled_valid, axis=1)
    return tf.math.divide_no_nan(tf.cast(inputs.n_items, n_valid.dtype), n_valid)


class WMRB(Loss):
    """Weighted Margin-Rank Batch loss: ``log(1 + n_items / s * sum_sampled hinge)``.

    A differentiable estimate of the log of each liked item's margin rank among uniformly
    sampled items; strong for top-k ranking on implicit data. Source: Liu & Natarajan,
    "WMRB: Learning to Rank in a Scalable Batch Training Approach" (RecSys 2017), as in TensorRec.
    """

    inputs = "sampled"
    needs_item_counts = False
    autograph = False
    #: Measured on ml-100k with embedding towers (15 epochs, rate decaying linearly): NDCG@10
    #: 0.267 at 0.05 / l2 0.1 / 64 samples; 0.258 with 128 samples; 0.178 at l2 0.05; 0.192 at
    #: 0.1 / l2 0.2; Adam 0.03 x 40 with 512 samples and l2 0.2 (the previous default): 0.236.
    embedding_recipe = True
    embedding_learning_rate = 0.05
    default_l2 = 0.1
    #: ml-100k's train split. ml-1m-all (133 likes per user): NDCG@10 0.294 at l2 0.1, 0.362 at
    #: 0.05 (ml-100k: 0.219 at 0.05): the best L2 falls with density.
    l2_likes_per_user = 47.0
    #: ml-1m-all's validation split: NDCG@10 0.215 at 20 epochs, 0.208 at 15 (LightFM-WARP 0.213).
    embedding_epochs = 20
    #: ml-1m-all's validation split (3,706 items): NDCG@10 0.2141 at 64 samples x 20 epochs,
    #: 0.2303 at 96 x 20, 0.2240 at 96 x 15, 0.2329 at 128 x 15, 0.2281 at 128 x 12 (a 128-sample
    #: epoch costs 1.55x a 64-sample one), 0.2235 at 128 x 10. On ml-100k (1,682 items) 96
    #: samples lose (0.156 against 0.175).
    large_catalogue_sampled_items = 128
    large_catalogue_epochs = 12

    def per_positive(self, inputs: LossInputs) -> tf.Tensor:
        """Return each liked interaction's WMRB value.

        Parameters
        ----------
        inputs : LossInputs
            A ``"sampled"`` batch.

        Returns
        -------
        tf.Tensor
            ``[p]``: ``log(1 + n_items / n_valid * sum of the sampled hinges)``.
        """
        margin_rank = _rank_scale(inputs) * tf.reduce_sum(_sampled_hinge(inputs), axis=1)
        return tf.math.log1p(margin_rank)

    def call(self, inputs: LossInputs) -> tf.Tensor:
        loss = _weighted_mean(self.per_positive(inputs), inputs.positive_weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


class BalancedWMRB(WMRB):
    """WMRB with each liked interaction weighted by ``1 / (its item's liked count)``.

    Popular items otherwise dominate the batch; balancing gives long-tail items an equal voice
    (more catalogue coverage, usually a little lower precision). Source: TensorRec's
    ``BalancedWMRBLossGraph`` idea on top of Liu & Natarajan (2017).
    """

    needs_item_counts = True
    autograph = False

    def call(self, inputs: LossInputs) -> tf.Tensor:
        weights = inputs.positive_weights / tf.maximum(inputs.item_counts, 1.0)
        loss = _weighted_mean(self.per_positive(inputs), weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


class BPR(Loss):
    """Bayesian Personalised Ranking: ``-log sigmoid(s_pos - s_sampled)`` over sampled items.

    Maximises the AUC of liked items against unobserved ones. Source: Rendle et al., "BPR:
    Bayesian Personalized Ranking from Implicit Feedback" (UAI 2009).
    """

    inputs = "sampled"
    needs_item_counts = False
    autograph = False
    embedding_recipe = True
    #: Validation splits of train, 20 epochs (ml-1m-all: 96 samples, 4096-like steps): NDCG@10
    #: at 0.2 / 0.15 / 0.1 / 0.07: ml-1m-all 0.2209 / 0.2249 / 0.2291 / 0.2328, ml-100k 0.1955
    #: / 0.1957 / 0.1968 / 0.1967.
    embedding_learning_rate = 0.07
    #: ml-1m-all's validation split (4096-like steps): NDCG@10 0.214 at 20 epochs, 0.205 at 15,
    #: 0.217 at 25 (LightFM-WARP 0.213); see :mod:`tensorrec_explore.defaults`.
    embedding_epochs = 20
    batch_grows_with_data = True
    large_catalogue_sampled_items = 96

    def call(self, inputs: LossInputs) -> tf.Tensor:
        pairwise = tf.nn.softplus(inputs.sampled_scores - inputs.positive_scores[:, None])
        per_positive = tf.math.divide_no_nan(
            tf.reduce_sum(pairwise * inputs.sampled_valid, axis=1),
            tf.reduce_sum(inputs.sampled_valid, axis=1),
        )
        loss = _weighted_mean(per_positive, inputs.positive_weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


class WARP(Loss):
    """WARP: sample items until one violates the margin; weight its hinge by ``L(rank)``.

    For each liked item, the sampled items are drawn in order (the user's liked items skipped)
    until the first whose score comes within the margin of 1 of the liked item's; after ``N``
    draws the liked item's rank is estimated as ``floor((n_items - 1) / N)`` and that one pair's
    hinge is weighted by ``L(rank) ~ log(rank) + 0.577`` (the harmonic number, treated as a
    constant). A liked item with no violator among the step's ``n_sampled_items`` draws (the cap)
    is already near the top and contributes nothing. Vectorised in the graph: the draws are the
    step's shared samples, the first violator is an ``argmax``. Source: Weston, Bengio &
    Usunier, "WSABIE: Scaling Up To Large Vocabulary Image Annotation" (IJCAI 2011); LightFM's
    ``warp`` loss.
    """

    inputs = "sampled"
    needs_item_counts = False
    autograph = False
    #: Measured on ml-100k (embedding towers, 15 epochs, rate decaying linearly): NDCG@10 0.263
    #: at 0.1 / l2 0.5 / 128 samples; 0.243 at 0.2; 0.238 with 64 samples; 0.18 at l2 1.0;
    #: 0.14 at the sampled default l2 0.005.
    embedding_recipe = True
    embedding_learning_rate = 0.1
    default_l2 = 0.5
    #: ml-100k's train split. ml-1m-all (133 likes per user): NDCG@10 0.341 at l2 0.5, 0.387 at
    #: the rule's 0.297.
    l2_likes_per_user = 47.0
    default_sampled_items = 128
    #: ml-1m-all's validation split (3,706 items): NDCG@10 0.2298 at 128 samples x 15 epochs,
    #: 0.2272 at 96 x 15, 0.2237 at 128 x 13, 0.2222 at 128 x 12, 0.2219 at 96 x 13 (LightFM-
    #: WARP 0.213), fit seconds 25.7 / 21.8 / 21.5 / 20.3 / 18.3: 96 x 13 keeps a 4% lead in
    #: quality at 0.71x the time.
    large_catalogue_sampled_items = 96
    large_catalogue_epochs = 13

    def call(self, inputs: LossInputs) -> tf.Tensor:
        hinge = _sampled_hinge(inputs)
        violating = hinge > 0
        first = tf.argmax(tf.cast(violating, tf.int32), axis=1, output_type=tf.int32)
        found = tf.cast(tf.reduce_any(violating, axis=1), hinge.dtype)
        # Valid draws up to the first violator (a masked sum, not a cumsum: XLA compiles a
        # cumsum to a quadratic reduce-window).
        up_to_first = tf.range(tf.shape(hinge)[1])[None, :] <= first[:, None]
        draws = tf.reduce_sum(tf.where(up_to_first, inputs.sampled_valid, 0.0), axis=1)
        rank = tf.floor((tf.cast(inputs.n_items, hinge.dtype) - 1.0) / tf.maximum(draws, 1.0))
        rank_weight = tf.stop_gradient(tf.math.log(tf.maximum(rank, 1.0)) + 0.5772)
        per_positive = found * rank_weight * tf.gather(hinge, first, batch_dims=1)
        loss = _weighted_mean(per_positive, inputs.positive_weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


class Logistic(Loss):
    """Binary cross-entropy: liked items labelled 1, sampled unobserved items labelled 0.

    Calibrated "probability of liking" scores. Source: logistic matrix factorisation (Johnson,
    "Logistic Matrix Factorization for Implicit Feedback Data", 2014); LightFM's ``logistic``.
    """

    inputs = "sampled"
    needs_item_counts = False
    autograph = False
    embedding_recipe = True
    #: ml-100k NDCG@10 (64 samples, the embedding recipe): 0.281 at 0.01, 0.257 at 0.005.
    default_l2 = 0.01
    #: Validation splits of train, 20 epochs (ml-1m-all: 96 samples, 4096-like steps): NDCG@10
    #: at 0.2 / 0.15 / 0.1 / 0.07 / 0.05: ml-1m-all 0.2218 / 0.2254 / 0.2288 / 0.2314 /
    #: 0.2321, ml-100k 0.1992 / 0.1987 / 0.1968 / 0.1927 / -: 0.1 gains 3.2% on the one and
    #: loses 1.2% on the other.
    embedding_learning_rate = 0.1
    #: ml-1m-all's validation split (4096-like steps): NDCG@10 0.219 at 25 epochs (LightFM-WARP
    #: 0.213; bpr, alike at 15 epochs, 0.214 at 20 and 0.217 at 25).
    embedding_epochs = 20
    batch_grows_with_data = True
    large_catalogue_sampled_items = 96

    def call(self, inputs: LossInputs) -> tf.Tensor:
        positive = tf.nn.softplus(-inputs.positive_scores)
        negative = tf.math.divide_no_nan(
            tf.reduce_sum(tf.nn.softplus(inputs.sampled_scores) * inputs.sampled_valid, axis=1),
            tf.reduce_sum(inputs.sampled_valid, axis=1),
        )
        loss = _weighted_mean(positive + negative, inputs.positive_weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


class SampledSoftmax(Loss):
    """Softmax of each liked item against in-batch and uniform negatives, log-Q corrected.

    The candidates of a step are the first ``k`` (``in_batch_candidates``) of the batch's liked
    items (drawn, in effect, in proportion to their like counts) and ``s`` uniformly sampled
    items; each candidate ``j``'s logit is lowered by ``log E_j``, its expected count among the
    step's candidates (``E_j = k * likes_j / likes + s / n_items``), which removes the sampling
    bias towards popular items (the logQ correction), so the loss estimates the full softmax. A
    candidate equal to the row's own liked item (an accidental hit) is masked out; the user's
    other likes stay negatives, as in the dense softmax. An epoch costs O(interactions x
    (k + s)) instead of the dense softmax's O(users x items). Sources: Yi et al.,
    "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations" (RecSys
    2019), TFRS's ``Retrieval`` task; Yang et al., "Mixed Negative Sampling" (WWW 2020); Jean et
    al. (ACL 2015).
    """

    inputs = "sampled"
    needs_item_counts = False
    autograph = False
    in_batch_negatives = True
    in_batch_candidates = SOFTMAX_IN_BATCH_CANDIDATES
    default_sampled_items = SOFTMAX_SAMPLED_ITEMS
    default_batch_size = SOFTMAX_SAMPLED_BATCH
    #: Larger data take larger batches (up to 2048 likes): each like still meets only
    #: ``in_batch_candidates`` of them, and each step's fixed cost is paid fewer times; on
    #: ml-1m-all they also learned more (``benchmarks/README.md``, "Session 9").
    batch_grows_with_data = True
    largest_default_batch = SOFTMAX_SAMPLED_BATCH_MAX
    #: Its penalty on the step's representations (as the other sampled losses'), not the
    #: sampled losses' 0.005, which left it far below the dense softmax: validation NDCG@10
    #: ml-100k 0.2229 against 0.1636, ml-1m-all (0.06 scaled to 0.036) 0.2418-0.2438 at
    #: 0.03-0.04 against 0.2006 (``benchmarks/README.md``, "Session 9").
    default_l2 = 0.06
    l2_likes_per_user = 47.0
    #: The dense softmax this loss estimates keeps a user's other liked items in each like's
    #: denominator; only the like's own item (an accidental hit) is not a negative, as in TFRS's
    #: retrieval task and Yi et al. 2019. Masking every like of the user was measured worse on
    #: ml-100k and costs a look-up in the liked pairs per (like, candidate) pair
    #: (``benchmarks/README.md``, "Session 6").
    accidental_hits_only = True

    def call(self, inputs: LossInputs) -> tf.Tensor:
        # log-sum-exp of the row minus its first logit (the liked item's, rebuilt here so its
        # gradient is not a [p, 1 + p + s] slice gradient): -log_softmax(logits)[:, 0].
        positive = inputs.positive_scores - inputs.batch_log_q
        per_positive = tf.reduce_logsumexp(corrected_logits(inputs), axis=1) - positive
        loss = _weighted_mean(per_positive, inputs.positive_weights)
        return loss + self.dislike_weight * self.dislike_term(inputs)


def corrected_logits(inputs: LossInputs) -> tf.Tensor:
    """Return the log-Q corrected logits of :class:`SampledSoftmax`.

    Parameters
    ----------
    inputs : LossInputs
        A ``"sampled"`` batch with in-batch negatives (``batch_scores``, ``batch_valid``,
        ``batch_log_q``, ``sampled_log_q``).

    Returns
    -------
    tf.Tensor
        ``[p, 1 + k + s]``: each liked item, then the ``k`` in-batch and ``s`` uniform
        candidates, each minus its ``log_q``; invalid candidates (``batch_valid`` /
        ``sampled_valid`` 0) at -1e9.
    """
    batch_log_q = inputs.batch_log_q
    positive = inputs.positive_scores - batch_log_q
    in_batch = inputs.batch_scores - batch_log_q[None, : tf.shape(inputs.batch_scores)[1]]
    sampled = inputs.sampled_scores - inputs.sampled_log_q[None, :]
    return tf.concat(
        [
            positive[:, None],
            in_batch + (inputs.batch_valid - 1.0) * 1e9,
            sampled + (inputs.sampled_valid - 1.0) * 1e9,
        ],
        axis=1,
    )


class Softmax(Loss):
    """Softmax cross-entropy of each user's liked items over the whole catalogue.

    ``-mean_{liked (u, i)} log(exp(s_ui) / sum_j exp(s_uj))`` over the batch's liked
    interactions: every unobserved item is a negative,
    so it learns a full ranking; the strongest default on MovieLens in our measurements. Its
    ``sampled_variant`` is :class:`SampledSoftmax`, which the model trains with when
    ``n_sampled_items`` asks for it or the catalogue is large. Source: Covington et al., "Deep
    Neural Networks for YouTube Recommendations" (RecSys 2016); Jean et al. (ACL 2015) for the
    sampled form.
    """

    needs_item_counts = False
    autograph = False
    sampled_variant = SampledSoftmax
    density_scaled_l2 = True
    embedding_recipe = True
    #: Below the recipe's 0.2: the best of 0.07-0.3 at 64 components on validation splits of
    #: both ml-100k and ml-1m-all, and away from the rate at which the softmax collapses on
    #: ml-1m-all (0.3, or 0.2 with 128 components); see ``benchmarks/README.md``, "Session 5".
    #: Used with a given ``n_components`` and by the sampled form.
    embedding_learning_rate = 0.15
    #: At the default width: 128 components, 0.05 falling over 30 epochs (``benchmarks/
    #: README.md``, "Session 6"; :data:`~tensorrec_explore.defaults.DENSE_SOFTMAX_RECIPE`).
    dense_recipe = DENSE_SOFTMAX_RECIPE
    #: Measured on ml-100k with +1/-1 feedback (Adam 0.03 x 40): 2 ranks dislikes at percentile
    #: 0.31 (unobserved 0.49) while liked items stay at 0.85 (1: dislikes barely below; 4: liked
    #: fall to 0.73). With the embedding recipe (20 epochs): 0.36 / 0.49 / 0.84.
    dislike_weight = 2.0

    def call(self, inputs: LossInputs) -> tf.Tensor:
        liked = tf.cast(inputs.targets > 0, inputs.scores.dtype) * inputs.weights
        log_probabilities = tf.nn.log_softmax(inputs.scores, axis=1)
        # Mean over liked interactions (not per user first): every like counts the same, as in
        # Mult-VAE's multinomial likelihood; a per-user mean under-weights active users.
        loss = _weighted_mean(-log_probabilities, liked)
        return loss + self.dislike_weight * self.dislike_term(inputs)


def make_loss(spec: Any) -> Loss:
    """Return the loss a setting names.

    Parameters
    ----------
    spec : str, type or Loss instance
        A registry name, a class (instantiated without arguments) or an instance.

    Returns
    -------
    Loss
        A callable loss whose ``inputs`` is ``"dense"``, ``"sampled"`` or ``"observed"``.

    Raises
    ------
    UnknownPluginError
        For an unknown name (the message lists the valid ones).
    InputError
        For an object that is not callable or declares no valid ``inputs``.
    """
    from .registry import LOSSES

    if isinstance(spec, str):
        spec = LOSSES.get(spec)
    if isinstance(spec, type):
        spec = spec()
    if not callable(spec) or getattr(spec, "inputs", None) not in INPUT_KINDS:
        raise InputError(
            f"loss must be a registry name or a Loss with inputs in {INPUT_KINDS}; got {spec!r}."
        )
    return spec


def needs_item_counts(loss: Any) -> bool:
    """Return True when training ``loss`` needs each item's liked count.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Read through its declared attributes (missing ones take the :class:`Loss` defaults).

    Returns
    -------
    bool
        True for a ``"sampled"`` loss that declares ``needs_item_counts`` or sets
        ``in_batch_negatives`` (whose ``log_q`` comes from the counts); False otherwise, as no
        other kind of input receives the counts.
    """
    if loss.inputs != "sampled":
        return False
    return bool(
        getattr(loss, "needs_item_counts", CODE_ATTRIBUTES["needs_item_counts"])
        or getattr(loss, "in_batch_negatives", False)
    )


def check_weights_used(loss: Any, name: str) -> None:
    """Refuse sample weights for a loss whose ``call`` does not read them.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``uses_weights`` attribute is read (absent: True).
    name : str
        The loss's name in the message.

    Raises
    ------
    InputError
        ``loss`` declares ``uses_weights = False``.
    """
    if not getattr(loss, "uses_weights", CODE_ATTRIBUTES["uses_weights"]):
        raise InputError(
            f"The {name} loss does not use sample_weight (it compares every pair of a batch or "
            "the score distributions, not weighted pairs); drop sample_weight, or use a loss "
            "that weights pairs: softmax, wmrb, bpr, warp, logistic or rmse."
        )


def uses_autograph(loss: Any) -> bool:
    """Return the ``autograph`` flag to trace ``loss``'s training step with.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``autograph`` attribute is read; a loss that has none gets True (safe for Python
        control flow on tensors).

    Returns
    -------
    bool
        Whether ``tf.function`` should convert the step with autograph.
    """
    return bool(getattr(loss, "autograph", CODE_ATTRIBUTES["autograph"]))


def disliked_sampled(scores: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    """Return ``disliked_sampled_scores``: ``scores`` of the items dislikes are compared with,
    those the user interacted with (``valid`` 0) set to +1e4, so they add nothing to
    :meth:`Loss.dislike_term`'s penalty.

    Parameters
    ----------
    scores : tf.Tensor
        ``[q, s]`` scores of the disliking users on the sampled items.
    valid : tf.Tensor
        ``[q, s]`` float: 1 where the sampled item is unobserved by the user, 0 otherwise.

    Returns
    -------
    tf.Tensor
        ``[q, s]`` scores, invalid ones replaced by +1e4.
    """
    return scores * valid + (valid - 1.0) * -1e4


def has_sampled_form(loss: Any) -> bool:
    """Return True when ``loss`` (an object or a class) is a ``"dense"`` loss declaring a
    ``sampled_variant`` (read from the class: a function would bind to an object)."""
    owner = loss if isinstance(loss, type) else type(loss)
    return (
        getattr(owner, "sampled_variant", None) is not None
        and getattr(loss, "inputs", None) == "dense"
    )


def in_sampled_form(loss: Any, wanted: bool) -> Any:
    """Return ``loss``'s declared sampled variant when ``wanted``, else ``loss`` itself.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Switched only when its ``inputs`` is ``"dense"`` and it declares a ``sampled_variant``.
    wanted : bool
        Whether the data or the model's settings call for the sampled form (the caller's rule,
        e.g. :func:`tensorrec_explore.defaults.use_sampled_softmax`).

    Returns
    -------
    Loss
        A new instance of the sampled variant, or ``loss`` unchanged.

    Raises
    ------
    InputError
        When the declared variant does not build a loss whose ``inputs`` is ``"sampled"``.
    """
    if not wanted or not has_sampled_form(loss):
        return loss
    variant = type(loss).sampled_variant
    sampled = variant()
    if getattr(sampled, "inputs", None) != "sampled" or not callable(sampled):
        raise InputError(
            f"{type(loss).__name__}.sampled_variant must build a loss whose inputs is "
            f"'sampled'; {variant!r} built {sampled!r}."
        )
    return sampled
