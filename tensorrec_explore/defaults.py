"""The training settings a model uses when the caller leaves them as None.

Three recipes, chosen from the model's parts; the measurements behind every choice here are in
``benchmarks/README.md`` (sections "Session 5" and "Session 6"):

* :data:`DENSE_SOFTMAX_RECIPE` — the default model: the softmax trained dense (every user
  against the whole catalogue) over embedding-like towers, with ``n_components`` left as None:
  128 components, Adam from 0.05 falling linearly to 0 over 30 epochs. Width, rate and epochs
  were chosen together on validation splits of *train* (never test) of ml-100k and ml-1m-all,
  where this beats EASE and session 5's 64 x 0.15 x 15: a wider table learns more, but only at
  a lower rate over more epochs (wide tables collapse at 0.15-0.2 on ml-1m-all). 256 x 0.03 x
  30 was as good on ml-100k and marginally better on ml-1m-all, at a fit ~1.5x longer (on
  ml-100k as long as LightFM-WARP's); 512 components, 40 epochs, a cosine or warm-up schedule,
  another L2 scale or item weight, no biases, smaller batches and a user tower summing the
  user's liked items (NSVD-style features) gained nothing on both. A given ``n_components``
  keeps the embedding recipe below (its rate was chosen at 64 components), as does the sampled
  form of the softmax (large catalogues), whose cost per pair grows with the width.
* :data:`EMBEDDING_RECIPE` — the softmax, BPR, logistic, WARP or WMRB loss over
  *embedding-like* towers on both sides (a sum of one vector per feature, no hidden layer:
  ``linear``; ``pass_through``, which has no weights, also qualifies). Such tables take Adam's
  large steps, so the rate starts at 0.2 (softmax 0.15, WARP and logistic 0.1, bpr 0.07, WMRB
  0.05: their ``embedding_learning_rate``, chosen on validation splits of train) and falls
  linearly to 0 over 15 epochs (as good as a constant small rate over 40; bpr, logistic and
  wmrb: 20, their ``embedding_epochs``; on large catalogues see below).
* :data:`STANDARD_RECIPE` — everything else (deep or custom towers; rmse, separation): Adam
  at a constant 0.03 for 40 epochs. Deep towers diverge from good solutions at the embedding
  rate.

The L2 default lives here too: ``0.07 / sqrt(mean likes per user)`` for losses whose penalty is
per liked interaction (the softmax), a loss's own
``default_l2`` when it sets one (wmrb 0.1, warp 0.5, the sampled softmax 0.06, logistic 0.01),
0.005 for the other sampled losses (on the step's representations), 1e-4 for the observed-pair
ones (on every weight). A loss declaring ``l2_likes_per_user`` (wmrb, warp and the sampled
softmax: 47, ml-100k's) has its own default scaled by ``sqrt(l2_likes_per_user / mean likes per
user)`` on denser data: on ml-1m-all (133 likes per user) WMRB and WARP gain 0.06 and 0.05
NDCG@10 that way (logistic, tried, does not), and the sampled softmax is best near the scaled
0.036 (validation 0.2418 at 0.03, 0.2438 at 0.04, 0.2168 at 0.08).

Sampled losses draw :func:`sampled_items` items per step (64 unless the loss sets its own: every
(like, sample) pair costs a score and its gradient, and the epoch's cost grows with likes x
samples). From :data:`LARGE_CATALOGUE_ITEMS` (2,500) items, over embedding towers and when
``n_sampled_items`` is not given, a loss's ``large_catalogue_sampled_items`` apply (and its
``large_catalogue_epochs``): uniform draws find fewer of the items a like must be ranked above
in a larger catalogue. bpr and logistic draw 96: on ml-1m-all (3,706 items) validation NDCG@10
bpr 0.2209 / logistic 0.2218 against 0.2135 / 0.2172 at 64 (128: 0.2261 / 0.2243, but 55% more
time per epoch), test 0.372 / 0.365 against 0.367 / 0.363, at 0.96 / 1.11 times the fit time
(one run each); on ml-100k (1,682 items) 96 gained 1.3-1.8% on validation for 5-18% more time,
where the fit is already slower than LightFM's, so 64 stays. wmrb draws 128 over 12 epochs
instead of 64 over 20 (ml-1m-all validation 0.2281 against 0.2141, about 10% less time; the
other counts measured are on ``WMRB``). warp draws 96 over 13 epochs instead of 128 over 15
(validation 0.2219 against 0.2298, LightFM-WARP 0.213, in 0.71x the time: ``WARP``). Samples are
drawn over batches of :func:`sampled_batch` likes: :data:`SAMPLED_BATCH` (1024); for losses
declaring ``batch_grows_with_data`` (bpr, logistic) doubled up to :data:`SAMPLED_BATCH_MAX`
(4096) while an epoch keeps :data:`SAMPLED_MIN_STEPS` steps. A step pays a fixed cost besides
its per-like work (Adam on the whole user and item tables, the towers' dense gradients): on
ml-1m-all (800,000 likes) 4096-like steps cut a bpr fit's CPU time by a quarter (validation
split, 15 epochs: 41.8 vs 55.9 CPU s, NDCG@10 0.205 vs 0.207); on ml-100k (44,000 likes, 43
steps of 1024) larger batches leave too few steps and learn far less. WARP and WMRB lose quality
with them (ml-1m-all test NDCG@10 0.364 / 0.343 at 4096 against 0.387 / 0.353 at 1024) and keep
1024; the sampled softmax's in-batch negatives cost ``batch x batch`` pairs (its own batch:
below). A stream (``fit_stream``) keeps the loss's base batch unless a first pass counted its
likes (losses reading item counts, e.g. the sampled softmax; not with ``steps_per_epoch``).
A loss that needs more passes than the recipe's 15 declares ``embedding_epochs``: bpr, logistic
and wmrb 20 (ml-1m-all validation NDCG@10: bpr 0.214 at 4096 x 20 epochs, 0.217 x 25, 0.207 at
the former 1024 x 15; logistic 0.219 x 25; wmrb 0.215 at 1024 x 20, 0.208 x 15; LightFM-WARP
0.213).

Levers measured and not taken (``benchmarks/README.md``, "The sampled losses, session 6"): hard
negatives for bpr (the highest-scoring of each group of 2, 4 or 8 samples) reach NDCG@10 0.175 /
0.147 / 0.131 on ml-100k's validation split against uniform samples' 0.188 (the highest of all
64: 0.140 against 0.274 on test); a higher starting rate for the larger batches (0.3) loses too.

XLA: from :data:`XLA_MIN_LIKES` likes each sampled step (forward, backward and Adam's update) is
compiled by XLA (``training.compiles_with_xla`` says where it can be), which fuses the
element-wise work of the ``likes x samples`` scores and of Adam: on ml-1m-all an epoch takes
45-50% less (bpr 2.20 -> 1.22 s, wmrb -> 1.75 s, warp 4.73 -> 2.37 s), and the sampled softmax
at 10^6 likes x 10^5 items 8.8 -> 5.8 s. The first compilation in a process costs 1-3 s and
each step's launch ~1 ms, so on ml-100k (44,000 likes) a whole fit is slower with it. Compiling
the whole epoch instead compiles for 5-6 s and runs no faster. A stream (``fit_stream``) whose
first pass counted that many likes compiles its batches of likes only the same way: 10^7
streamed likes over 10^5 items, the sampled softmax 61.4 -> 36.9 s per epoch, WMRB (8,192 x
512) 141.8 -> 74.9 s.

Dense or sampled softmax (:func:`use_sampled_softmax`): the dense softmax scores every user
against every item each epoch (``users x items`` scores); the sampled softmax scores each like
against the batch's likes and :data:`SOFTMAX_SAMPLED_ITEMS` uniform items (``likes x (batch +
samples)`` pairs, each costing about :data:`SAMPLED_PAIR_COST` dense scores). The default is the
cheaper of the two, and always the sampled one above :data:`FULL_SOFTMAX_LIMIT` items. At ~40
likes per user the pair count alone favours the sampled form only from ~70,000 items, so the
item limit decides; with few likes per user (sparse data) the sampled form starts earlier.
MovieLens (ml-100k, ml-1m) stays dense.

The sampled softmax's own recipe (reasons; figures in ``benchmarks/README.md``, "Session 6" and
"Session 9"): each like is compared with the first :data:`SOFTMAX_IN_BATCH_CANDIDATES` (128)
likes of its batch (``Loss.in_batch_candidates``) and :data:`SOFTMAX_SAMPLED_ITEMS` (32)
uniform items, so a like's cost does not grow with the batch. Batches start at
:data:`SOFTMAX_SAMPLED_BATCH` (256) likes: on ml-100k (44,000 likes) more steps learned more per
epoch. Larger data double them (``batch_grows_with_data``, while an epoch keeps
:data:`SAMPLED_MIN_STEPS` steps) up to :data:`SOFTMAX_SAMPLED_BATCH_MAX` (2048), which pays
each step's fixed cost (the compiled call, the row-wise Adam) fewer times. On ml-1m-all with the
sampled form forced (800,000 likes, validation split of train) 2048-like batches reached
NDCG@10 0.2006 against 0.1912 for the former 256 likes x (256 in-batch + 128 uniform), both at
the L2 of 0.005 it had then (0.2435 with its own, above), and at 10^6 likes over 10^5 items an
epoch takes 2.0 s instead of 5.0-5.4 s (64 uniform items then). With its own L2, 32 uniform
items learn as much as 64 (0.2439 / 0.2435; ml-100k 0.2222 / 0.2229) for ~7% less per epoch;
96 in-batch candidates lose 1-2%. More candidates learn more per epoch at more cost (2048 x
(256 + 128): 0.2102, ~3 s per epoch at 10^6); 20 epochs instead of 15 reach 0.2086 on
ml-1m-all but lose 3% on ml-100k. Only *accidental hits* (a
candidate equal to the like's own item) are removed from the candidates
(``SampledSoftmax.accidental_hits_only``), which is the dense softmax's denominator (a user's
other likes compete there too), measured better, and an id comparison instead of a look-up in
the liked pairs. Tables over :data:`~tensorrec_explore.fused_adam.LAZY_ADAM_VALUES` values or
:data:`~tensorrec_explore.fused_adam.LAZY_ADAM_ROWS` rows (a 25,000 x 64 user table, a
100,000-item bias) take row-wise Adam steps. :data:`SAMPLED_PAIR_COST` was measured before
these changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
#: logistic, wmrb): fewer learn much less, more cost more per epoch than they add.
SAMPLED_ITEMS = 64
#: From this many items, losses declaring ``large_catalogue_sampled_items`` (bpr, logistic and
#: warp 96, wmrb 128) draw that many (see the module doc): between ml-100k's 1,682 items and
#: ml-1m's 3,706.
LARGE_CATALOGUE_ITEMS = 2_500
#: Liked interactions per step of the sampled losses when ``batch_size`` is None, on data of up
#: to ``2 * SAMPLED_BATCH * SAMPLED_MIN_STEPS`` likes: on small data larger batches cost little
#: less per epoch (the work grows with likes x samples) and learn less (too few steps).
SAMPLED_BATCH = 1024
#: Largest default batch of :func:`sampled_batch` (larger data: each step's fixed cost, e.g.
#: Adam on the whole user and item tables, is paid by fewer steps per epoch).
SAMPLED_BATCH_MAX = 4096
#: :func:`sampled_batch` doubles the batch while an epoch keeps at least this many steps.
SAMPLED_MIN_STEPS = 100
#: Sampled losses on at least this many likes compile each step (forward, backward, Adam)
#: with XLA (:func:`tensorrec_explore.training.compiles_with_xla`): measured in
#: ``benchmarks/README.md``, "Figures behind design choices (training defaults)".
XLA_MIN_LIKES = 200_000
#: Uniform items per step of the sampled softmax (besides its in-batch candidates).
SOFTMAX_SAMPLED_ITEMS = 32
#: In-batch candidates of the sampled softmax: the first this many likes of a batch
#: (``Loss.in_batch_candidates``), so a larger batch costs each like no more scores.
SOFTMAX_IN_BATCH_CANDIDATES = 128
#: Liked interactions per step of the sampled softmax when ``batch_size`` is None, on data of
#: up to ``2 * SOFTMAX_SAMPLED_BATCH * SAMPLED_MIN_STEPS`` likes (ml-100k: more steps learn
#: more there); doubled on larger data up to :data:`SOFTMAX_SAMPLED_BATCH_MAX`.
SOFTMAX_SAMPLED_BATCH = 256
#: The sampled softmax's largest default batch (4096 learned less on ml-1m-all).
SOFTMAX_SAMPLED_BATCH_MAX = 2048
#: Seconds per (user, candidate) pair of a sampled-softmax epoch over those per (user, item)
#: score of a dense-softmax epoch (measured).
SAMPLED_PAIR_COST = 1.5
#: Catalogues larger than this use the sampled softmax when ``n_sampled_items`` is None; dense
#: losses refuse catalogues over 4x this (every step scores users x all items).
FULL_SOFTMAX_LIMIT = 50_000


#: The representations' width when ``n_components`` is None and no wider recipe applies.
DEFAULT_COMPONENTS = 64


@dataclass(frozen=True)
class Recipe:
    """Adam's starting rate, how it changes over a fit call's epochs, how many epochs, and the
    representations' width used when ``n_components`` is None."""

    learning_rate: float
    schedule: str
    epochs: int
    n_components: int = DEFAULT_COMPONENTS


