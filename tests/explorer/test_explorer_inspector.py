"""The inspector, driven like a user: pick a user, read the tables, try the sandbox."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from explorer_support import train

from tensorrec_explore.explorer import analysis


@pytest.fixture
def trained(explorer):
    explorer.panels.config.epochs.value = 4
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    return explorer


def test_ranked_table_matches_model_recommend(trained):
    s, p = trained.state, trained.panels.inspector
    p.user_select.value = p.user_select.options[5]  # typed / picked in the searchable box
    assert s.selected_user == 5
    items, scores = s.model.recommend(np.array([5]), k=p.k.value, exclude=s.data["train"])
    frame = p.ranked_frame
    assert list(frame["item"]) == list(items[0])
    np.testing.assert_allclose(frame["score"], scores[0], rtol=1e-5)
    # score = interaction + user bias + item bias
    np.testing.assert_allclose(
        frame["interaction"] + frame["user bias"] + frame["item bias"],
        frame["score"],
        rtol=1e-4,
        atol=1e-5,
    )
    html = p.ranked_table.value
    assert html.count("<tr") == len(frame) + 1
    assert s.item_titles[int(items[0][0])] in html
    # top-k items and the user are highlighted in the embedding plot
    assert s.highlighted_items == [int(i) for i in items[0]]
    # the user's held-out items, with their rank
    test_items = set(s.data["test"][5].indices)
    assert set(p.test_frame["item"]) == test_items
    if test_items:
        assert (p.test_frame["rank"] >= 1).all()
        assert set(p.metrics) >= {"precision@10", "recall@10", "ndcg@10", "auc"}


def test_train_items_are_marked_when_not_hidden(trained):
    s, p = trained.state, trained.panels.inspector
    p.hide_train.value = False
    p.k.value = s.n_items
    s.selected_user = 2
    train_items = set(s.data["train"][2].indices)
    marked = set(p.ranked_frame.loc[p.ranked_frame["marks"].str.contains("train"), "item"])
    assert marked == train_items


def test_clicking_a_point_selects_the_user(trained):
    emb, p = trained.panels.embeddings, trained.panels.inspector
    emb.select_point("users", 11)
    assert trained.state.selected_user == 11
    assert p.user_select.value == p.user_select.options[11]
    assert len(p.ranked_frame) == p.k.value


def test_similar_items_and_feature_contributions(trained):
    s, p = trained.state, trained.panels.inspector
    s.selected_user = 1
    p.item_select.value = p.item_select.options[3]
    assert s.selected_item == 3
    items, _ = s.model.similar_items(np.array([3]), k=p.k.value)
    assert list(p.similar_frame["item"]) == list(items[0])
    # ids only: nothing to credit, and the panel says so instead of listing "id: 3"
    assert p.why_frame is None and "ids alone" in p.why_table.value


def _why_after_training(explorer, **settings):
    """Train with ``settings`` set in the form, pick user 1 and item 3: the why-table."""
    for name, value in settings.items():
        getattr(explorer.panels.config, name).value = value
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    explorer.state.selected_user, explorer.state.selected_item = 1, 3
    return explorer.panels.inspector.why_frame


def test_feature_contributions_are_exact_for_linear_towers(explorer):
    s = explorer.state
    why = _why_after_training(
        explorer, user_feature_set="features", item_feature_set="features", epochs=3
    )
    assert set(why["side"]) == {"user", "item"}
    assert not why["feature"].str.startswith("id:").any()
    # linear towers: u = b_u + sum_g x_g W_g, v = b_i + sum_f x_f V_f, so the interaction
    # minus the offsets' product is the sum of the features' parts and of their cross terms
    users = s.model.user_representations(s.data["user_features"])
    items = s.model.item_representations(s.data["item_features"])
    item_part = why.loc[why["side"] == "item", "contribution"].sum()
    zero = sp.csr_matrix((1, s.data["item_features"].shape[1]), dtype=np.float32)
    offset = s.model.item_representations(zero)[0]
    assert item_part == pytest.approx(float((items[3] - offset) @ users[1]), rel=1e-3, abs=1e-5)


def test_zero_user_bias_is_explained(trained):
    s, p = trained.state, trained.panels.inspector
    s.selected_user = 2
    assert s.model_config["loss"] == "softmax"
    assert p.ranked_frame["user bias"].abs().max() < 1e-2  # not learned: near its start
    assert "not learned from the data, by construction" in p.ranked_table.value


def test_sandbox_folds_a_new_user_in_without_retraining(trained):
    s, p = trained.state, trained.panels.inspector
    version = s.model_version
    p.liked.value = [p.item_select.options[0], p.item_select.options[1]]
    p.disliked.value = [p.item_select.options[2]]
    p.wait_sandbox(120)  # folded in off the UI thread
    frame = p.sandbox_frame
    assert len(frame) == p.k.value
    assert not {0, 1, 2} & set(frame["item"])  # rated items are not recommended
    assert s.sandbox_representation is not None
    assert s.model_version == version  # no retraining
    if trained.projector.wait_idle(60) and s.projections:
        assert len(trained.panels.embeddings.sandbox_trace.x) == 1
    p.clear_sandbox.click()
    assert s.sandbox_representation is None


def test_test_item_ranks_are_predict_rank_with_train_excluded(trained):
    s, p = trained.state, trained.panels.inspector
    train, test = s.data["train"], s.data["test"]
    user = next(u for u in range(s.n_users) if (train[u] > 0).nnz and test[u].nnz)
    s.selected_user = user
    positives = (train > 0).tocsr()
    ranks = s.model.predict_rank(exclude=positives)[user]
    frame = p.test_frame
    assert list(frame["rank"]) == [int(ranks[i]) for i in frame["item"]]
    # train positives take the last places, so the test items rank within the others
    assert (frame["rank"] <= s.n_items - positives[user].nnz).all()


def test_place_points_is_exact_for_pca():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 6))
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    Y = (X - mean) @ vt[:2].T
    new = rng.normal(size=(2, 6))
    np.testing.assert_allclose(
        analysis.place_points(X, Y, new, "pca"), (new - mean) @ vt[:2].T, atol=1e-8
    )
    near = analysis.place_points(X, Y, X[:1], "umap")
    np.testing.assert_allclose(near, Y[:1], atol=1e-5)


def test_sandbox_interactions_are_signed():
    X = analysis.sandbox_interactions([3, 1], [2], 5)
    assert sp.isspmatrix_csr(X) and X.shape == (1, 5)
    assert X.toarray().tolist() == [[0, 1, -1, 1, 0]]


def test_frame_html_escapes_titles():
    from tensorrec_explore.explorer.panels.inspector import frame_html

    html = frame_html(pd.DataFrame({"title": ["<b>x</b>"]}))
    assert "&lt;b&gt;" in html


def test_deep_tower_contributions_are_a_labelled_occlusion(explorer):
    s, p = explorer.state, explorer.panels.inspector
    why = _why_after_training(
        explorer, item_feature_set="features", item_representation="relu", epochs=2
    )
    assert (why["side"] == "item").any() and "approximation" in p.why_table.value
    # each item part is the drop of u . v when that feature is removed from the item's row
    features = sp.csr_matrix(s.data["item_features"])
    user = s.model.user_representations()[1]
    full = s.model.item_representations(features[3])[0] @ user
    row = features[3].tolil()
    first = why.loc[why["side"] == "item"].iloc[0]
    column = s.dataset.item_feature_names.index(first["feature"])
    row[0, column] = 0.0
    dropped = s.model.item_representations(row.tocsr())[0] @ user
    assert first["contribution"] == pytest.approx(float(full - dropped), rel=1e-3, abs=1e-5)
