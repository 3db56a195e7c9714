"""Smoke tests of benchmarks/: the local protocol reference agrees with the package, and one
model runs end to end in its own subprocess. The peers (lightfm, implicit) are not needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _protocol


def _random_positives(seed=0, shape=(60, 40), density=0.2):
    m = sp.random(*shape, density=density, random_state=seed, format="csr", dtype=np.float32)
    m.data[:] = 1.0
    return m


def test_local_split_and_metrics_match_the_package():
    from tensorrec_explore.data import random_holdout
    from tensorrec_explore.metrics import evaluate

    positives = _random_positives()
    train, test = _protocol.random_holdout_local(positives, seed=42)
    split = random_holdout(positives, seed=42)
    assert (train != split.train).nnz == 0 and (test != split.test).nnz == 0

    scores = np.random.default_rng(1).normal(size=positives.shape).astype(np.float32)
    scores[:, :5] = 0.25  # ties: higher score first, then lower item index
    local = _protocol.evaluate_local(scores, test, train, k=10)
    package = evaluate(scores, test, train=train, k=10).summary
    for name in ("precision@10", "recall@10", "ndcg@10", "auc", "coverage@10"):
        assert local[name] == pytest.approx(package[name], abs=1e-9), name


def test_scaling_generator_has_exact_size():
    from scaling import synthetic_interactions

    m = synthetic_interactions(5_000, seed=0)
    assert m.nnz == 5_000 and m.max() == 1.0


@pytest.mark.movielens
def test_run_one_popularity_on_ml_100k():
    data = _protocol.default_data_dir()
    if not (data / "ml-100k" / "u.data").is_file():
        pytest.skip(f"no MovieLens 100k under {data}")
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "_run_one.py"),
            "popularity",
            "--dataset",
            "ml-100k",
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["n_users"], result["n_items"], result["n_train"] + result["n_test"]) == (
        943,
        1682,
        55_375,
    )
    assert 0.10 < result["metrics"]["ndcg@10"] < 0.20
    assert result["extra"]["top10_rows_identical_up_to_ties"] == 1.0


def test_ease_closed_form_is_a_ridge_regression_per_item_without_itself():
    x = _random_positives(seed=3, shape=(50, 12), density=0.3)
    l2 = 2.0
    weights = _protocol.ease_weights(x, l2)
    dense = x.toarray().astype(np.float64)
    for j in range(dense.shape[1]):
        others = np.delete(np.arange(dense.shape[1]), j)
        a = dense[:, others]
        expected = np.linalg.solve(a.T @ a + l2 * np.eye(others.size), a.T @ dense[:, j])
        np.testing.assert_allclose(weights[others, j], expected, rtol=1e-4, atol=1e-5)
        assert weights[j, j] == 0.0