EMBEDDING_RECIPE = Recipe(learning_rate=0.2, schedule="linear", epochs=15)
STANDARD_RECIPE = Recipe(learning_rate=0.03, schedule="constant", epochs=40)
#: The dense softmax over embedding towers at the default width: 128 components, Adam from 0.05
#: falling linearly to 0 over 30 epochs (chosen together on validation splits of train).
DENSE_SOFTMAX_RECIPE = Recipe(learning_rate=0.05, schedule="linear", epochs=30, n_components=128)


def recipe_for(
    loss: Any,
    user_representation: Any,
    item_representation: Any,
    n_components: int | None = None,
    dense: bool = True,
    large_catalogue: bool = False,
) -> Recipe:
    """Return the recipe for a loss and two representations (objects or classes).

    Parameters
    ----------
    loss : Loss or duck-typed loss (object or class)
        Its ``embedding_recipe``, ``embedding_learning_rate``, ``embedding_epochs`` and
        ``dense_recipe`` are read.
    user_representation, item_representation : layer objects or classes
        Their ``embedding_like`` is read.
    n_components : int, optional
        The model's ``n_components`` setting; None (the default width) lets a loss's
        ``dense_recipe`` apply, whose rate and epochs were chosen together with its width.
    dense : bool, default True
        False when a dense loss trains in its sampled form (``dense_recipe`` does not apply).
    large_catalogue : bool, default False
        True when the loss's :func:`large_catalogue_samples` apply: its
        ``large_catalogue_epochs``, if set, replace ``embedding_epochs``.

    Returns
    -------
    Recipe
        ``dense_recipe`` (the softmax: :data:`DENSE_SOFTMAX_RECIPE`) for a loss declaring one,
        over embedding-like towers, trained dense at the default width; else
        :data:`EMBEDDING_RECIPE` (at the loss's ``embedding_learning_rate`` if it sets one) for
        a loss declaring ``embedding_recipe`` over such towers (at its ``embedding_epochs``
        if it sets them); else :data:`STANDARD_RECIPE`.
        Its ``n_components`` is the given width when there is one.
    """
    recipe = STANDARD_RECIPE
    embeddings = embedding_towers(user_representation, item_representation)
    if embeddings and getattr(loss, "embedding_recipe", False):
        own = getattr(loss, "dense_recipe", None)
        rate = getattr(loss, "embedding_learning_rate", None)
        if own is not None and dense and n_components is None:
            recipe = own
        else:
            epochs = getattr(loss, "embedding_epochs", None)
            if large_catalogue:
                epochs = getattr(loss, "large_catalogue_epochs", None) or epochs
            recipe = replace(
                EMBEDDING_RECIPE,
                learning_rate=EMBEDDING_RECIPE.learning_rate if rate is None else float(rate),
                epochs=EMBEDDING_RECIPE.epochs if epochs is None else int(epochs),
            )
    return recipe if n_components is None else replace(recipe, n_components=int(n_components))


