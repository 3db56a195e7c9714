"""Compare runs: every finished run's configuration and final metrics in one table, and any of
their curves overlaid in one figure (e.g. WMRB vs BPR, linear vs ReLU)."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..state import ExplorerState
from .inspector import frame_html

CURVES = {"data loss": ("epoch", "loss"), "regularisation": ("epoch", "regularization"),
          "precision@k": ("val_epoch", "val_precision"), "recall@k": ("val_epoch", "val_recall"),
          "NDCG@k": ("val_epoch", "val_ndcg")}
CONFIG_COLUMNS = ("user_representation", "item_representation", "prediction", "loss",
                  "n_components", "n_tastes", "learning_rate", "learning_rate_schedule", "l2",
                  "l2_auto", "epochs",
                  "batch_size",
                  "n_sampled_items", "user_feature_set", "item_feature_set", "split")


def runs_frame(runs: list[dict]) -> pd.DataFrame:
    """One row per run: its configuration, final metrics and seconds."""
    rows = []
    for run in runs:
        row = {"run": run["run"]}
        row.update({key: run["config"].get(key) for key in CONFIG_COLUMNS})
        row.update(run["metrics"])
        row["seconds"] = run.get("seconds", np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def run_label(run: dict) -> str:
    c = run["config"]
    return (f"#{run['run']} {c.get('user_representation')}/{c.get('item_representation')} "
            f"{c.get('loss')} d={c.get('n_components')}")


class RunsPanel:
    """The runs table and overlay figure (CSS class ``tre-runs``)."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.frame = runs_frame([])
        self.table = w.HTML("<i>finished runs appear here</i>")
        self.table.add_class("tre-runs-table")
        self.select = w.SelectMultiple(options=[], rows=5, description="Overlay",
                                       layout=w.Layout(width="28em"),
                                       style={"description_width": "4em"})
        self.select.add_class("tre-runs-select")
        self.curve = w.Dropdown(options=list(CURVES), value="NDCG@k", description="Curve",
                                layout=w.Layout(width="14em"),
                                style={"description_width": "3em"})
        self.figure = go.FigureWidget(layout=go.Layout(
            height=300, width=620, template="plotly_white", xaxis={"title": "epoch"},
            margin={"l": 50, "r": 10, "t": 35, "b": 35},
            title={"text": "Runs compared", "font": {"size": 13}}))
        self.figure.add_class("tre-runs-curve")
        state.observe(self._on_runs, names=["runs"])
        state.observe(self._on_overlay, names=["overlay_runs"])
        self.select.observe(self._on_select, names="value")
        self.curve.observe(self._redraw, names="value")
        self.widget = w.VBox([self.table, w.HBox([self.select, self.curve]), self.figure])
        self.widget.add_class("tre-runs")
        self._seen: set[int] = set()
        self._syncing = False
        self._on_runs()

    def _on_runs(self, change: Any = None) -> None:
        runs = self.state.runs
        self.frame = runs_frame(runs)
        self.table.value = frame_html(self.frame) if runs else \
            "<i>finished runs appear here</i>"
        self._syncing = True
        try:
            self.select.options = [(run_label(run), run["run"]) for run in runs]
        finally:
            self._syncing = False
        ids = [run["run"] for run in runs]
        # a new run is overlaid by default, with the ones already chosen
        new = [i for i in ids if i not in self._seen]
        self._seen = set(ids)
        self.state.overlay_runs = [i for i in dict.fromkeys(
            list(self.state.overlay_runs) + new) if i in ids]
        self._on_overlay()

    def _on_select(self, change: Any) -> None:
        if self._syncing:
            return
        self.state.overlay_runs = list(change["new"])

    def _on_overlay(self, change: Any = None) -> None:
        known = {value for _, value in self.select.options}
        valid = [i for i in self.state.overlay_runs if i in known]
        if tuple(self.select.value) != tuple(valid):
            self._syncing = True
            try:
                self.select.value = tuple(valid)
            finally:
                self._syncing = False
        self._redraw()

    def _redraw(self, change: Any = None) -> None:
        x_key, y_key = CURVES[self.curve.value]
        chosen = [r for r in self.state.runs if r["run"] in self.state.overlay_runs]
        with self.figure.batch_update():
            self.figure.data = []
            for run in chosen:
                h = run["history"]
                self.figure.add_trace(go.Scatter(
                    x=np.asarray(h.get(x_key, []), dtype=np.float32),
                    y=np.asarray(h.get(y_key, []), dtype=np.float32),
                    mode="lines", name=run_label(run)))
            self.figure.layout.yaxis.title = self.curve.value
