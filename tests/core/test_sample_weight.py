"""``fit(..., sample_weight=...)``: weights reach every loss family and change the ranking.

Planted data: a group of users likes two items X and Y equally (every user of the group likes
both); only the weights of one item's pairs differ. A model that ignored the weights would rank
X and Y the same way whichever item is heavy, so each test below can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tensorrec_explore import TensorRec
from tensorrec_explore.data import InteractionDataset, random_holdout
from tensorrec_explore.errors import InputError

X_ITEM, Y_ITEM = 0, 1
GROUP = np.arange(30)  # users who like both X and Y
N_USERS, N_ITEMS = 60, 20


def _planted(extra_y_fans: int = 0) -> sp.csr_matrix:
    """The group likes X, Y and 3 of items 2..9; the others like 4 of items 10..19 (and the
    first ``extra_y_fans`` of them also Y, which makes Y the more popular of the two)."""
    rng = np.random.default_rng(0)
    liked = np.zeros((N_USERS, N_ITEMS), np.float32)
    liked[GROUP[:, None], [X_ITEM, Y_ITEM]] = 1.0
    for user in GROUP:
        liked[user, rng.choice(np.arange(2, 10), 3, replace=False)] = 1.0
    for user in range(GROUP.size, N_USERS):
        liked[user, rng.choice(np.arange(10, 20), 4, replace=False)] = 1.0
    liked[GROUP.size : GROUP.size + extra_y_fans, Y_ITEM] = 1.0
    return sp.csr_matrix(liked)


def _heavy(interactions: sp.csr_matrix, item: int, weight: float = 10.0) -> sp.csr_matrix:
    """Weights 1 everywhere but ``weight`` on the group's pairs with ``item``."""
    weights = interactions.toarray()
    weights[weights != 0] = 1.0
    weights[GROUP, item] = weight
    return sp.csr_matrix(weights)


def _x_over_y(model: TensorRec) -> float:
    """Share of the group's users whose score of X is above their score of Y."""
    scores = model.predict()[GROUP]
    return float(np.mean(scores[:, X_ITEM] > scores[:, Y_ITEM]))


def test_weights_flip_the_ranking_the_unweighted_model_prefers() -> None:
    interactions = _planted(extra_y_fans=6)  # Y is liked by 6 more users than X
    plain = TensorRec(n_components=8, random_state=0).fit(interactions)
    weighted = TensorRec(n_components=8, random_state=0).fit(
        interactions, sample_weight=_heavy(interactions, X_ITEM)
    )
    assert _x_over_y(plain) <= 0.2  # popularity: Y first for the group
    assert _x_over_y(weighted) >= 0.9  # the 10x weight on (group, X): X first


@pytest.mark.parametrize(
    "settings",
    [
        {"loss": "softmax"},  # dense: target weights
        {"loss": "softmax", "n_sampled_items": 8},  # the sampled softmax: positive weights
        {"loss": "bpr"},  # sampled: positive weights
        {"loss": "wmrb"},
    ],
    ids=["softmax-dense", "softmax-sampled", "bpr", "wmrb"],
)
def test_each_loss_family_follows_the_heavy_item(settings: dict) -> None:
    interactions = _planted()
    shares = [
        _x_over_y(
            TensorRec(n_components=8, random_state=0, **settings).fit(
                interactions, sample_weight=_heavy(interactions, item)
            )
        )
        for item in (X_ITEM, Y_ITEM)
    ]
    assert shares[0] >= 0.9 and shares[1] <= 0.1, shares


def test_rmse_fits_the_weighted_mean_of_an_item() -> None:
    """One shared user feature: every user gets the same score per item, the (weighted) mean
    of its observed values. X: 18 users rate 5, 22 rate 1 (mean 2.8); Y: everyone rates 3."""
    values = np.zeros((40, 2), np.float32)
    values[:, Y_ITEM] = 3.0
    values[:18, X_ITEM], values[18:, X_ITEM] = 5.0, 1.0
    interactions = sp.csr_matrix(values)
    weights = np.ones_like(values)
    weights[:18, X_ITEM] = 10.0
    scores = []
    for sample_weight in (None, sp.csr_matrix(weights)):
        model = TensorRec(
            n_components=2, loss="rmse", epochs=100, learning_rate=0.05, random_state=0
        ).fit(interactions, np.ones((40, 1), np.float32), sample_weight=sample_weight)
        scores.append(model.predict()[0])
    assert scores[0][X_ITEM] < scores[0][Y_ITEM]  # unweighted mean 2.8 < 3
    assert scores[1][X_ITEM] > scores[1][Y_ITEM] + 1.0  # weighted mean (900 + 22) / 202 = 4.6
    assert scores[1][X_ITEM] == pytest.approx(922 / 202, abs=0.3)


