"""The training settings a model uses when the caller leaves them as None.

Two recipes, chosen from the model's parts; the measurements behind every choice here are in
``benchmarks/README.md``, "Figures behind design choices (training defaults)":

* :data:`EMBEDDING_RECIPE` — the softmax, BPR, logistic, WARP or WMRB loss over
  *embedding-like* towers on both sides (a sum of one vector per feature, no hidden layer:
  ``linear``; ``pass_through``, which has no weights, also qualifies). Such tables take Adam's
  large steps, so the rate starts at 0.2 (softmax 0.15, WARP 0.1 and WMRB 0.05: their
  ``embedding_learning_rate``; the softmax's chosen on validation splits of train) and falls
  linearly to 0 over 15 epochs (as good as a constant small rate over 40).
* :data:`STANDARD_RECIPE` — everything else (deep or custom towers; rmse, separation): Adam
  at a constant 0.03 for 40 epochs. Deep towers diverge from good solutions at the embedding
  rate.

The L2 default lives here too: ``0.07 / sqrt(mean likes per user)`` for losses whose penalty is
per liked interaction (the softmax), a loss's own
``default_l2`` when it sets one (wmrb 0.1, warp 0.5, logistic 0.01), 0.005 for the other sampled
losses (on the step's representations), 1e-4 for the observed-pair ones (on every weight). A loss
declaring ``l2_likes_per_user`` (wmrb and warp: 47, ml-100k's) has its own default scaled by
``sqrt(l2_likes_per_user / mean likes per user)`` on denser data: on ml-1m-all (133 likes per
user) WMRB and WARP gain 0.06 and 0.05 NDCG@10 that way (logistic, tried, does not).

Sampled losses draw :func:`sampled_items` items per step (64 unless the loss sets its own:
every (like, sample) pair costs a score and its gradient, and the epoch's cost grows with
likes x samples) over batches of :data:`SAMPLED_BATCH` likes.

Dense or sampled softmax (:func:`use_sampled_softmax`): the dense softmax scores every user
against every item each epoch (``users x items`` scores); the sampled softmax scores each like
against the batch's likes and :data:`SOFTMAX_SAMPLED_ITEMS` uniform items (``likes x (batch +
samples)`` pairs, each costing about :data:`SAMPLED_PAIR_COST` dense scores). The default is the
cheaper of the two, and always the sampled one above :data:`FULL_SOFTMAX_LIMIT` items. At ~40
likes per user the pair count alone favours the sampled form only from ~70,000 items, so the
item limit decides; with few likes per user (sparse data) the sampled form starts earlier.
MovieLens (ml-100k, ml-1m) stays dense.

The sampled softmax's own recipe (reasons; figures in ``benchmarks/README.md``, "Session 6"):
batches of :data:`SOFTMAX_SAMPLED_BATCH` (256) likes, not :data:`SAMPLED_BATCH`: every like is
compared with every like of its batch, so a smaller batch costs less per epoch and, with four
times the steps, learned more per epoch on ml-100k; only *accidental hits* (a candidate equal to
the like's own item) are removed from the candidates (``SampledSoftmax.accidental_hits_only``),
which is the dense softmax's denominator (a user's other likes compete there too), measured
better, and an id comparison instead of a look-up in the liked pairs. Tables over
:data:`~tensorrec_explore.fused_adam.LAZY_ADAM_VALUES` values (a 25,000 x 64 user table
included) take row-wise Adam steps. Even so, at 10^6 likes over 10^5 items an epoch still costs
more than LightFM-WARP's: the scaling target is not met there yet. :data:`SAMPLED_PAIR_COST` was
measured before these changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

#: ``l2`` for losses with ``density_scaled_l2``: ``DENSE_L2_SCALE / sqrt(mean likes per user)``.
DENSE_L2_SCALE = 0.07
#: ``l2`` for sampled losses (a penalty on the step's representations, see
#: ``Objective.sampled_regularization``): the best measured for BPR / logistic.
SAMPLED_L2 = 0.005
#: ``l2`` for the observed-pair losses (rmse, separation; a penalty on every weight).
OTHER_L2 = 1e-4
#: Items sampled per step by sampled losses that set no ``default_sampled_items`` (bpr,
#: logistic): fewer learn much less, more cost more per epoch than they add.
SAMPLED_ITEMS = 64
#: Liked interactions per step of the sampled losses when ``batch_size`` is None: larger batches
#: cost no less per epoch (the work grows with likes x samples) and learn less.
SAMPLED_BATCH = 1024
#: Uniform items per step of the sampled softmax (besides the batch's own liked items).
SOFTMAX_SAMPLED_ITEMS = 128
#: Liked interactions per step of the sampled softmax when ``batch_size`` is None: each like is
#: compared with the batch's likes and the uniform items, so an epoch costs
#: ``likes x (batch + SOFTMAX_SAMPLED_ITEMS)`` scores; 256 costs a third of 1024's per epoch and
#: learns more per epoch (more steps).
SOFTMAX_SAMPLED_BATCH = 256
#: Seconds per (user, candidate) pair of a sampled-softmax epoch over those per (user, item)
#: score of a dense-softmax epoch (measured).
SAMPLED_PAIR_COST = 1.5
#: Catalogues larger than this use the sampled softmax when ``n_sampled_items`` is None; dense
#: losses refuse catalogues over 4x this (every step scores users x all items).
FULL_SOFTMAX_LIMIT = 50_000


@dataclass(frozen=True)
class Recipe:
    """Adam's starting rate, how it changes over a fit call's epochs, and how many epochs."""

    learning_rate: float
    schedule: str
    epochs: int


EMBEDDING_RECIPE = Recipe(learning_rate=0.2, schedule="linear", epochs=15)
STANDARD_RECIPE = Recipe(learning_rate=0.03, schedule="constant", epochs=40)


def recipe_for(loss: Any, user_representation: Any, item_representation: Any) -> Recipe:
    """Return the recipe for a loss object and the two (built) representation objects."""
    embeddings = all(
        getattr(layer, "embedding_like", False)
        for layer in (user_representation, item_representation)
    )
    if embeddings and getattr(loss, "embedding_recipe", False):
        rate = getattr(loss, "embedding_learning_rate", None)
        return (
            EMBEDDING_RECIPE
            if rate is None
            else Recipe(float(rate), EMBEDDING_RECIPE.schedule, EMBEDDING_RECIPE.epochs)
        )
    return STANDARD_RECIPE


def sampled_items(loss: Any, n_items: int, given: int | None) -> int:
    """Return the items a sampled loss draws per step: ``given``, else the loss's
    ``default_sampled_items``, else :data:`SAMPLED_ITEMS`; never more than the catalogue."""
    if given is None:
        given = getattr(loss, "default_sampled_items", None) or SAMPLED_ITEMS
    return int(min(given, n_items))


def sampled_batch(loss: Any, given: int | None) -> int:
    """Return the liked interactions per step of a sampled loss.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``default_batch_size`` is read (None or absent: :data:`SAMPLED_BATCH`).
    given : int or None
        The model's ``batch_size``.

    Returns
    -------
    int
        ``given``, else the loss's ``default_batch_size``, else :data:`SAMPLED_BATCH`.
    """
    return int(given or getattr(loss, "default_batch_size", None) or SAMPLED_BATCH)


def use_sampled_softmax(n_users: int, n_items: int, n_likes: int, given: int | None) -> bool:
    """Return True when the softmax (or any dense loss declaring a ``sampled_variant``) should
    train in its sampled form (see the module doc).

    ``given`` (the model's ``n_sampled_items``) below the catalogue size asks for it; left as
    None, the sampled form is chosen when the dense one's ``users x items`` scores per epoch
    exceed :data:`SAMPLED_PAIR_COST` times the sampled one's
    ``likes x (SOFTMAX_SAMPLED_BATCH + SOFTMAX_SAMPLED_ITEMS)`` pairs, or the catalogue exceeds
    :data:`FULL_SOFTMAX_LIMIT`.
    """
    if given is not None:
        return given < n_items
    sampled_pairs = n_likes * (SOFTMAX_SAMPLED_BATCH + SOFTMAX_SAMPLED_ITEMS)
    return n_items > FULL_SOFTMAX_LIMIT or n_users * n_items > SAMPLED_PAIR_COST * sampled_pairs


def learning_rate_at(rate: float, schedule: str, epoch: int, epochs: int) -> float:
    """Return the rate of epoch ``epoch`` (0-based) of ``epochs`` starting at ``rate``."""
    return rate * (1.0 - epoch / epochs) if schedule == "linear" else rate


def default_l2(loss: Any, interactions: sp.csr_matrix) -> float:
    """Return the default L2 weight for ``loss`` on ``interactions``.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``default_l2``, ``l2_likes_per_user``, ``density_scaled_l2`` and ``inputs`` are read.
    interactions : scipy.sparse.csr_matrix
        The training interactions (> 0 = liked); an empty matrix (a stream) leaves a loss's
        own ``default_l2`` unscaled.

    Returns
    -------
    float
        The loss's ``default_l2`` (times ``sqrt(l2_likes_per_user / mean likes per user)`` on
        data denser than the loss declares it was measured at; sparser data, not measured, keep
        the default), else its kind's default (see the module doc).
    """
    own = getattr(loss, "default_l2", None)
    if own is not None:
        measured_at = getattr(loss, "l2_likes_per_user", None)
        per_user = _likes_per_user(interactions)
        if measured_at is None or per_user <= measured_at:
            return float(own)
        return float(own) * float(np.sqrt(measured_at / per_user))
    if loss.inputs == "sampled":
        return SAMPLED_L2
    if not getattr(loss, "density_scaled_l2", False):
        return OTHER_L2
    return DENSE_L2_SCALE / float(np.sqrt(max(_likes_per_user(interactions), 1.0)))


def _likes_per_user(interactions: sp.csr_matrix) -> float:
    """Mean liked interactions per user with at least one (0 without likes)."""
    likes = interactions.data > 0
    rows = np.repeat(np.arange(interactions.shape[0]), np.diff(interactions.indptr))
    return float(likes.sum() / max(np.unique(rows[likes]).size, 1))