def embedding_towers(*layers: Any) -> bool:
    """Return True when every representation layer (object or class) is ``embedding_like``."""
    return all(getattr(layer, "embedding_like", False) for layer in layers)


def large_catalogue_samples(loss: Any, n_items: int, given: int | None) -> int | None:
    """Return the loss's ``large_catalogue_sampled_items`` when they apply (``given``, the
    model's ``n_sampled_items``, is None and the catalogue has at least
    :data:`LARGE_CATALOGUE_ITEMS` items), else None. The caller checks the towers."""
    if given is not None or n_items < LARGE_CATALOGUE_ITEMS:
        return None
    return getattr(loss, "large_catalogue_sampled_items", None)


def sampled_items(loss: Any, n_items: int, given: int | None, embeddings: bool = True) -> int:
    """Return the items a sampled loss draws per step: ``given``, else (over embedding towers,
    ``embeddings``) the loss's :func:`large_catalogue_samples`, else its
    ``default_sampled_items``, else :data:`SAMPLED_ITEMS`; never more than the catalogue."""
    if given is None:
        larger = large_catalogue_samples(loss, n_items, None) if embeddings else None
        given = larger or getattr(loss, "default_sampled_items", None) or SAMPLED_ITEMS
    return int(min(given, n_items))


def sampled_batch(loss: Any, n_likes: int, given: int | None) -> int:
    """Return the liked interactions per step of a sampled loss (see the module doc).

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``default_batch_size`` (None or absent: :data:`SAMPLED_BATCH`),
        ``batch_grows_with_data`` (absent: False) and ``largest_default_batch`` (None or
        absent: :data:`SAMPLED_BATCH_MAX`) are read.
    n_likes : int
        Liked interactions in the training data (0 for a stream: not counted first).
    given : int or None
        The model's ``batch_size``; returned when set.

    Returns
    -------
    int
        ``given``; else the loss's ``default_batch_size`` or :data:`SAMPLED_BATCH`, for a loss
        declaring ``batch_grows_with_data`` doubled while an epoch keeps at least
        :data:`SAMPLED_MIN_STEPS` steps, up to its largest.
    """
    if given is not None:
        return int(given)
    batch = int(getattr(loss, "default_batch_size", None) or SAMPLED_BATCH)
    if not getattr(loss, "batch_grows_with_data", False):
        return batch
    largest = int(getattr(loss, "largest_default_batch", None) or SAMPLED_BATCH_MAX)
    while 2 * batch <= largest and n_likes >= 2 * batch * SAMPLED_MIN_STEPS:
        batch *= 2
    return batch


