"""The contract suite: every representation x prediction x loss behaves as an estimator should."""

from __future__ import annotations

import numpy as np
import pytest

from tensorrec_explore import LOSSES, PREDICTIONS, REPRESENTATIONS, InputError, TensorRec

from .planted import WIDTH, make_planted

COMBINATIONS = [
    (rep, pred, loss)
    for rep in REPRESENTATIONS.names()[:5]
    for pred in PREDICTIONS.names()[:3]
    for loss in LOSSES.names()[:10]
]


def _model(rep: str, pred: str, loss: str, seed: int = 3) -> TensorRec:
    return TensorRec(
        n_components=WIDTH,
        user_representation=rep,
        item_representation=rep,
        prediction=pred,
        loss=loss,
        epochs=3,
        learning_rate=0.05,
        batch_size=64,
        n_sampled_items=12,
        random_state=seed,
    )


def _covering() -> list[tuple[str, str, str]]:
    """Each representation, prediction and loss at least once, with simple partners."""
    chosen = {(rep, "dot", "softmax") for rep in REPRESENTATIONS.names()[:5]}
    chosen |= {("linear", pred, "wmrb") for pred in PREDICTIONS.names()[:3]}
    chosen |= {("linear", "dot", loss) for loss in LOSSES.names()[:10]}
    return sorted(chosen)


def _fit(rep: str, pred: str, loss: str, seed: int = 3):
    data = make_planted(explicit=(loss == "separation"))
    features = {"user_features": data.user_features, "item_features": data.item_features}
    model = _model(rep, pred, loss, seed)
    assert model.fit(data.interactions, **features) is model
    return model, data, features


@pytest.mark.parametrize("rep,pred,loss", COMBINATIONS)
def test_contract(rep: str, pred: str, loss: str) -> None:
    model, data, features = _fit(rep, pred, loss)
    scores = model.predict()
    assert scores.shape == data.interactions.shape and np.isfinite(scores).all()

    single = model.score_users([7])
    np.testing.assert_allclose(single[0], scores[7], rtol=1e-4, atol=1e-5)

    top, _ = model.recommend(np.arange(data.interactions.shape[0]), k=5, exclude=data.interactions)
    for user in range(data.interactions.shape[0]):
        assert not np.isin(top[user], data.interactions[user].indices).any()
    for user in (0, 11):
        allowed = np.setdiff1d(np.arange(scores.shape[1]), data.interactions[user].indices)
        best = allowed[np.argsort(-scores[user, allowed], kind="stable")[:5]]
        np.testing.assert_allclose(
            np.sort(scores[user, top[user]]), np.sort(scores[user, best]), rtol=1e-4, atol=1e-5
        )

    before = model.predict()
    model.fit_partial(data.interactions, **features, epochs=1)
    assert model.epochs_done_ == 4 and len(model.history_.logs) == 4
    if model.history_.logs[-2]["loss"] > 1e-3:
        assert not np.allclose(model.predict(), before), "fit_partial did not change the model"

    bad = data.interactions.toarray()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        _model(rep, pred, loss).fit(bad, **features)


@pytest.mark.parametrize("rep,pred,loss", _covering())
def test_reproducible_and_round_trips(rep: str, pred: str, loss: str, tmp_path) -> None:
    model, _data, _features = _fit(rep, pred, loss)
    scores = model.predict()
    again, _, _ = _fit(rep, pred, loss)
    np.testing.assert_allclose(again.predict(), scores, rtol=1e-4, atol=1e-5)
    other, _, _ = _fit(rep, pred, loss, seed=4)
    if rep != "pass_through":
        assert not np.allclose(other.predict(), scores)

    loaded = TensorRec.load(model.save(tmp_path / "model"))
    np.testing.assert_allclose(loaded.predict(), scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(loaded.recommend([1, 2], k=4)[0], model.recommend([1, 2], k=4)[0])
