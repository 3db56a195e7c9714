"""Each loss lowers its value and recovers planted positives; explicit dislikes rank last."""

from __future__ import annotations

import numpy as np
import pytest

from tensorrec_explore import LOSSES, TensorRec, TrainingError
from tensorrec_explore.metrics import evaluate

from .planted import make_planted

RANKING_LOSSES = [name for name in LOSSES.names()[:10] if name not in ("rmse", "separation")]


def _fit(loss: str, explicit: bool, epochs: int = 40) -> tuple[TensorRec, object]:
    data = make_planted(explicit=explicit)
    model = TensorRec(
        n_components=8,
        loss=loss,
        epochs=epochs,
        learning_rate=0.05,
        batch_size=64,
        n_sampled_items=16,
        random_state=0,
    )
    model.fit(data.interactions, user_features=data.user_features, item_features=data.item_features)
    return model, data


@pytest.mark.parametrize("loss", LOSSES.names()[:10])
def test_loss_decreases_and_recovers_planted_positives(loss: str) -> None:
    model, data = _fit(loss, explicit=loss in ("separation", "rmse"))
    curve = model.history_.series("loss")
    assert curve[-5:].mean() < curve[:3].mean(), curve
    report = evaluate(model, data.held_out, train=data.interactions, k=5)
    # Held-out items are the unseen items of the user's own cluster: a model that learned the
    # planted clusters ranks them far above chance (AUC 0.5).
    assert report.summary["auc"] > 0.9, report.summary


@pytest.mark.parametrize("loss", RANKING_LOSSES)
def test_explicit_dislikes_rank_below_unobserved_and_liked(loss: str) -> None:
    model, data = _fit(loss, explicit=True)
    scores = model.predict()
    values = data.interactions.toarray()
    for user in range(values.shape[0]):
        disliked, liked = values[user] < 0, values[user] > 0
        unobserved = values[user] == 0
        if disliked.any():
            assert scores[user, disliked].mean() < scores[user, unobserved].mean()
            assert scores[user, disliked].max() < scores[user, liked].min() + 1e-6


def test_rank_loss_without_positives_is_refused() -> None:
    data = make_planted(explicit=True)
    only_negative = data.interactions.copy()
    only_negative.data = -np.abs(only_negative.data)
    with pytest.raises(TrainingError, match="no positive"):
        TensorRec(n_components=4, loss="wmrb", epochs=1).fit(only_negative)


def test_separation_without_negatives_is_refused() -> None:
    data = make_planted(explicit=False)
    with pytest.raises(TrainingError, match="separation_dense"):
        TensorRec(n_components=4, loss="separation", epochs=1).fit(data.interactions)