def use_sampled_softmax(n_users: int, n_items: int, n_likes: int, given: int | None) -> bool:
    """Return True when the softmax (or any dense loss declaring a ``sampled_variant``) should
    train in its sampled form (see the module doc).

    ``given`` (the model's ``n_sampled_items``) below the catalogue size asks for it; left as
    None, the sampled form is chosen when the dense one's ``users x items`` scores per epoch
    exceed :data:`SAMPLED_PAIR_COST` times the sampled one's
    ``likes x (SOFTMAX_IN_BATCH_CANDIDATES + SOFTMAX_SAMPLED_ITEMS)`` pairs, or the catalogue
    exceeds :data:`FULL_SOFTMAX_LIMIT`.
    """
    if given is not None:
        return given < n_items
    sampled_pairs = n_likes * (SOFTMAX_IN_BATCH_CANDIDATES + SOFTMAX_SAMPLED_ITEMS)
    return n_items > FULL_SOFTMAX_LIMIT or n_users * n_items > SAMPLED_PAIR_COST * sampled_pairs


def learning_rate_at(rate: float, schedule: str, epoch: int, epochs: int) -> float:
    """Return the rate of epoch ``epoch`` (0-based) of ``epochs`` starting at ``rate``."""
    return rate * (1.0 - epoch / epochs) if schedule == "linear" else rate


