"""Train live: Train / Stop / Resume / Reset, a progress bar, and the learning curves.

The two figures are plotly ``FigureWidget``s created once and updated in place inside
``batch_update()`` with float32 arrays (sent as binary). The controller already throttles how
often ``state.history`` changes, so each change is redrawn as it comes. Like livelossplot, a
readout gives each curve's last / min / max value, the best validation epoch is marked with its
value, the loss axis can switch to a log scale, and dotted lines mark where the run was stopped
and resumed (each Resume restarts the learning-rate schedule). The loss figure also draws the
validation loss (the same data loss on the held-out interactions, at validation epochs) on the
training loss's axis, its lowest epoch marked; when the loss cannot give one, the readout says
why.
"""

from __future__ import annotations

import html

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from ..records import CurveMark
from ..state import ExplorerState
from .figure_style import LiveFigure, light_layout

LOSS_TRACES = (("loss", "data loss"), ("regularization", "regularisation"))
#: The validation loss: drawn on the data loss's axis, at validation epochs.
VAL_LOSS_TRACE = ("val_loss", "validation loss")
VAL_LOSS_COLOUR = "#d62728"
VAL_TRACES = (("val_precision", "precision@k"), ("val_recall", "recall@k"), ("val_ndcg", "NDCG@k"))


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def best_epoch(history: dict) -> tuple[int, float] | None:
    """``(epoch, NDCG)`` of the best validation NDCG so far (the earliest on ties), or None."""
    values = history.get("val_ndcg") or []
    finite = [(v, -i) for i, v in enumerate(values) if np.isfinite(v)]
    if not finite:
        return None
    value, minus_index = max(finite)
    return int(history["val_epoch"][-minus_index]), float(value)


def lowest_val_loss(history: dict) -> tuple[int, float] | None:
    """``(epoch, value)`` of the lowest validation loss so far (the earliest on ties), or None."""
    values = _val_series(history, VAL_LOSS_TRACE[0])
    finite = [(v, i) for i, v in enumerate(values) if np.isfinite(v)]
    if not finite:
        return None
    value, index = min(finite)
    return int(history["val_epoch"][index]), float(value)


def _val_series(history: dict, key: str) -> list:
    """``history[key]`` when it has one value per validation epoch, else [] (an older
    history without that key)."""
    values = history.get(key) or []
    return values if len(values) == len(history.get("val_epoch") or []) else []


