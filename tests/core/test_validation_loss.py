"""The validation loss: the model's data loss on held-out interactions, logged as val_loss."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from tensorrec_explore import TensorRec
from tensorrec_explore.callbacks import Callback, EarlyStopping, ValidationMetrics
from tensorrec_explore.data import make_synthetic
from tensorrec_explore.data.splits import random_holdout
from tensorrec_explore.errors import InputError, ModelFileError, ValidationLossUnavailable
from tensorrec_explore.losses import Loss
from tensorrec_explore.representations import ReLU
from tensorrec_explore.validation_loss import validation_loss


@pytest.fixture(scope="module")
def split():
    data = make_synthetic(n_users=40, n_items=30, n_clusters=3, interactions_per_user=8, seed=3)
    return random_holdout(data.interactions, 0.25, seed=0)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    top = scores.max(axis=1, keepdims=True)
    return scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))


def test_softmax_val_loss_equals_a_brute_force_computation(split):
    # batch_size 7: the dense loss runs on several user blocks, weighted by their held-out likes
    model = TensorRec(loss="softmax", n_components=6, epochs=3, batch_size=7, random_state=0)
    model.fit(split.train)
    scores = model.score_users(np.arange(split.test.shape[0])).astype(np.float64)
    test = sp.csr_matrix(split.test)
    users, items = test.nonzero()  # every held-out pair is liked; training items not masked
    expected = -_log_softmax(scores)[users, items].mean()
    assert validation_loss(model, split.test) == pytest.approx(expected, rel=1e-5)
    # masking the training items would give another (lower) value: the test can tell
    masked = np.where(sp.csr_matrix(split.train).toarray() > 0, -np.inf, scores)
    assert -_log_softmax(masked)[users, items].mean() < expected - 1e-3


def test_rmse_val_loss_equals_a_brute_force_computation(split):
    model = TensorRec(loss="rmse", n_components=6, epochs=3, batch_size=10_000, random_state=0)
    model.fit(split.train)
    scores = model.score_users(np.arange(split.test.shape[0])).astype(np.float64)
    users, items = sp.csr_matrix(split.test).nonzero()
    expected = math.sqrt(np.mean((scores[users, items] - 1.0) ** 2))
    assert validation_loss(model, split.test) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("loss", ["bpr", "softmax"])  # softmax: its sampled form (in-batch)
def test_a_sampled_val_loss_repeats_for_a_fixed_seed_and_is_the_logged_one(split, loss):
    # a deep tower with dropout: evaluated in inference mode, so the value does not change
    model = TensorRec(
        loss=loss,
        n_components=6,
        epochs=2,
        batch_size=16,
        n_sampled_items=8,
        item_representation=ReLU(dropout=0.5),
        random_state=0,
    )
    model.fit(split.train, validation=split.test)
    assert model._fitted.trained_by.loss.inputs == "sampled"
    first = validation_loss(model, split.test)
    assert validation_loss(model, split.test) == first
    assert model.history_.logs[-1]["val_loss"] == pytest.approx(first, rel=1e-6)
    assert validation_loss(model, split.test, seed=1) != first  # the draws matter


def test_val_loss_is_logged_on_validation_epochs_and_falls_on_planted_data():
    data = make_synthetic(n_users=150, n_items=80, n_clusters=4, interactions_per_user=12, seed=1)
    planted = random_holdout(data.interactions, 0.2, seed=0)
    for loss in ("softmax", "wmrb"):
        model = TensorRec(loss=loss, n_components=8, epochs=6, random_state=0)
        model.fit(planted.train, validation=ValidationMetrics(planted.test, k=5, every=2))
        logged = [epoch for epoch, log in enumerate(model.history_.logs) if "val_loss" in log]
        assert logged == [1, 3, 5]
        series = model.history_.series("val_loss")[logged]
        assert series[1] < series[0] and series[2] < series[1], (loss, series)


def test_val_loss_takes_held_out_dislikes():
    data = make_synthetic(n_users=60, n_items=40, n_clusters=3, interactions_per_user=10, seed=2)
    signed = sp.csr_matrix(data.interactions, dtype=np.float32)
    signed.data = np.where(np.arange(signed.nnz) % 4 == 0, -1.0, 1.0).astype(np.float32)
    held = random_holdout(signed, 0.3, seed=0, binary=False)
    assert (held.test.data < 0).any()
    for loss in ("softmax", "bpr", "rmse"):
        model = TensorRec(loss=loss, n_components=6, epochs=1, random_state=0)
        model.fit(held.train, validation=held.test)
        assert math.isfinite(model.history_.logs[-1]["val_loss"]), loss


class _NeedsDislikes(Loss):
    """A custom dense loss that only learns from dislikes."""

    needs_negatives = True
    needs_item_counts = False

    def call(self, inputs):
        return self.dislike_term(inputs) + 0.0 * inputs.scores[0, 0]


class _FailsOnValidation(Loss):
    """A custom dense loss whose call only works inside the compiled training step."""

    needs_item_counts = False

    def call(self, inputs):
        if tf.executing_eagerly():
            raise ValueError("written for the compiled step only")
        return -inputs.scores[0, 0]


def test_a_loss_that_cannot_give_a_val_loss_logs_no_key_and_says_why(split):
    signed = sp.csr_matrix(split.train, dtype=np.float32)
    signed.data[::3] = -1.0
    validation = ValidationMetrics(split.test, k=5)
    model = TensorRec(loss=_NeedsDislikes(), n_components=4, epochs=2, random_state=0)
    model.fit(signed, validation=validation)
    assert not any("val_loss" in log for log in model.history_.logs)
    assert "val_ndcg@5" in model.history_.logs[-1]
    assert validation.loss_unavailable.startswith(
        "validation loss not available for _NeedsDislikes: "
    )
    assert "no dislike" in validation.loss_unavailable

    failing = ValidationMetrics(split.test, k=5)
    model = TensorRec(loss=_FailsOnValidation(), n_components=4, epochs=2, random_state=0)
    model.fit(split.train, validation=failing)  # training itself is not disturbed
    assert not any("val_loss" in log for log in model.history_.logs)
    assert "written for the compiled step only" in failing.loss_unavailable
    with pytest.raises(ValidationLossUnavailable, match="_FailsOnValidation"):
        validation_loss(model, split.test)


def test_bad_held_out_interactions_are_refused(split):
    model = TensorRec(loss="bpr", n_components=4, epochs=1, random_state=0).fit(split.train)
    with pytest.raises(InputError, match="shape"):
        validation_loss(model, sp.csr_matrix((3, 3)))
    with pytest.raises(InputError, match="must be a sparse"):
        validation_loss(model, [[1, 0]])


class _Model:
    stop_training = False


def test_early_stopping_minimises_val_loss_and_maximises_val_metrics():
    model, stopper = _Model(), EarlyStopping(monitor="val_loss", patience=2)
    stopper.on_train_begin(model, {})
    for epoch, value in enumerate([1.0, 0.8, 0.9, 1.1]):
        assert not model.stop_training, epoch
        stopper.on_epoch_end(model, epoch, {"val_loss": value})
    assert model.stop_training  # rose twice after its best (0.8)
    assert stopper.best == pytest.approx(0.8)

    model, stopper = _Model(), EarlyStopping(monitor="val_ndcg@10", patience=2)
    stopper.on_train_begin(model, {})
    for epoch, value in enumerate([0.1, 0.2, 0.3, 0.4]):
        stopper.on_epoch_end(model, epoch, {"val_ndcg@10": value})
    assert not model.stop_training  # rising NDCG is improvement


class _Tagger(Callback):
    """Adds a log a JSON file cannot hold as a number."""

    def on_epoch_end(self, model, epoch, logs):
        logs["note"] = "not a number"


def test_the_history_is_saved_with_the_model(split, tmp_path):
    model = TensorRec(loss="bpr", n_components=4, epochs=2, random_state=0)
    model.fit(split.train, validation=split.test, callbacks=[_Tagger()])
    model.save(tmp_path / "model")
    loaded = TensorRec.load(tmp_path / "model")
    assert loaded.history_.epochs == [0, 1]
    kept = [{k: v for k, v in log.items() if k != "note"} for log in model.history_.logs]
    assert loaded.history_.logs == pytest.approx(kept)
    assert "val_loss" in loaded.history_.logs[-1]
    loaded.fit_partial(split.train, epochs=1)  # continues the history
    assert loaded.history_.epochs == [0, 1, 2]

    config = json.loads((tmp_path / "model" / "config.json").read_text())
    config["history"] = {"epochs": [0], "logs": "broken"}
    (tmp_path / "model" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="training history is invalid"):
        TensorRec.load(tmp_path / "model")