def default_l2(loss: Any, interactions: sp.csr_matrix) -> float:
    """Return the default L2 weight for ``loss`` on ``interactions`` (CSR, > 0 = liked):
    :func:`default_l2_at` their :func:`likes_per_user`."""
    return default_l2_at(loss, likes_per_user(interactions))


def default_l2_at(loss: Any, likes_per_user: float) -> float:
    """Return the default L2 weight for ``loss`` on data with ``likes_per_user``.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its ``default_l2``, ``l2_likes_per_user``, ``density_scaled_l2`` and ``inputs`` are read.
    likes_per_user : float
        Mean liked interactions per user with at least one (:func:`likes_per_user`); 0 when
        unknown (a stream nobody counted), which leaves a loss's own ``default_l2`` unscaled.

    Returns
    -------
    float
        The loss's ``default_l2`` (times ``sqrt(l2_likes_per_user / likes_per_user)`` on data
        denser than the loss declares it was measured at; sparser data, not measured, keep the
        default), else its kind's default (see the module doc).
    """
    own = getattr(loss, "default_l2", None)
    if own is not None:
        measured_at = getattr(loss, "l2_likes_per_user", None)
        if measured_at is None or likes_per_user <= measured_at:
            return float(own)
        return float(own) * float(np.sqrt(measured_at / likes_per_user))
    if loss.inputs == "sampled":
        return SAMPLED_L2
    if not getattr(loss, "density_scaled_l2", False):
        return OTHER_L2
    return DENSE_L2_SCALE / float(np.sqrt(max(likes_per_user, 1.0)))


def l2_reads_density(loss: Any) -> bool:
    """Return True when :func:`default_l2` of ``loss`` depends on the likes per user."""
    if getattr(loss, "default_l2", None) is not None:
        return getattr(loss, "l2_likes_per_user", None) is not None
    return loss.inputs != "sampled" and bool(getattr(loss, "density_scaled_l2", False))


def likes_per_user(interactions: sp.csr_matrix) -> float:
    """Return the mean liked interactions (> 0) per user with at least one (0 without likes)."""
    likes = interactions.data > 0
    rows = np.repeat(np.arange(interactions.shape[0]), np.diff(interactions.indptr))
    return float(likes.sum() / max(np.unique(rows[likes]).size, 1))
