"""Evaluation refuses test pairs the model was trained on; the Explorer refuses a bare matrix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import InputError, LeakageError, TensorRec
from tensorrec_explore.data import random_holdout
from tensorrec_explore.metrics import evaluate, ndcg_at_k

from .planted import make_planted


@pytest.fixture(scope="module")
def trained() -> tuple[TensorRec, object]:
    split = random_holdout(make_planted().interactions, seed=42)
    return TensorRec(n_components=4, epochs=2, random_state=0).fit(split.train), split


def test_evaluating_on_training_pairs_is_refused(trained) -> None:
    model, _ = trained
    other = random_holdout(make_planted().interactions, seed=7)
    with pytest.raises(LeakageError, match=r"trained on \d+ of the \d+ test pairs"):
        evaluate(model, other.test, train=other.train)
    with pytest.raises(LeakageError, match="trained on"):
        ndcg_at_k(model, other.test)


def test_the_held_out_split_still_evaluates(trained) -> None:
    model, split = trained
    report = evaluate(model, split.test, train=split.train, k=5)
    assert 0.0 <= report.summary["ndcg@5"] <= 1.0


def test_training_data_on_purpose_through_the_scorer(trained) -> None:
    model, split = trained
    report = evaluate(model.score_users, split.train, k=5)
    assert np.isfinite(report.summary["precision@5"])


def test_explorer_refuses_a_bare_matrix() -> None:
    pytest.importorskip("ipywidgets")
    from tensorrec_explore.explorer import Explorer

    with pytest.raises(InputError, match=r"InteractionDataset\(matrix\)"):
        Explorer(sp.random(20, 10, density=0.3, format="csr", random_state=0), warm_umap=False)
