"""Synthetic datasets: deterministic, demo-sized, and each flavour has its planted property."""

from __future__ import annotations

import numpy as np
import pytest

from tensorrec_explore.data import FLAVOURS, make_synthetic
from tensorrec_explore.errors import InputError


def r_squared(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the least-squares fit of every column of ``y`` on ``x`` plus an intercept."""
    design = np.hstack([np.ones((len(x), 1)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return 1.0 - float((residual**2).sum() / ((y - y.mean(axis=0)) ** 2).sum())


def pairwise_products(x: np.ndarray) -> np.ndarray:
    i, j = np.triu_indices(x.shape[1], k=1)
    return np.hstack([x, x[:, i] * x[:, j]])


@pytest.fixture(scope="module", params=FLAVOURS)
def synthetic(request):
    return make_synthetic(request.param, seed=0)


def test_demo_size_titles_and_metadata(synthetic):
    assert (synthetic.n_users, synthetic.n_items) == (600, 400)
    assert 15_000 <= synthetic.interactions.nnz <= 25_000
    assert set(synthetic.interactions.data) == {1.0}
    cluster = synthetic.truth.item_clusters[12]
    assert synthetic.item_titles[12] == f"Item 12 (cluster {cluster})"
    assert synthetic.item_metadata["cluster"].tolist() == synthetic.truth.item_clusters.tolist()
    assert "popularity" in synthetic.item_metadata
    assert synthetic.user_metadata["cluster"].tolist() == synthetic.truth.user_clusters.tolist()
    assert synthetic.truth.affinity.shape == (600, 400)


def test_users_follow_their_planted_taste(synthetic):
    truth = synthetic.truth
    coo = synthetic.interactions.tocoo()
    same = truth.user_clusters[coo.row] == truth.item_clusters[coo.col]
    assert same.mean() > 0.3  # chance level is 1/8
    assert truth.affinity[coo.row, coo.col].mean() > truth.affinity.mean() + 0.4


def test_deterministic_per_seed():
    a, b, c = (
        make_synthetic("nonlinear", 3),
        make_synthetic("nonlinear", 3),
        make_synthetic("nonlinear", 4),
    )
    assert (a.interactions != b.interactions).nnz == 0
    assert (a.item_features != b.item_features).nnz == 0
    np.testing.assert_array_equal(a.truth.affinity, b.truth.affinity)
    assert (a.interactions != c.interactions).nnz > 0
    clean = make_synthetic("clean", 3)  # flavours differ in features only
    assert (clean.interactions != a.interactions).nnz == 0
    np.testing.assert_array_equal(clean.truth.item_clusters, a.truth.item_clusters)


def test_clean_features_are_cluster_indicators():
    syn = make_synthetic("clean")
    np.testing.assert_array_equal(syn.item_features.toarray(), np.eye(8)[syn.truth.item_clusters])
    np.testing.assert_array_equal(syn.user_features.toarray(), np.eye(8)[syn.truth.user_clusters])


def test_redundant_features_repeat_the_same_information():
    x = make_synthetic("redundant").item_features.toarray()
    assert x.shape[1] == 24 and np.linalg.matrix_rank(x) == 8


def test_correlated_features_are_correlated_yet_linearly_informative():
    syn = make_synthetic("correlated")
    x = syn.item_features.toarray()
    corr = np.corrcoef(x, rowvar=False)
    assert np.abs(corr[~np.eye(len(corr), dtype=bool)]).mean() > 0.7
    assert r_squared(x, syn.truth.affinity.T) > 0.9


def test_imbalanced_features_span_many_orders_of_magnitude():
    syn = make_synthetic("imbalanced")
    x = syn.item_features.toarray()
    scale = np.abs(x).max(axis=0)
    assert scale.max() / scale.min() > 1e5
    assert r_squared(x, syn.truth.affinity.T) > 0.9  # informative once rescaled


def test_nonlinear_taste_is_out_of_reach_of_a_linear_map():
    syn = make_synthetic("nonlinear")
    x = syn.item_features.toarray()
    y = syn.truth.affinity.T  # one column per user: that user's affinity for every item
    linear, nonlinear = r_squared(x, y), r_squared(pairwise_products(x), y)
    assert linear < 0.1 and nonlinear > 0.99
    # the cluster is not even readable linearly: each bit alone is uncorrelated with affinity
    assert max(abs(np.corrcoef(x[:, j], y[:, 0])[0, 1]) for j in range(x.shape[1])) < 0.3


def test_bad_arguments():
    with pytest.raises(InputError, match="flavour must be one of"):
        make_synthetic("spicy")
    with pytest.raises(InputError, match="n_clusters"):
        make_synthetic(n_clusters=1)
    with pytest.raises(InputError, match="tastes_per_user must be in"):
        make_synthetic(tastes_per_user=9)
    with pytest.raises(InputError, match="tastes_per_user must be an integer"):
        make_synthetic(tastes_per_user=2.0)


def test_dislikes_are_watched_items_of_the_users_disliked_style():
    plain, syn = make_synthetic("clean", 5), make_synthetic("clean", 5, dislikes=True)
    truth = syn.truth
    # the same items are watched (picked by taste); only their sign says liked or disliked
    assert (abs(syn.interactions) != plain.interactions).nnz == 0
    coo = syn.interactions.tocoo()
    assert set(coo.data) == {-1.0, 1.0} and 0.2 < (coo.data < 0).mean() < 0.3
    disliked_style = truth.item_styles[coo.col] == truth.user_disliked_styles[coo.row]
    np.testing.assert_array_equal(coo.data < 0, disliked_style)  # the reason, learnable
    # a dislike is as close to the user's taste as a like: taste alone cannot tell them apart
    liked, disliked = (truth.affinity[coo.row, coo.col][coo.data * s > 0] for s in (1, -1))
    assert abs(liked.mean() - disliked.mean()) < 0.05
    assert syn.item_metadata["style"].tolist() == truth.item_styles.tolist()
    assert syn.item_titles[3].endswith(f", style {truth.item_styles[3]})")
    assert syn.name == "synthetic-clean-dislikes"
    assert plain.truth.item_styles is None and set(plain.interactions.data) == {1.0}


def test_tastes_per_user_plants_a_minority_second_taste():
    syn = make_synthetic("clean", 0, tastes_per_user=2)
    truth, coo = syn.truth, syn.interactions.tocoo()
    first, second = truth.user_tastes[:, 0], truth.user_tastes[:, 1]
    np.testing.assert_array_equal(first, truth.user_clusters)
    assert (first != second).all()
    share_first = (truth.item_clusters[coo.col] == first[coo.row]).mean()
    share_second = (truth.item_clusters[coo.col] == second[coo.row]).mean()
    assert share_first > share_second > 0.2  # a real taste (chance is 1/8), a minority one
    assert syn.user_metadata["second_cluster"].tolist() == second.tolist()
    # affinity is the closest taste's: 1 on both tastes' items
    assert truth.affinity[0, truth.item_clusters == first[0]].min() == 1.0
    assert truth.affinity[0, truth.item_clusters == second[0]].min() == 1.0
    three = make_synthetic("clean", 0, tastes_per_user=3).truth.user_tastes
    assert three.shape == (600, 3) and all(len(set(row)) == 3 for row in three.tolist())
    one = make_synthetic().truth
    assert one.user_tastes.shape == (600, 1) and (one.user_tastes[:, 0] == one.user_clusters).all()
