"""The recipe a model picks when settings are left as None, the schedule, and CSR row gathers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import TensorRec
from tensorrec_explore.callbacks import Callback
from tensorrec_explore.defaults import (
    DEFAULT_COMPONENTS,
    DENSE_SOFTMAX_RECIPE,
    EMBEDDING_RECIPE,
    STANDARD_RECIPE,
    Recipe,
)
from tensorrec_explore.losses import Softmax

from .planted import make_planted


class RateLog(Callback):
    """Records the optimizer's learning rate used in each epoch."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_epoch_end(self, model, epoch, logs) -> None:
        self.rates.append(float(model.optimizer_.learning_rate))


@pytest.mark.parametrize(
    "representation,loss,recipe",
    [
        ("linear", "softmax", Recipe(0.15, EMBEDDING_RECIPE.schedule, EMBEDDING_RECIPE.epochs)),
        ("pass_through", "softmax", Recipe(0.15, "linear", EMBEDDING_RECIPE.epochs)),
        ("relu", "softmax", STANDARD_RECIPE),
        ("normalized_linear", "softmax", STANDARD_RECIPE),
        ("linear", "bpr", Recipe(0.07, "linear", 20)),
        ("linear", "wmrb", Recipe(0.05, EMBEDDING_RECIPE.schedule, 20)),
        ("linear", "warp", Recipe(0.1, EMBEDDING_RECIPE.schedule, EMBEDDING_RECIPE.epochs)),
        ("relu", "wmrb", STANDARD_RECIPE),
        ("linear", "logistic", Recipe(0.1, "linear", 20)),
        ("relu", "logistic", STANDARD_RECIPE),
    ],
)
def test_left_as_none_the_recipe_of_the_parts_is_used(representation, loss, recipe):
    data = make_planted()
    width = data.user_features.shape[1] if representation == "pass_through" else 8
    log = RateLog()
    model = TensorRec(
        n_components=width,
        user_representation=representation,
        item_representation=representation,
        loss=loss,
        n_sampled_items=12,
        random_state=0,
    )
    model.fit(data.interactions, data.user_features, data.item_features, callbacks=[log])
    assert (model.learning_rate_, model.learning_rate_schedule_, model.epochs_) == (
        recipe.learning_rate,
        recipe.schedule,
        recipe.epochs,
    )
    assert len(log.rates) == recipe.epochs
    expected = [
        recipe.learning_rate * ((1 - e / recipe.epochs) if recipe.schedule == "linear" else 1.0)
        for e in range(recipe.epochs)
    ]
    np.testing.assert_allclose(log.rates, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "params,width,recipe",
    [
        ({}, 128, DENSE_SOFTMAX_RECIPE),  # the default model: the dense softmax's own recipe
        ({"n_components": 64}, 64, Recipe(0.15, "linear", EMBEDDING_RECIPE.epochs)),
        ({"n_sampled_items": 12}, DEFAULT_COMPONENTS, Recipe(0.15, "linear", 15)),  # sampled
        ({"loss": "bpr"}, DEFAULT_COMPONENTS, Recipe(0.07, "linear", 20)),
        ({"item_representation": "relu"}, DEFAULT_COMPONENTS, STANDARD_RECIPE),
    ],
)
def test_left_as_none_the_width_comes_with_the_recipe(params, width, recipe, tmp_path):
    data = make_planted()
    model = TensorRec(random_state=0, epochs=1, **params)
    assert model.get_params()["n_components"] == params.get("n_components")
    model.fit(data.interactions, data.user_features, data.item_features)
    assert model.n_components_ == width
    assert model.item_representations().shape == (data.interactions.shape[1], width)
    assert model.learning_rate_ == recipe.learning_rate
    assert model.learning_rate_schedule_ == recipe.schedule
    loaded = TensorRec.load(model.save(tmp_path / "model"))
    assert (loaded.n_components, loaded.n_components_) == (model.n_components, width)


def test_given_settings_override_the_recipe_and_each_call_restarts_the_decay():
    data = make_planted()
    log = RateLog()
    model = TensorRec(
        n_components=8, learning_rate=0.1, learning_rate_schedule="linear", epochs=4, random_state=0
    )
    model.fit(data.interactions, callbacks=[log])
    model.fit_partial(data.interactions, epochs=2, callbacks=[log])
    np.testing.assert_allclose(log.rates, [0.1, 0.075, 0.05, 0.025, 0.1, 0.05], rtol=1e-6)
    constant = RateLog()
    TensorRec(n_components=8, learning_rate_schedule="constant", epochs=3, random_state=0).fit(
        data.interactions, callbacks=[constant]
    )
    # the default loss (softmax) starts at its own rate
    np.testing.assert_allclose(constant.rates, [Softmax.embedding_learning_rate] * 3, rtol=1e-6)


def test_sparse_rows_gather_matches_scipy_rows():
    import tensorflow as tf

    from tensorrec_explore.sparse_rows import SparseRows

    dense = sp.random(50, 30, density=0.2, random_state=1, dtype=np.float32).toarray()
    dense[3] = 0  # an empty row
    matrix = sp.csr_matrix(dense)
    table = SparseRows(matrix, 50)
    for rows in ([0, 3, 5, 5, 49], [], [3], list(range(50))):
        expected = matrix[rows].toarray() if rows else np.zeros((0, 30), np.float32)
        ids = tf.constant(rows, tf.int64)
        np.testing.assert_array_equal(table.dense_rows(ids).numpy(), expected)
        np.testing.assert_array_equal(
            tf.sparse.to_dense(tf.sparse.reorder(table.rows(ids))).numpy(), expected
        )
    identity = SparseRows(None, 7)
    np.testing.assert_array_equal(
        tf.sparse.to_dense(identity.rows(tf.constant([2, 0, 6], tf.int64))).numpy(),
        np.eye(7, dtype=np.float32)[[2, 0, 6]],
    )


def test_a_sampled_losss_l2_scales_with_the_density_it_was_measured_at() -> None:
    from tensorrec_explore.defaults import default_l2
    from tensorrec_explore.losses import WMRB

    class Scaled(WMRB):
        default_l2 = 0.1
        l2_likes_per_user = 1.0

    # 4 users with 4, 4, 4 and 0 likes (a dislike does not count): 4 likes per user.
    rows = np.repeat([0, 1, 2, 3], [4, 4, 4, 1])
    cols = np.concatenate([np.arange(4)] * 3 + [[5]])
    values = np.r_[np.ones(12), -1.0]
    interactions = sp.csr_matrix((values, (rows, cols)), shape=(4, 6))
    assert default_l2(Scaled(), interactions) == pytest.approx(0.1 * np.sqrt(1.0 / 4.0))
    # No likes known (a stream) or sparser data than measured: the loss's own default, unscaled;
    # undeclared: never scaled.
    assert default_l2(Scaled(), sp.csr_matrix((4, 6))) == pytest.approx(0.1)
    sparser = type("Sparser", (Scaled,), {"l2_likes_per_user": 16.0})
    assert default_l2(sparser(), interactions) == pytest.approx(0.1)
    unscaled = type("Unscaled", (WMRB,), {"default_l2": 0.1})
    assert default_l2(unscaled(), interactions) == pytest.approx(0.1)
