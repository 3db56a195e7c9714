"""The ranking engine against a naive sort, on scores full of ties, -inf and exclusions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore.errors import InputError
from tensorrec_explore.ranking import PAD_ID, rank_rows, top_k_others, top_k_rows


def naive_order(scores: np.ndarray, excluded: set[int]) -> list[int]:
    """Eligible items by score descending, then index ascending; then the excluded by index."""
    eligible = [i for i in range(len(scores)) if i not in excluded]
    return sorted(eligible, key=lambda i: (-scores[i], i)) + sorted(excluded)


def tied_case(seed: int, n_rows: int = 40, n_items: int = 12) -> tuple[np.ndarray, sp.csr_matrix]:
    """Small integer scores (many ties), some -inf, and exclusions that leave some rows short."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(-2, 3, size=(n_rows, n_items)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    exclude = rng.random(scores.shape) < rng.random((n_rows, 1))  # 0% to 100% of a row
    return scores, sp.csr_matrix(exclude)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 3, 11, 12])
def test_top_k_rows_matches_a_naive_sort(seed: int, k: int) -> None:
    scores, exclude = tied_case(seed)
    for mask in (None, exclude):
        indices, values = top_k_rows(scores.copy(), k, mask)
        assert indices.dtype == np.int64 and values.dtype == np.float32
        for row in range(scores.shape[0]):
            excluded = set() if mask is None else set(mask[row].indices.tolist())
            eligible = naive_order(scores[row], excluded)[: scores.shape[1] - len(excluded)]
            expected = (eligible + [PAD_ID] * k)[:k]
            assert indices[row].tolist() == expected, (row, k)
            real = np.array(expected) != PAD_ID
            np.testing.assert_array_equal(values[row][real], scores[row, indices[row][real]])
            assert np.isnan(values[row][~real]).all()


def test_top_k_rows_only_reads_the_block_without_exclusions() -> None:
    scores, _ = tied_case(0)
    frozen = scores.copy()
    frozen.flags.writeable = False
    indices, _ = top_k_rows(frozen, 4)
    assert (indices != PAD_ID).all()
    np.testing.assert_array_equal(frozen, scores)


@pytest.mark.parametrize("seed", range(3))
def test_rank_rows_matches_a_naive_sort(seed: int) -> None:
    scores, exclude = tied_case(seed)
    ranks = rank_rows(scores.copy(), exclude)
    assert ranks.dtype == np.int32
    for row in range(scores.shape[0]):
        order = naive_order(scores[row], set(exclude[row].indices.tolist()))
        assert [int(ranks[row, i]) for i in order] == list(range(1, scores.shape[1] + 1))


def test_nan_scores_are_refused() -> None:
    scores = np.zeros((3, 5), np.float32)
    scores[1, 2] = np.nan
    with pytest.raises(InputError, match=r"NaN for 1 row\(s\), e.g. rows \[1\]"):
        top_k_rows(scores.copy(), 2)
    with pytest.raises(InputError, match="NaN"):
        top_k_rows(scores.copy(), 5)
    with pytest.raises(InputError, match="NaN"):
        rank_rows(scores.copy())


def test_top_k_others_leaves_each_row_its_own_item_out() -> None:
    scores, _ = tied_case(1, n_rows=12, n_items=12)
    ids = np.arange(12)[::-1].copy()
    indices, _ = top_k_others(scores.copy(), ids, 11)
    for row, item in enumerate(ids):
        assert indices[row].tolist() == naive_order(scores[row], {int(item)})[:11]
