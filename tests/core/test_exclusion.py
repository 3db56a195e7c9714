"""The exclusion contract: excluded items are never returned; short rows are padded -1 / NaN."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import InputError, TensorRec

from .planted import N_ITEMS, N_USERS, make_planted


@pytest.fixture(scope="module")
def model() -> TensorRec:
    return TensorRec(n_components=4, epochs=2, random_state=0).fit(make_planted().interactions)


def test_excluding_everything_returns_only_padding(model) -> None:
    ids, scores = model.recommend([0, 1], k=5, exclude=np.ones((N_USERS, N_ITEMS)))
    assert (ids == -1).all() and np.isnan(scores).all()


def test_fewer_eligible_items_than_k_are_padded(model) -> None:
    exclude = np.ones((N_USERS, N_ITEMS))
    exclude[3, [4, 9]] = 0
    ids, scores = model.recommend([3], k=5, exclude=exclude)
    assert sorted(ids[0, :2].tolist()) == [4, 9] and np.isfinite(scores[0, :2]).all()
    assert (ids[0, 2:] == -1).all() and np.isnan(scores[0, 2:]).all()


def test_random_exclusions_are_never_returned(model) -> None:
    exclude = sp.random(N_USERS, N_ITEMS, density=0.6, random_state=3, format="csr")
    ids, _ = model.recommend(np.arange(N_USERS), k=N_ITEMS, exclude=exclude)
    dense = exclude.toarray() != 0
    for user in range(N_USERS):
        returned = ids[user][ids[user] >= 0]
        assert not dense[user, returned].any()
        assert len(returned) == (~dense[user]).sum()


def test_explicit_zeros_and_duplicates_in_exclude(model) -> None:
    exclude = sp.csr_matrix(
        (np.array([0.0, 1.0, -1.0]), (np.array([0, 0, 0]), np.array([1, 2, 2]))),
        shape=(N_USERS, N_ITEMS),
    )
    ids, _ = model.recommend([0], k=N_ITEMS, exclude=exclude)
    assert (ids >= 0).all()  # a stored zero and entries summing to zero exclude nothing


@pytest.mark.parametrize(
    "bad",
    [
        np.ones((N_USERS, N_ITEMS + 1)),
        np.ones((2, N_ITEMS)),
        np.ones(N_ITEMS),
        np.ones((2, 2, 2)),
        "all",
        {"a": 1},
    ],
)
def test_wrong_exclude_is_an_input_error_everywhere(model, bad) -> None:
    with pytest.raises(InputError, match="exclude"):
        model.recommend([0], k=3, exclude=bad)
    with pytest.raises(InputError, match="exclude"):
        model.predict_rank(exclude=bad)


def test_predict_rank_puts_excluded_items_last(model) -> None:
    exclude = np.zeros((N_USERS, N_ITEMS))
    exclude[:, 0] = 1
    ranks = model.predict_rank(exclude=exclude)
    assert (ranks[:, 0] == N_ITEMS).all()


def test_new_users_follow_the_same_contract(model) -> None:
    new = model.fold_in(make_planted().interactions[:2], epochs=5)
    ids, scores = model.recommend(new, k=4, exclude=np.ones((2, N_ITEMS)))
    assert (ids == -1).all() and np.isnan(scores).all()