def readout_html(history: dict, k: int) -> str:
    """A small table: each curve's last, min and max value (livelossplot's readout)."""
    rows = []
    names = (
        dict(LOSS_TRACES)
        | dict([VAL_LOSS_TRACE])
        | {
            "val_precision": f"precision@{k}",
            "val_recall": f"recall@{k}",
            "val_ndcg": f"NDCG@{k}",
        }
    )
    for key, name in names.items():
        values = np.asarray(history.get(key) or [], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            rows.append(
                f"<tr><td>{name}</td><td>{values[-1]:.4g}</td><td>{values.min():.4g}"
                f"</td><td>{values.max():.4g}</td></tr>"
            )
    notes = [
        f"<div class='tre-val-loss-note'>{html.escape(text)}</div>"
        for text in history.get("val_loss_note") or []
    ]
    if not rows:
        return "".join(notes)
    best = best_epoch(history)
    if best:
        notes.append(f"<div>best NDCG@{k}: {best[1]:.4f} at epoch {best[0]}</div>")
    lowest = lowest_val_loss(history)
    if lowest:
        notes.append(f"<div>lowest validation loss: {lowest[1]:.4g} at epoch {lowest[0]}</div>")
    return (
        "<table class='tre-readout' style='font-size:12px'><tr><th></th><th>last</th>"
        f"<th>min</th><th>max</th></tr>{''.join(rows)}</table>{''.join(notes)}"
    )


def _vline(epoch: float, colour: str, dash: str) -> dict:
    return {
        "type": "line",
        "x0": epoch,
        "x1": epoch,
        "xref": "x",
        "y0": 0,
        "y1": 1,
        "yref": "paper",
        "line": {"color": colour, "dash": dash, "width": 1},
    }


def _mark_shapes(marks: list[CurveMark]) -> list[dict]:
    colours = {"stopped": "#9a6700", "resumed": "#1f6feb"}
    return [_vline(m.epoch + 0.5, colours.get(m.label, "#555"), "dot") for m in marks]


def _best_shape(best: tuple[int, float], colour: str = "#1a7f37") -> list[dict]:
    return [_vline(best[0], colour, "dash")]


def _best_note(best: tuple[int, float], text: str, colour: str = "#1a7f37") -> list[dict]:
    return [
        {
            "x": best[0],
            "y": 0.03,
            "xref": "x",
            "yref": "paper",
            "showarrow": False,
            "xanchor": "right",
            "yanchor": "bottom",
            "font": {"size": 10, "color": colour},
            "text": f"{text} {best[1]:.3g} (epoch {best[0]})",
        }
    ]


def _figure(title: str, names, yaxis_title: str, secondary: bool = False) -> go.FigureWidget:
    traces = []
    for i, name in enumerate(names):
        trace = go.Scatter(
            x=_f32([]), y=_f32([]), mode="lines+markers", name=name, marker={"size": 4}
        )
        if secondary and i == 1:
            trace.yaxis = "y2"
        traces.append(trace)
    layout = light_layout(
        title={"text": title, "font": {"size": 13}},
        height=270,
        width=420,
        margin={"l": 50, "r": 50 if secondary else 10, "t": 35, "b": 70},
        xaxis={"title": "epoch"},
        yaxis={"title": yaxis_title},
        legend={"orientation": "h", "y": -0.4},
    )
    if secondary:
        layout.yaxis2 = {
            "overlaying": "y",
            "side": "right",
            "title": "regularisation",
            "showgrid": False,
        }
    return LiveFigure(data=traces, layout=layout)


class CurvesPanel:
    """Buttons (``tre-train``, ``tre-stop``, ``tre-resume``, ``tre-reset``), a progress bar
    (``tre-progress``) and the loss (``tre-loss-curve``) and validation (``tre-val-curve``)
    figures."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.train_button = w.Button(
            description="Train",
            icon="play",
            button_style="primary",
            tooltip="Start a fresh run with the configuration",
        )
        self.stop_button = w.Button(
            description="Stop",
            icon="stop",
            button_style="warning",
            tooltip="Stop after the current epoch",
        )
        self.resume_button = w.Button(
            description="Resume",
            icon="forward",
            tooltip="Continue this model for 'Epochs' more epochs",
        )
        self.reset_button = w.Button(
            description="Reset", icon="undo", tooltip="Forget the current model and curves"
        )
        for button, cls in (
            (self.train_button, "tre-train"),
            (self.stop_button, "tre-stop"),
            (self.resume_button, "tre-resume"),
            (self.reset_button, "tre-reset"),
        ):
            button.add_class(cls)
            button.layout.width = "7.5em"
        self.progress = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="16em"))
        self.progress.add_class("tre-progress")
        self.speed = w.HTML()
        self.speed.add_class("tre-speed")
        self.loss_figure = _figure(
            "Training loss", [n for _, n in LOSS_TRACES], "data loss", secondary=True
        )
        self.loss_figure.add_trace(
            go.Scatter(
                x=_f32([]),
                y=_f32([]),
                mode="lines+markers",
                name=VAL_LOSS_TRACE[1],
                marker={"size": 6, "symbol": "diamond", "color": VAL_LOSS_COLOUR},
                line={"color": VAL_LOSS_COLOUR, "dash": "dash"},
                showlegend=False,
            )
        )
        self.loss_figure.add_class("tre-loss-curve")
        self.val_figure = _figure(
            "Validation (held-out split)", [n for _, n in VAL_TRACES], "metric @k"
        )
        self.val_figure.add_class("tre-val-curve")
        self.log_scale = w.Checkbox(
            description="log-scale loss", indent=False, layout=w.Layout(width="10em")
        )
        self.log_scale.add_class("tre-log-scale")
        self.log_scale.observe(self._on_log_scale, names="value")
        self.readout = w.HTML()
        self.readout.add_class("tre-curve-readout")
        self.widget = w.VBox(
            [
                w.HBox(
                    [self.train_button, self.stop_button, self.resume_button, self.reset_button]
                ),
                w.HBox([self.progress, self.speed]),
                self.loss_figure,
                self.val_figure,
                w.HBox([self.log_scale]),
                self.readout,
            ]
        )
        self.widget.add_class("tre-train-panel")
        state.observe(self._redraw_curves, names=["history", "curve_marks"])
        state.observe(
            self._redraw_progress,
            names=[
                "epoch",
                "target_epochs",
                "epochs_per_second",
                "status",
                "model",
                "k",
                "elapsed",
                "config_problems",
            ],
        )
        state.observe(self._retitle, names=["run_id"])
        self._marks_key: tuple | None = None
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
        best, lowest = best_epoch(h), lowest_val_loss(h)
        # a layout change redraws the whole figure in the browser: only when the marks change
        marks_key = (
            tuple(self.state.curve_marks),
            best,
            lowest,
            self.state.k,
        )
        relayout = marks_key != self._marks_key
        self._marks_key = marks_key
        marks = _mark_shapes(self.state.curve_marks)
        val_loss = _f32(_val_series(h, VAL_LOSS_TRACE[0]))
        drawn = bool(np.isfinite(val_loss).any())  # no legend entry for a loss without one
        *train_traces, val_loss_trace = self.loss_figure.data
        with self.loss_figure.batch_update():
            for trace, (key, _) in zip(train_traces, LOSS_TRACES, strict=True):
                trace.x = epochs
                trace.y = _f32(h.get(key, []))
            val_loss_trace.x = val_epochs if drawn else _f32([])
            val_loss_trace.y = val_loss if drawn else _f32([])
            if val_loss_trace.showlegend != drawn:
                val_loss_trace.showlegend = drawn
            if relayout:
                lowest_mark = _best_shape(lowest, VAL_LOSS_COLOUR) if lowest else []
                self.loss_figure.layout.shapes = marks + lowest_mark
                self.loss_figure.layout.annotations = (
                    _best_note(lowest, "lowest validation loss", VAL_LOSS_COLOUR) if lowest else []
                )
        with self.val_figure.batch_update():
            for trace, (key, _) in zip(self.val_figure.data, VAL_TRACES, strict=True):
                trace.x = val_epochs
                trace.y = _f32(h.get(key, []))
            if relayout:
                self.val_figure.layout.shapes = marks + (_best_shape(best) if best else [])
                self.val_figure.layout.annotations = (
                    _best_note(best, f"best NDCG@{self.state.k}") if best else []
                )
        self.readout.value = readout_html(h, self.state.k)

    def _on_log_scale(self, change=None) -> None:
        self.loss_figure.layout.yaxis.type = "log" if self.log_scale.value else "linear"

    def _redraw_progress(self, change=None) -> None:
        s = self.state
        with self.progress.hold_sync():  # one message when both change
            self.progress.max = max(s.target_epochs, 1)
            self.progress.value = min(s.epoch, self.progress.max)
        training = s.training
        self.train_button.disabled = training or bool(s.config_problems)
        self.train_button.tooltip = (
            "Fix the settings marked in red first"
            if s.config_problems
            else "Start a fresh run with the configuration"
        )
        self.stop_button.disabled = not training or s.status == "stopping"
        self.resume_button.disabled = training or s.model is None
        speed = f"{s.epochs_per_second:.1f} epochs/s" if s.epochs_per_second else ""
        self.speed.value = (
            f"epoch {s.epoch} / {s.target_epochs} &nbsp; {speed} &nbsp; {s.elapsed:.1f} s"
            if s.target_epochs
            else ""
        )
        k = s.k
        names = [f"precision@{k}", f"recall@{k}", f"NDCG@{k}"]
        if [t.name for t in self.val_figure.data] != names:
            with self.val_figure.batch_update():
                for trace, name in zip(self.val_figure.data, names, strict=True):
                    trace.name = name
