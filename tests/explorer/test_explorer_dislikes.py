"""Explicit dislikes in the explorer: held out like the likes, learnt or not, scored, marked."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from explorer_support import train

from tensorrec_explore.data import make_synthetic
from tensorrec_explore.explorer import Explorer
from tensorrec_explore.explorer.analysis import held_out_dislike_auc
from tensorrec_explore.explorer.datasets import prepare


@pytest.fixture(scope="module")
def signed():
    return make_synthetic(
        n_users=60, n_items=40, n_clusters=4, interactions_per_user=16, seed=1, dislikes=True
    )


def _pairs(matrix) -> set[tuple[int, int]]:
    coo = sp.coo_matrix(matrix)
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


def test_prepare_holds_out_dislikes_apart_and_can_leave_them_out_of_training(signed):
    data = prepare(signed, split="random_holdout", user_feature_set="ids", item_feature_set="ids")
    train_, test, dislikes, held = (data[k] for k in ("train", "test", "dislikes", "test_dislikes"))
    assert held.nnz > 0 and (held.data == -1).all() and (dislikes.data == -1).all()
    assert (test.data > 0).all()
    # every observed pair is in exactly one part
    parts = [_pairs(train_), _pairs(test), _pairs(held)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == signed.interactions.nnz
    assert _pairs(dislikes) == _pairs(train_.multiply(train_ < 0))
    likes_only = prepare(
        signed,
        split="random_holdout",
        user_feature_set="ids",
        item_feature_set="ids",
        learn_dislikes=False,
    )
    assert (likes_only["train"].data > 0).all()
    assert _pairs(likes_only["train"]) == _pairs(train_.multiply(train_ > 0))
    assert _pairs(likes_only["test_dislikes"]) == _pairs(held)
    assert _pairs(likes_only["dislikes"]) == _pairs(dislikes)  # still marked, not learnt
    everything = prepare(signed, split="none", user_feature_set="ids", item_feature_set="ids")
    assert (
        everything["test_dislikes"] is None and everything["train"].nnz == signed.interactions.nnz
    )


def test_runs_on_other_data_replace_the_state_data_without_comparing_matrices(signed):
    import warnings

    from tensorrec_explore.explorer.state import ExplorerState

    state = ExplorerState()
    options = {"split": "random_holdout", "user_feature_set": "ids", "item_feature_set": "ids"}
    changes = []
    state.observe(changes.append, names=["data"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # sparse == sparse warns (SparseEfficiencyWarning)
        for learn in (True, False, False):
            state.data = prepare(signed, **options, learn_dislikes=learn)
    assert [str(w.message) for w in caught] == []
    assert len(changes) == 3  # a new preparation always notifies


def test_dislike_auc_says_where_held_out_dislikes_rank_among_unobserved_items():
    train_ = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, -1]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0]], dtype=np.float32))
    held = sp.csr_matrix(np.array([[0, 0, -1, 0, 0, 0]], dtype=np.float32))
    data = {
        "train": train_,
        "test": test,
        "dislikes": train_.multiply(train_ < 0),
        "test_dislikes": held,
    }
    # the unobserved items are 3 and 4; train and held-out items never count
    assert held_out_dislike_auc(np.array([[9, 9, 5, 1, 2, 9]], np.float32), data) == 1.0
    assert held_out_dislike_auc(np.array([[9, 9, 1.5, 1, 2, 9]], np.float32), data) == 0.5
    assert held_out_dislike_auc(np.array([[9, 9, 0, 1, 2, 9]], np.float32), data) == 0.0
    assert np.isnan(held_out_dislike_auc(np.zeros((1, 6)), {**data, "test_dislikes": None}))


def test_a_trained_run_scores_and_marks_held_out_dislikes(signed):
    ex = Explorer(
        signed,
        warm_umap=False,
        epochs=3,
        n_components=8,
        random_state=0,
        loss="bpr",
        push_interval=0.05,
    )
    try:
        ex.panels.config.fields["learn_dislikes"].value = False  # the form's checkbox
        train(ex)
        s, inspector = ex.state, ex.panels.inspector
        assert s.status == "finished", s.error
        frame = ex.runs_frame()
        assert frame["learn_dislikes"].tolist() == [False]
        assert 0.0 <= frame["dislike auc"].iloc[0] <= 1.0
        assert (s.data["train"].data > 0).all()  # the run learnt from the likes alone
        held = sp.csr_matrix(s.data["test_dislikes"])
        user = next(u for u in range(s.n_users) if held[u].nnz and s.data["test"][u].nnz)
        s.selected_user = user
        kinds = inspector.test_frame.groupby("held out")["item"].apply(set).to_dict()
        assert kinds == {
            "disliked ✗": set(held[user].indices),
            "liked ✓": set(s.data["test"][user].indices),
        }
        assert "disliked ✗" in inspector.test_table.value
        inspector.k.value = s.n_items
        marked = inspector.ranked_frame.loc[
            inspector.ranked_frame["marks"].str.contains("held-out dislike ✗"), "item"
        ]
        assert set(marked) == set(held[user].indices)
        assert len(ex.panels.embeddings.marks["held-out dislikes"].x) == held[user].nnz
    finally:
        ex.close()