def test_fit_partial_trains_on_its_own_weights() -> None:
    """The trainer kept between calls is rebuilt when the weights change."""
    interactions = _planted()
    model = TensorRec(n_components=8, random_state=0).fit(
        interactions, sample_weight=_heavy(interactions, X_ITEM)
    )
    assert _x_over_y(model) >= 0.9
    model.fit_partial(interactions, sample_weight=_heavy(interactions, Y_ITEM), epochs=30)
    assert _x_over_y(model) <= 0.1


def test_all_ones_weights_equal_no_weights() -> None:
    interactions = _planted()
    ones = interactions.copy()
    ones.data[:] = 1.0
    plain = TensorRec(n_components=8, loss="bpr", random_state=0, epochs=3).fit(interactions)
    weighted = TensorRec(n_components=8, loss="bpr", random_state=0, epochs=3).fit(
        interactions, sample_weight=ones
    )
    np.testing.assert_allclose(plain.predict(), weighted.predict(), rtol=1e-4, atol=1e-4)


def _bad_weights() -> list:
    interactions = _planted()
    nan = _heavy(interactions, X_ITEM)
    nan.data[0] = np.nan
    inf = _heavy(interactions, X_ITEM)
    inf.data[0] = np.inf
    negative = _heavy(interactions, X_ITEM)
    negative.data[0] = -1.0
    extra = _heavy(interactions, X_ITEM).tolil()
    extra[GROUP.size, X_ITEM] = 2.0  # a user outside the group never liked X
    missing = _heavy(interactions, X_ITEM).tolil()
    missing[0, X_ITEM] = 0.0
    return [
        (sp.csr_matrix((N_USERS, N_ITEMS + 1)), "shape"),
        (_heavy(interactions, X_ITEM)[:-1], "shape"),
        (nan, "NaN or infinite"),
        (inf, "NaN or infinite"),
        (negative, "negative"),
        (extra.tocsr(), "not interactions"),
        (missing.tocsr(), "no weight"),
        ("heavy", "scipy.sparse matrix"),
        (np.ones(N_ITEMS), "2-D"),
    ]


@pytest.fixture(scope="module")
def fitted() -> TensorRec:
    return TensorRec(n_components=4, epochs=1, random_state=0).fit(_planted())


@pytest.mark.parametrize(
    "weights, message",
    _bad_weights(),
    ids=["columns", "rows", "nan", "inf", "negative", "extra", "missing", "string", "1-d"],
)
def test_bad_weights_raise_input_error_naming_sample_weight(fitted, weights, message) -> None:
    model = TensorRec(n_components=4, epochs=1, random_state=0)
    with pytest.raises(InputError, match="sample_weight") as caught:
        model.fit(_planted(), sample_weight=weights)
    assert message in str(caught.value)
    assert not hasattr(model, "network_")  # refused before anything was built
    with pytest.raises(InputError, match=message):
        fitted.fit_partial(_planted(), sample_weight=weights)


def test_dataset_weights_reach_fit_end_to_end() -> None:
    """InteractionDataset(weight_col=...) -> random_holdout -> fit(sample_weight=...)."""
    interactions = _planted(extra_y_fans=6)
    users, items = interactions.nonzero()
    frame = pd.DataFrame({"user": users, "item": items})
    frame["weight"] = np.where(np.isin(users, GROUP) & (items == X_ITEM), 10.0, 1.0)
    dataset = InteractionDataset.from_frame(frame, weight_col="weight")
    split = random_holdout(dataset, test_fraction=0.2, min_positives=100)  # nothing held out
    assert split.train_weights is not None and split.train_weights.nnz == split.train.nnz
    model = TensorRec(n_components=8, random_state=0)
    model.fit(split.train, sample_weight=split.train_weights)
    assert _x_over_y(model) >= 0.9
    model.fit(dataset.interactions, sample_weight=dataset.weights)
    assert _x_over_y(model) >= 0.9


@pytest.mark.parametrize("loss", ["rmse_dense", "separation_dense"])
def test_losses_that_ignore_weights_refuse_them(loss: str) -> None:
    interactions = sp.csr_matrix(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]], np.float32))
    weights = interactions.copy()
    weights.data[:] = 2.0
    model = TensorRec(n_components=2, loss=loss, epochs=1, random_state=0)
    with pytest.raises(InputError, match=f"The {loss} loss does not use sample_weight"):
        model.fit(interactions, sample_weight=weights)
    assert not hasattr(model, "network_")  # nothing half-fitted is left
    model.fit(interactions)  # without weights it trains
