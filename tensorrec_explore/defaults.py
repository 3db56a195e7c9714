"""The training settings a model uses when the caller leaves them as None.

Two recipes, chosen from the model's parts, both measured (see ``benchmarks/README.md``):

* :data:`EMBEDDING_RECIPE` — the softmax, BPR or logistic loss over *embedding-like* towers on
  both sides (a sum of one vector per feature, no hidden layer: ``linear``; ``pass_through``,
  which has no weights, also qualifies). Such tables take Adam's large steps, so the rate starts
  at 0.2 and falls linearly to 0 over 15 epochs: on ml-100k NDCG@10 0.309 in 15 epochs, where a
  constant 0.03 needed 40 for 0.314 (and gave 0.27 after 15); on ml-1m-all 0.414 (0.394
  before). BPR 0.292 and logistic 0.267 on ml-100k (0.148 and ~0.13 with the old 0.03 x 40 and
  whole-table L2).
* :data:`STANDARD_RECIPE` — everything else (deep or custom towers; the hinge losses wmrb and
  warp, measured only there; rmse, separation): Adam at a constant 0.03 for 40 epochs. Deep
  towers diverge from good solutions at the embedding
  rate (the built-in ``relu`` item tower on cold items with non-linear features: AUC 0.47 at
  0.2, 0.67 at 0.05, 0.87 at a constant 0.03).

The L2 default lives here too: ``0.07 / sqrt(mean likes per user)`` for losses whose penalty is
per liked interaction (the softmax: 0.0102 on ml-100k, 0.0061 on ml-1m), a loss's own
``default_l2`` when it sets one (wmrb: 0.2; warp wants 0.5 on implicit data, see its class),
0.005 for the other sampled losses (on the step's representations), 1e-4 for the observed-pair
ones (on every weight).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

#: ``l2`` for losses with ``density_scaled_l2``: ``DENSE_L2_SCALE / sqrt(mean likes per user)``.
DENSE_L2_SCALE = 0.07
#: ``l2`` for sampled losses (a penalty on the step's representations, see
#: ``Trainer.sampled_regularization``): 0.005 measured best for BPR / logistic on ml-100k.
SAMPLED_L2 = 0.005
#: ``l2`` for the observed-pair losses (rmse, separation; a penalty on every weight).
OTHER_L2 = 1e-4
LEARNING_RATE_SCHEDULES = ("linear", "constant")
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
    embeddings = all(getattr(layer, "embedding_like", False)
                     for layer in (user_representation, item_representation))
    if embeddings and getattr(loss, "embedding_recipe", False):
        return EMBEDDING_RECIPE
    return STANDARD_RECIPE


def learning_rate_at(rate: float, schedule: str, epoch: int, epochs: int) -> float:
    """Return the rate of epoch ``epoch`` (0-based) of ``epochs`` starting at ``rate``."""
    return rate * (1.0 - epoch / epochs) if schedule == "linear" else rate


def default_l2(loss: Any, interactions: sp.csr_matrix) -> float:
    """Return the default L2 weight for ``loss`` on ``interactions`` (CSR, > 0 = liked)."""
    if getattr(loss, "default_l2", None) is not None:
        return float(loss.default_l2)
    if loss.inputs == "sampled":
        return SAMPLED_L2
    if not getattr(loss, "density_scaled_l2", False):
        return OTHER_L2
    likes = interactions.data > 0
    rows = np.repeat(np.arange(interactions.shape[0]), np.diff(interactions.indptr))
    per_user = likes.sum() / max(np.unique(rows[likes]).size, 1)
    return DENSE_L2_SCALE / float(np.sqrt(max(per_user, 1.0)))
