"""Splits: BENCHMARK.md holdout against a literal re-implementation, determinism, sizes, leakage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tensorrec_explore.data import (
    InteractionDataset,
    Split,
    check_no_leakage,
    cold_start_items,
    cold_start_users,
    leave_last_out,
    random_holdout,
)
from tensorrec_explore.errors import InputError, LeakageError


def benchmark_md_holdout(positives: sp.csr_matrix, seed: int = 42):
    """BENCHMARK.md's "Split" paragraph, sentence by sentence, as (train pairs, test pairs)."""
    rng = np.random.default_rng(seed)
    dense = positives.toarray() > 0
    train, test = set(), set()
    for u in range(dense.shape[0]):
        items = [i for i in range(dense.shape[1]) if dense[u, i]]
        if len(items) < 1:
            continue
        items = np.array(sorted(items))
        rng.shuffle(items)
        n = len(items)
        n_test = math.floor(0.2 * n) if n >= 5 else 0
        test |= {(u, int(i)) for i in items[:n_test]}
        train |= {(u, int(i)) for i in items[n_test:]}
    return train, test


def pairs(matrix: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=False))


def random_positives(seed: int, shape=(60, 40), density=0.15) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random(shape) < density) * rng.integers(1, 6, shape)  # some users < 5 or 0
    dense[3] = 0
    return sp.csr_matrix(dense.astype(np.float32))


@pytest.mark.parametrize("seed", [42, 0, 7])
def test_random_holdout_is_the_benchmark_protocol(seed):
    positives = random_positives(seed)
    split = random_holdout(positives, seed=seed)
    train, test = benchmark_md_holdout(positives, seed)
    assert pairs(split.train) == train and pairs(split.test) == test
    for m in split:
        assert sp.isspmatrix_csr(m) and m.dtype == np.float32 and set(m.data) == {1.0}
        assert m.shape == positives.shape


def test_random_holdout_sizes_determinism_and_no_leak():
    positives = random_positives(1)
    a, b = random_holdout(positives), random_holdout(positives)
    assert (a.train != b.train).nnz == 0 and (a.test != b.test).nnz == 0
    assert pairs(random_holdout(positives, seed=1).test) != pairs(a.test)
    n = np.diff(positives.indptr)
    expected = np.where(n >= 5, np.floor(0.2 * n), 0)
    np.testing.assert_array_equal(np.diff(a.test.indptr), expected)
    np.testing.assert_array_equal(np.diff(a.train.indptr), n - expected)
    check_no_leakage(a.train, a.test)


def test_random_holdout_accepts_a_dataset_and_can_keep_values():
    frame = pd.DataFrame(
        {
            "u": np.repeat([1, 2], 10),
            "i": np.tile(np.arange(10), 2),
            "r": np.tile([1.0, 2, 3, 4, 5], 4),
        }
    )
    ds = InteractionDataset.from_frame(frame, "u", "i", "r")
    split = random_holdout(ds, binary=False)
    assert split.test.nnz == 4 and set(split.train.data) | set(split.test.data) <= {1, 2, 3, 4, 5}
    assert (split.train + split.test != ds.interactions).nnz == 0


def test_leave_last_out_takes_latest_per_user():
    frame = pd.DataFrame(
        {"u": [0, 0, 0, 1, 1, 2], "i": [0, 1, 2, 0, 2, 1], "t": [30, 10, 20, 5, 5, 1]}
    )
    ds = InteractionDataset.from_frame(frame, "u", "i", timestamp_col="t")
    split = leave_last_out(ds)
    assert pairs(split.test) == {(0, 0), (1, 2)}  # user 1 ties: higher item index is later
    assert pairs(split.train) == {(0, 1), (0, 2), (1, 0), (2, 1)}  # user 2 has one: stays
    assert pairs(leave_last_out(ds).test) == pairs(split.test)
    with pytest.raises(InputError, match="needs timestamps"):
        leave_last_out(ds.interactions)


