"""Train live: Train / Stop / Resume / Reset, a progress bar, and the learning curves.

The two figures are plotly ``FigureWidget``s created once and updated in place inside
``batch_update()`` with float32 arrays (sent as binary). The controller already throttles how
often ``state.history`` changes, so each change is redrawn as it comes.
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from ..state import ExplorerState

LOSS_TRACES = (("loss", "data loss"), ("regularization", "regularisation"))
VAL_TRACES = (("val_precision", "precision@k"), ("val_recall", "recall@k"),
              ("val_ndcg", "NDCG@k"))


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _figure(title: str, names, yaxis_title: str, secondary: bool = False) -> go.FigureWidget:
    traces = []
    for i, name in enumerate(names):
        trace = go.Scatter(x=_f32([]), y=_f32([]), mode="lines+markers", name=name,
                           marker={"size": 4})
        if secondary and i == 1:
            trace.yaxis = "y2"
        traces.append(trace)
    layout = go.Layout(
        title={"text": title, "font": {"size": 13}}, height=260, width=460,
        margin={"l": 50, "r": 50 if secondary else 10, "t": 35, "b": 35},
        xaxis={"title": "epoch"}, yaxis={"title": yaxis_title},
        legend={"orientation": "h", "y": -0.25}, template="plotly_white")
    if secondary:
        layout.yaxis2 = {"overlaying": "y", "side": "right", "title": "regularisation",
                         "showgrid": False}
    return go.FigureWidget(data=traces, layout=layout)


class CurvesPanel:
    """Buttons (``tre-train``, ``tre-stop``, ``tre-resume``, ``tre-reset``), a progress bar
    (``tre-progress``) and the loss (``tre-loss-curve``) and validation (``tre-val-curve``)
    figures."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.train_button = w.Button(description="Train", icon="play", button_style="primary",
                                     tooltip="Start a fresh run with the configuration")
        self.stop_button = w.Button(description="Stop", icon="stop", button_style="warning",
                                    tooltip="Stop after the current epoch")
        self.resume_button = w.Button(description="Resume", icon="forward",
                                      tooltip="Continue this model for 'Epochs' more epochs")
        self.reset_button = w.Button(description="Reset", icon="undo",
                                     tooltip="Forget the current model and curves")
        for button, cls in ((self.train_button, "tre-train"), (self.stop_button, "tre-stop"),
                            (self.resume_button, "tre-resume"), (self.reset_button, "tre-reset")):
            button.add_class(cls)
            button.layout.width = "7.5em"
        self.progress = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="16em"))
        self.progress.add_class("tre-progress")
        self.speed = w.HTML()
        self.speed.add_class("tre-speed")
        self.loss_figure = _figure("Training loss", [n for _, n in LOSS_TRACES], "data loss",
                                   secondary=True)
        self.loss_figure.add_class("tre-loss-curve")
        self.val_figure = _figure("Validation (held-out split)", [n for _, n in VAL_TRACES],
                                  "metric @k")
        self.val_figure.add_class("tre-val-curve")
        self.widget = w.VBox([
            w.HBox([self.train_button, self.stop_button, self.resume_button, self.reset_button]),
            w.HBox([self.progress, self.speed]),
            self.loss_figure, self.val_figure,
        ])
        self.widget.add_class("tre-train-panel")
        state.observe(self._redraw_curves, names=["history"])
        state.observe(self._redraw_progress,
                      names=["epoch", "target_epochs", "epochs_per_second", "status", "model",
                             "k", "elapsed"])
        state.observe(self._retitle, names=["run_id"])
        self._redraw_curves()
        self._redraw_progress()
        self._retitle()

    def _retitle(self, change=None) -> None:
        """Name the run the curves belong to."""
        run = f" (run {self.state.run_id})" if self.state.run_id else ""
        self.loss_figure.layout.title.text = f"Training loss{run}"
        self.val_figure.layout.title.text = f"Validation (held-out split){run}"

    def _redraw_curves(self, change=None) -> None:
        h = self.state.history
        epochs = _f32(h.get("epoch", []))
        val_epochs = _f32(h.get("val_epoch", []))
        with self.loss_figure.batch_update():
            for trace, (key, _) in zip(self.loss_figure.data, LOSS_TRACES):
                trace.x = epochs
                trace.y = _f32(h.get(key, []))
        with self.val_figure.batch_update():
            for trace, (key, _) in zip(self.val_figure.data, VAL_TRACES):
                trace.x = val_epochs
                trace.y = _f32(h.get(key, []))

    def _redraw_progress(self, change=None) -> None:
        s = self.state
        self.progress.max = max(s.target_epochs, 1)
        self.progress.value = min(s.epoch, self.progress.max)
        training = s.training
        self.train_button.disabled = training
        self.stop_button.disabled = not training or s.status == "stopping"
        self.resume_button.disabled = training or s.model is None
        speed = f"{s.epochs_per_second:.1f} epochs/s" if s.epochs_per_second else ""
        self.speed.value = (f"epoch {s.epoch} / {s.target_epochs} &nbsp; {speed} &nbsp; "
                            f"{s.elapsed:.1f} s" if s.target_epochs else "")
        k = s.k
        names = [f"precision@{k}", f"recall@{k}", f"NDCG@{k}"]
        if [t.name for t in self.val_figure.data] != names:
            with self.val_figure.batch_update():
                for trace, name in zip(self.val_figure.data, names):
                    trace.name = name
