"""The model drawn live: shapes, layers, parameter counts, the loss's inputs, explanations."""

from __future__ import annotations

from tensorrec_explore.explorer.engine import load_engine


def test_diagram_follows_the_form_and_explains_each_stage(explorer):
    load_engine()  # parameter counts need the representation classes
    d, config, s = explorer.panels.diagram, explorer.panels.config, explorer.state
    d.redraw()
    n_users, n_items = s.n_users, s.n_items
    assert f"{n_users:,} × {n_users:,}" in d.details["user_features"].value  # ids: one column each
    # linear over ids: one vector of n_components per id
    assert f"{n_users * 8:,} parameters" in d.details["user_representation"].value
    assert "score for every item, each step" in d.details["loss"].value  # softmax: dense
    config.item_feature_set.value = "features"
    n_features = s.dataset.item_features.shape[1]
    assert f"{n_items:,} × {n_features:,}" in d.details["item_features"].value
    config.item_representation.value = "relu"  # 4 x 8 hidden units, then 8 outputs
    expected = n_features * 32 + 32 + 32 * 8 + 8
    assert f"{n_features} → 32 → 8" in d.details["item_representation"].value
    assert f"{expected:,} parameters" in d.details["item_representation"].value
    config.loss.value = "bpr"
    assert "sample of other items" in d.details["loss"].value
    config.n_tastes.value = 3
    assert "× 3 tastes" in d.details["user_representation"].value
    d.buttons["item_representation"].click()
    assert "ReLU hidden layers" in d.explanation.value
    config.item_representation.value = "linear"  # the explanation follows the form
    assert "embedding table" in d.explanation.value
