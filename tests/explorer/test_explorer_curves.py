"""The curves read like livelossplot: readout, best epoch, log scale, stop / resume marks."""

from __future__ import annotations

import numpy as np
from explorer_support import train

from tensorrec_explore.explorer.panels.curves import best_epoch, readout_html


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