@pytest.mark.parametrize("fn, axis", [(cold_start_items, 1), (cold_start_users, 0)])
def test_cold_start_splits(fn, axis):
    positives = random_positives(2)
    split = fn(positives, fraction=0.25, seed=3)
    cold = split.cold_items if axis == 1 else split.cold_users
    active = np.flatnonzero(np.asarray((positives > 0).sum(axis=1 - axis)).ravel())
    assert len(cold) == round(0.25 * len(active)) and np.all(np.diff(cold) > 0)
    train_counts = np.asarray(split.train.sum(axis=1 - axis)).ravel()
    test_counts = np.asarray(split.test.sum(axis=1 - axis)).ravel()
    assert np.all(train_counts[cold] == 0) and np.all(test_counts[cold] > 0)
    assert test_counts.sum() == test_counts[cold].sum()
    assert split.train.nnz + split.test.nnz == positives.nnz
    again = fn(positives, fraction=0.25, seed=3)
    np.testing.assert_array_equal(cold, again.cold_items if axis == 1 else again.cold_users)


def test_leakage_is_refused():
    train = sp.csr_matrix(np.array([[1, 0], [0, 1]], dtype=np.float32))
    with pytest.raises(LeakageError, match="share 1 \\(user, item\\) pair"):
        check_no_leakage(train, sp.csr_matrix(np.array([[0, 1], [0, 1]], dtype=np.float32)))
    with pytest.raises(LeakageError):
        Split(train=train, test=train)
    with pytest.raises(InputError, match="shape"):
        check_no_leakage(train, sp.csr_matrix((3, 2)))


def weighted_dataset() -> InteractionDataset:
    """Ratings 1..5 (so binary splits drop some pairs) with a distinct weight per row."""
    rng = np.random.default_rng(4)
    dense = random_positives(4)
    users, items = dense.nonzero()
    frame = pd.DataFrame(
        {
            "u": users,
            "i": items,
            "r": dense.data,
            "w": rng.random(users.size) + 0.5,
            "t": rng.permutation(users.size),
        }
    )
    return InteractionDataset.from_frame(frame, "u", "i", "r", weight_col="w", timestamp_col="t")


@pytest.mark.parametrize(
    "make",
    [
        random_holdout,
        lambda ds: random_holdout(ds, binary=False),
        lambda ds: random_holdout(ds.to_implicit(3)),
        leave_last_out,
        cold_start_items,
        cold_start_users,
    ],
    ids=["holdout", "holdout-values", "implicit", "leave-last", "cold-items", "cold-users"],
)
def test_a_split_carries_the_train_weights_of_a_weighted_dataset(make):
    ds = weighted_dataset()
    split = make(ds)
    weights = split.train_weights
    assert weights is not None and weights.nnz == split.train.nnz
    np.testing.assert_array_equal(weights.indptr, split.train.indptr)
    np.testing.assert_array_equal(weights.indices, split.train.indices)
    users, items = split.train.nonzero()
    expected = np.asarray(ds.weights[users, items]).ravel()
    np.testing.assert_allclose(np.asarray(weights[users, items]).ravel(), expected)
    assert random_holdout(ds.interactions).train_weights is None  # a bare matrix has none


def test_weights_must_be_positive_and_aligned():
    frame = pd.DataFrame({"u": [0, 0, 1], "i": [0, 1, 1], "w": [1.0, 0.0, 2.0]})
    with pytest.raises(InputError, match="weight column 'w' has 1 value"):
        InteractionDataset.from_frame(frame, "u", "i", weight_col="w")
    matrix = sp.csr_matrix(np.array([[1, 1], [0, 1]], dtype=np.float32))
    with pytest.raises(InputError, match="negative"):
        InteractionDataset(matrix, weights=-matrix)
    with pytest.raises(InputError, match="exactly where"):
        Split(
            train=matrix,
            test=sp.csr_matrix((2, 2), dtype=np.float32),
            train_weights=sp.csr_matrix(np.eye(2, dtype=np.float32)),
        )
