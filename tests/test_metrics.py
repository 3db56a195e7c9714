"""Metrics against a deliberately naive per-user loop written straight from BENCHMARK.md."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore.errors import InputError, LeakageError
from tensorrec_explore.metrics import (
    MetricReport,
    auc_score,
    catalog_coverage,
    evaluate,
    hit_rate_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    top_k,
)

# ----------------------------------------------------------------------------- naive reference


def naive_ranking(scores: np.ndarray, train: set[int]) -> list[int]:
    """All items but the train positives, by score descending then item index ascending."""
    return sorted((i for i in range(len(scores)) if i not in train), key=lambda i: (-scores[i], i))


def naive_metrics(scores: np.ndarray, test: np.ndarray, train: np.ndarray, k: int) -> dict:
    """Per-user metrics and coverage, one user at a time, exactly as BENCHMARK.md words them."""
    n_users, n_items = scores.shape
    out: dict[str, list[float]] = {
        name: [] for name in ("precision", "recall", "ndcg", "auc", "mrr", "hit_rate")
    }
    users, covered = [], set()
    for u in range(n_users):
        positives = {i for i in range(n_items) if test[u, i] > 0}
        if not positives:
            continue
        users.append(u)
        known = {i for i in range(n_items) if train[u, i] > 0}
        ranking = naive_ranking(scores[u], known)
        top = ranking[:k]
        covered.update(top)
        hits = [1 if i in positives else 0 for i in top]
        out["precision"].append(sum(hits) / k)
        out["recall"].append(sum(hits) / len(positives))
        dcg = sum(h / math.log2(r + 1) for r, h in enumerate(hits, start=1))
        ideal = sum(1 / math.log2(r + 1) for r in range(1, min(k, len(positives)) + 1))
        out["ndcg"].append(dcg / ideal)
        out["hit_rate"].append(1.0 if sum(hits) else 0.0)
        first = next(r for r, i in enumerate(ranking, start=1) if i in positives)
        out["mrr"].append(1 / first)
        negatives = [i for i in range(n_items) if i not in positives and i not in known]
        if negatives:
            wins = 0.0
            for p in positives:
                for n in negatives:
                    if scores[u, p] > scores[u, n]:
                        wins += 1.0
                    elif scores[u, p] == scores[u, n]:
                        wins += 0.5
            out["auc"].append(wins / (len(positives) * len(negatives)))
        else:
            out["auc"].append(float("nan"))
    result = {name: np.array(values) for name, values in out.items()}
    result["users"] = np.array(users)
    result["coverage"] = len(covered) / n_items
    return result


def random_case(seed: int, n_users: int = 40, n_items: int = 30, ties: bool = True):
    """Random scores (integers 0..4 when ``ties``, so many ties) and disjoint test/train."""
    rng = np.random.default_rng(seed)
    if ties:
        scores = rng.integers(0, 5, size=(n_users, n_items)).astype(np.float32)
    else:
        scores = rng.standard_normal((n_users, n_items))
    draw = rng.random((n_users, n_items))
    test = (draw < 0.15).astype(np.float32)
    train = ((draw >= 0.15) & (draw < 0.45)).astype(np.float32)
    test[rng.random(n_users) < 0.2] = 0  # some users without test positives
    return scores, test, train


# ----------------------------------------------------------------------------- agreement


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 5, 10])
def test_evaluate_matches_naive_loop(seed: int, k: int) -> None:
    scores, test, train = random_case(seed, ties=seed % 2 == 0)
    expected = naive_metrics(scores, test, train, k)
    report = evaluate(scores, sp.csr_matrix(test), sp.csr_matrix(train), k=k, batch_size=7)

    np.testing.assert_array_equal(report.users, expected["users"])
    for name in ("precision", "recall", "ndcg", "hit_rate"):
        np.testing.assert_allclose(report.per_user[f"{name}@{k}"], expected[name], rtol=1e-12)
        assert report.summary[f"{name}@{k}"] == pytest.approx(expected[name].mean())
    np.testing.assert_allclose(report.per_user["auc"], expected["auc"], rtol=1e-12)
    np.testing.assert_allclose(report.per_user["mrr"], expected["mrr"], rtol=1e-12)
    assert report.summary["mrr"] == pytest.approx(expected["mrr"].mean())
    assert report.summary["auc"] == pytest.approx(np.nanmean(expected["auc"]))
    assert report.summary[f"coverage@{k}"] == pytest.approx(expected["coverage"])


def test_single_metric_functions_match_naive_loop() -> None:
    scores, test, train = random_case(11)
    expected = naive_metrics(scores, test, train, 5)
    args = (scores, sp.csr_matrix(test), sp.csr_matrix(train))
    np.testing.assert_allclose(precision_at_k(*args, k=5), expected["precision"])
    np.testing.assert_allclose(recall_at_k(*args, k=5), expected["recall"])
    np.testing.assert_allclose(ndcg_at_k(*args, k=5), expected["ndcg"])
    np.testing.assert_allclose(hit_rate_at_k(*args, k=5), expected["hit_rate"])
    np.testing.assert_allclose(auc_score(*args), expected["auc"])
    np.testing.assert_allclose(reciprocal_rank(*args), expected["mrr"])
    assert catalog_coverage(*args, k=5) == pytest.approx(expected["coverage"])


def test_users_with_few_candidates_and_no_negatives() -> None:
    # user 0: 2 candidates left for k=4; user 1: every candidate is a test positive (AUC NaN).
    scores = np.array([[0.1, 0.9, 0.5, 0.3, 0.2], [0.5, 0.4, 0.3, 0.2, 0.1]])
    test = np.array([[0, 0, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=float)
    train = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 0, 0]], dtype=float)
    expected = naive_metrics(scores, test, train, 4)
    report = evaluate(scores, test, train, k=4)
    np.testing.assert_allclose(report.per_user["precision@4"], expected["precision"])
    np.testing.assert_allclose(report.per_user["ndcg@4"], expected["ndcg"])
    np.testing.assert_allclose(report.per_user["auc"], expected["auc"])
    assert np.isnan(report.per_user["auc"][1])
    assert report.summary["auc"] == pytest.approx(1.0)
    assert report.summary["coverage@4"] == pytest.approx(expected["coverage"])


def test_scorer_kinds_agree() -> None:
    scores, test, train = random_case(3, ties=False)

    class Model:
        def score_users(self, users: np.ndarray) -> np.ndarray:
            return scores[users].astype(np.float32)

    from_array = evaluate(scores.astype(np.float32), test, train, k=5)
    from_callable = evaluate(lambda users: scores[users].astype(np.float32), test, train, k=5)
    from_object = evaluate(Model(), test, train, k=5, batch_size=3)
    for report in (from_callable, from_object):
        assert report.summary == from_array.summary


def test_report_names_and_frame() -> None:
    scores, test, train = random_case(2)
    report = evaluate(scores, test, train, k=5)
    assert isinstance(report, MetricReport)
    assert set(report.per_user) == {"precision@5", "recall@5", "ndcg@5", "auc", "mrr", "hit_rate@5"}
    assert "coverage@5" in report.summary
    frame = report.to_frame()
    assert list(frame.index) == report.users.tolist()
    assert set(frame.columns) == set(report.per_user)


def test_top_k_order_ties_and_exclusion() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    exclude = sp.csr_matrix(np.array([[0, 0, 1, 0, 0], [1, 1, 1, 0, 1]]))
    indices, values = top_k(scores, np.array([0, 1]), 3, exclude=exclude)
    np.testing.assert_array_equal(indices, [[1, 4, 3], [3, -1, -1]])  # excluded: never returned
    np.testing.assert_array_equal(values, [[3, 3, 2], [0, np.nan, np.nan]])
    assert values.dtype == np.float32
    indices, _ = top_k(lambda users: scores[users], [0, 0], 2, batch_size=1)
    np.testing.assert_array_equal(indices, [[1, 2], [1, 2]])


def test_top_k_matches_naive_ranking() -> None:
    scores, _, train = random_case(5)
    users = np.arange(scores.shape[0])
    indices, values = top_k(scores, users, 7, exclude=sp.csr_matrix(train))
    for u in users:
        expected = naive_ranking(scores[u], set(np.flatnonzero(train[u])))[:7]
        assert indices[u].tolist() == expected
        np.testing.assert_array_equal(values[u], scores[u, expected])


# ----------------------------------------------------------------------------- memory and speed


def test_ml1m_sized_evaluation_stays_under_1gb() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items = 6040, 3706
    scores = rng.random((n_users, n_items), dtype=np.float32)
    draw = sp.random(n_users, n_items, density=0.045, format="csr", random_state=1)
    draw.data = rng.random(draw.nnz)
    test = draw.copy()
    test.data = (test.data < 0.2).astype(np.float32)
    train = draw.copy()
    train.data = (train.data >= 0.2).astype(np.float32)
    tracemalloc.start()
    try:
        report = evaluate(scores, test, train, k=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**30, f"peak traced memory {peak / 2**20:.0f} MiB"
    assert report.users.size > 6000
    assert 0.45 < report.summary["auc"] < 0.55


# ----------------------------------------------------------------------------- errors


def test_errors() -> None:
    scores, test, train = random_case(1)
    with pytest.raises(InputError, match="k"):
        evaluate(scores, test, train, k=0)
    with pytest.raises(InputError, match="larger than the number of items"):
        evaluate(scores, test, train, k=scores.shape[1] + 1)
    with pytest.raises(InputError, match="shape"):
        evaluate(scores[:, :-1], test, train)
    with pytest.raises(InputError, match="train has shape"):
        evaluate(scores, test, train[:-1])
    with pytest.raises(InputError, match="shape"):
        evaluate(lambda users: scores[users, :-1], test, train)
    with pytest.raises(InputError, match="no positive"):
        evaluate(scores, np.zeros_like(test), train)
    with pytest.raises(InputError, match="batch_size"):
        evaluate(scores, test, train, batch_size=0)
    with pytest.raises(InputError, match="scorer must be"):
        evaluate("scores", test, train)
    with pytest.raises(InputError, match="users"):
        top_k(scores, np.array([0, scores.shape[0]]), 3)


def test_nan_scores_name_the_users() -> None:
    scores, test, train = random_case(1)
    users = np.flatnonzero(test.sum(axis=1))
    scores[users[1], 3] = np.nan
    with pytest.raises(InputError, match=rf"NaN for 1 user\(s\), e.g. users \[{users[1]}\]"):
        evaluate(scores, test, train)


def test_leakage_is_refused() -> None:
    scores, test, train = random_case(1)
    u, i = np.argwhere(test > 0)[0]
    train[u, i] = 1
    with pytest.raises(LeakageError, match=rf"\({u}, {i}\)"):
        evaluate(scores, sp.csr_matrix(test), sp.csr_matrix(train))
