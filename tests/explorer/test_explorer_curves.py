"""The curves read like livelossplot: readout, best epoch, log scale, stop / resume marks, and
the validation loss next to the training loss."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tensorflow as tf
from explorer_support import train

from tensorrec_explore import LOSSES, TensorRec
from tensorrec_explore.callbacks import ValidationMetrics
from tensorrec_explore.explorer import Explorer
from tensorrec_explore.explorer.datasets import prepare
from tensorrec_explore.explorer.panels.curves import best_epoch, lowest_val_loss, readout_html
from tensorrec_explore.explorer.records import Snapshot
from tensorrec_explore.losses import Loss


def test_best_epoch_is_the_earliest_maximum_of_ndcg():
    history = {"val_epoch": [2, 4, 6, 8], "val_ndcg": [0.1, 0.3, float("nan"), 0.3]}
    assert best_epoch(history) == (4, 0.3)
    assert best_epoch({"val_epoch": [], "val_ndcg": []}) is None


def test_readout_gives_last_min_max_of_each_curve():
    history = {
        "epoch": [1, 2, 3],
        "loss": [3.0, 1.0, 2.0],
        "regularization": [0.5, 0.4, 0.3],
        "val_epoch": [3],
        "val_precision": [0.2],
        "val_recall": [0.4],
        "val_ndcg": [0.25],
    }
    html = readout_html(history, k=5)
    assert "<td>data loss</td><td>2</td><td>1</td><td>3</td>" in html
    assert "<td>NDCG@5</td><td>0.25</td>" in html
    assert "best NDCG@5: 0.2500 at epoch 3" in html


def test_curves_mark_best_epoch_stop_and_resume(explorer):
    p, s = explorer.panels.curves, explorer.state
    explorer.panels.config.epochs.value = 4
    train(explorer)
    best = best_epoch(s.history)
    assert best is not None
    assert any(shape.x0 == best[0] for shape in p.val_figure.layout.shapes)
    assert f"epoch {best[0]}" in p.val_figure.layout.annotations[0].text
    assert "last" in p.readout.value and "NDCG@10" in p.readout.value
    p.resume_button.click()
    assert explorer.controller.join(120)
    assert [m.label for m in s.curve_marks] == ["resumed"]
    assert [m.epoch for m in s.curve_marks] == [4]
    assert any(np.isclose(shape.x0, 4.5) for shape in p.loss_figure.layout.shapes)
    p.log_scale.value = True
    assert p.loss_figure.layout.yaxis.type == "log"
    p.reset_button.click()
    assert s.curve_marks == [] and not p.loss_figure.layout.shapes


def test_readout_gives_the_validation_loss_its_lowest_epoch_and_a_note():
    history = {
        "epoch": [1, 2, 3, 4],
        "loss": [3.0, 2.0, 1.5, 1.2],
        "val_epoch": [2, 4],
        "val_loss": [2.5, 2.7],
        "val_loss_note": [],
    }
    assert lowest_val_loss(history) == (2, 2.5)
    html = readout_html(history, k=5)
    assert "<td>validation loss</td><td>2.7</td><td>2.5</td><td>2.7</td>" in html
    assert "lowest validation loss: 2.5 at epoch 2" in html
    # an older history (no val_loss per validation epoch) draws and says nothing of it
    assert lowest_val_loss({"val_epoch": [2], "val_loss": []}) is None
    note = "validation loss not available for mine: <why>"
    assert "not available for mine: &lt;why&gt;" in readout_html({"val_loss_note": [note]}, 5)


def test_the_loss_figure_draws_the_validation_loss_at_validation_epochs(explorer):
    p, s = explorer.panels.curves, explorer.state
    explorer.panels.config.epochs.value = 4
    s.val_every = 2
    train(explorer)
    data_loss, _, validation = p.loss_figure.data
    assert validation.name == "validation loss" and validation.showlegend
    assert validation.line.color != data_loss.line.color
    assert list(validation.x) == [2, 4] == s.history["val_epoch"]
    assert np.isfinite(validation.y).all() and len(validation.y) == 2
    assert list(validation.y) == pytest.approx(s.history["val_loss"], rel=1e-6)
    lowest = lowest_val_loss(s.history)
    assert any(shape.x0 == lowest[0] for shape in p.loss_figure.layout.shapes)
    assert "lowest validation loss" in p.loss_figure.layout.annotations[0].text
    assert "<td>validation loss</td>" in p.readout.value


def test_a_loss_without_validation_loss_is_said_once(explorer):
    from tensorrec_explore.explorer.training import ExplorerCallback, empty_history

    class Validation:
        loss_unavailable = "validation loss not available for mine: no dislike held out"

    class Model:
        stop_training = False

    history = empty_history()
    callback = ExplorerCallback(
        explorer.state,
        threading.Event(),
        k=10,
        history=history,
        snapshots=[Snapshot(0, np.zeros((1, 2)), np.zeros((1, 2)))],
        first_epoch=0,
        snapshot_every=100,
        user_features=None,
        item_features=None,
        validation=Validation(),
    )
    for epoch in range(3):
        callback.on_epoch_end(Model(), epoch, {"loss": 1.0, "val_ndcg@10": 0.1})
    assert history["val_loss_note"] == [Validation.loss_unavailable]
    assert np.isnan(history["val_loss"]).all() and len(history["val_loss"]) == 3
    callback.push(0.0)
    assert explorer.panels.curves.readout.value.count("not available for mine") == 1


def test_a_saved_model_s_validation_loss_is_drawn_when_reopened(small_dataset, tmp_path):
    data = prepare(
        small_dataset, split="random_holdout", user_feature_set="ids", item_feature_set="ids"
    )
    model = TensorRec(n_components=6, epochs=4, random_state=0)
    model.fit(data["train"], validation=ValidationMetrics(data["test"], every=2))
    model.save(tmp_path / "model")
    loaded = TensorRec.load(tmp_path / "model")
    assert loaded.history_.logs == pytest.approx(model.history_.logs)
    ex = Explorer(small_dataset, model=loaded, warm_umap=False, preload=False)
    try:
        validation = ex.panels.curves.loss_figure.data[2]
        assert list(validation.x) == [2, 4]
        expected = [log["val_loss"] for log in model.history_.logs if "val_loss" in log]
        assert list(validation.y) == pytest.approx(expected, rel=1e-6)
    finally:
        ex.close()


class CompiledOnly(Loss):
    """A custom dense loss whose call only works inside the compiled training step."""

    needs_item_counts = False

    def call(self, inputs):
        if tf.executing_eagerly():
            raise ValueError("written for the compiled step only")
        return tf.reduce_mean(tf.square(inputs.scores - inputs.targets))


def test_training_with_a_loss_without_validation_loss_says_why_once(small_dataset, monkeypatch):
    monkeypatch.setitem(LOSSES._entries, "compiled_only", CompiledOnly)
    ex = Explorer(small_dataset, warm_umap=False, epochs=4, val_every=1, n_components=4)
    try:
        ex.state.loss = "compiled_only"
        train(ex)
        s, p = ex.state, ex.panels.curves
        assert s.status == "finished" and not s.error
        assert len(s.history["val_epoch"]) == 4 and np.isnan(s.history["val_loss"]).all()
        assert len(p.loss_figure.data[2].y) == 0 and not p.loss_figure.data[2].showlegend
        assert p.readout.value.count("validation loss not available for compiled_only") == 1
        assert "written for the compiled step only" in p.readout.value
    finally:
        ex.close()
