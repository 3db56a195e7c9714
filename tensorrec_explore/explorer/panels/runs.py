"""Compare runs: every finished run's final metrics and configuration in one table, and any of
their curves overlaid in one figure (e.g. WMRB vs BPR, linear vs ReLU).

The table reads like a runs table of an experiment tracker: metrics first, sortable, the best
value of each metric highlighted, the settings actually used (the model's resolved learning
rate, epochs and L2, not the form's "auto"), and only the settings that differ between runs as
columns (the others in one line under it), so it fits its panel without sideways scrolling.
Run labels name every setting that differs.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..records import RunRecord
from ..state import CONFIG_TRAITS, MODEL_SETTINGS, RUN_SETTINGS, ExplorerState
from .figure_style import LiveFigure, light_layout

CURVES = {
    "data loss": ("epoch", "loss"),
    "regularisation": ("epoch", "regularization"),
    "precision@k": ("val_epoch", "val_precision"),
    "recall@k": ("val_epoch", "val_recall"),
    "NDCG@k": ("val_epoch", "val_ndcg"),
    "validation loss": ("val_epoch", "val_loss"),
}
#: Short column headers and run-label keys, from the declaration.
_SHORT = {s.name: s.column for s in (*MODEL_SETTINGS, *RUN_SETTINGS)}


#: Metrics where lower is better (every other metric: higher is better). "dislike auc": the
#: chance a held-out dislike scores above an unobserved item (``analysis.held_out_dislike_auc``).
LOWER_IS_BETTER = ("final loss", "final regularisation", "seconds", "dislike auc")


def runs_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per run: its final metrics, seconds, then its configuration (values used)."""
    rows = []
    for run in runs:
        row = {"run": run.run}
        row.update(run.metrics)
        row["seconds"] = run.seconds
        row.update({key: run.config.get(key) for key in CONFIG_TRAITS})
        rows.append(row)
    return pd.DataFrame(rows)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The frame's metric columns (everything between ``run`` and the configuration)."""
    return [c for c in frame.columns if c != "run" and c not in CONFIG_TRAITS]


def differing(frame: pd.DataFrame) -> list[str]:
    """Configuration columns whose value is not the same in every run."""
    return [
        c
        for c in CONFIG_TRAITS
        if c in frame.columns and frame[c].astype(str).nunique(dropna=False) > 1
    ]


def run_label(run: RunRecord, settings: list[str] | None = None) -> str:
    """``#run`` and the given settings (by default the model's main parts)."""
    c = run.config
    if settings is None:
        return (
            f"#{run.run} {c.get('user_representation')}/"
            f"{c.get('item_representation')} {c.get('loss')} d={c.get('n_components')}"
        )
    return " ".join([f"#{run.run}"] + [f"{_short(k)}={_fmt(c.get(k))}" for k in settings])


def _short(name: str) -> str:
    return _SHORT.get(name, name)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table_html(frame: pd.DataFrame, sort_by: str = "run", ascending: bool = True) -> str:
    """The runs table: metrics first, best values highlighted, differing settings only."""
    if frame.empty:
        return "<i>finished runs appear here</i>"
    metrics = metric_columns(frame)
    varying = differing(frame)
    ordered = (
        frame.sort_values(sort_by, ascending=ascending, kind="stable")
        if sort_by in frame.columns
        else frame
    )
    best = {}
    for m in metrics:
        values = pd.to_numeric(frame[m], errors="coerce")
        if values.notna().any() and len(frame) > 1:
            best[m] = values.min() if m in LOWER_IS_BETTER else values.max()
    head = "".join(f"<th>{html.escape(_short(c))}</th>" for c in ["run", *metrics, *varying])
    body = []
    for _, row in ordered.iterrows():
        cells = [f"<td>{row['run']}</td>"]
        for m in metrics:
            value = row[m]
            text = (
                _fmt(float(value))
                if isinstance(value, int | float | np.floating)
                else html.escape(str(value))
            )
            mark = (
                " class='tre-best' style='background:#dafbe1;font-weight:bold'"
                if m in best and value == best[m]
                else ""
            )
            cells.append(f"<td{mark}>{text}</td>")
        cells += [f"<td>{html.escape(_fmt(row[c]))}</td>" for c in varying]
        body.append(f"<tr>{''.join(cells)}</tr>")
    same = [c for c in CONFIG_TRAITS if c in frame.columns and c not in varying]
    common = ", ".join(f"{_short(c)}={html.escape(_fmt(frame[c].iloc[0]))}" for c in same)
    return (
        "<div style='max-width:100%;overflow-x:auto;font-size:12px'>"
        "<style>.tre-runs-grid td,.tre-runs-grid th{padding:1px 6px;text-align:right}"
        "</style>"
        f"<table class='tre-runs-grid'><tr>{head}</tr>{''.join(body)}</table>"
        f"<div style='color:#555'>same in every run: {common}</div></div>"
    )


class RunsPanel:
    """The runs table and overlay figure (CSS class ``tre-runs``)."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.frame = runs_frame([])
        self.table = w.HTML("<i>finished runs appear here</i>")
        self.table.add_class("tre-runs-table")
        self.select = w.SelectMultiple(
            options=[],
            rows=5,
            description="Overlay",
            layout=w.Layout(width="28em"),
            style={"description_width": "4em"},
        )
        self.select.add_class("tre-runs-select")
        self.curve = w.Dropdown(
            options=list(CURVES),
            value="NDCG@k",
            description="Curve",
            layout=w.Layout(width="14em"),
            style={"description_width": "3em"},
        )
        self.figure = LiveFigure(
            layout=light_layout(
                height=300,
                width=620,
                xaxis={"title": "epoch"},
                margin={"l": 50, "r": 10, "t": 35, "b": 35},
                title={"text": "Runs compared", "font": {"size": 13}},
            )
        )
        self.figure.add_class("tre-runs-curve")
        self.sort_by = w.Dropdown(
            options=["run"],
            value="run",
            description="Sort by",
            layout=w.Layout(width="16em"),
            style={"description_width": "4em"},
        )
        self.sort_by.add_class("tre-runs-sort")
        self.descending = w.Checkbox(
            value=False, description="descending", indent=False, layout=w.Layout(width="8em")
        )
        for control in (self.sort_by, self.descending):
            control.observe(self._show_table, names="value")
        state.observe(self._on_runs, names=["runs"])
        state.observe(self._on_overlay, names=["overlay_runs"])
        self.select.observe(self._on_select, names="value")
        self.curve.observe(self._redraw, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.sort_by, self.descending]),
                self.table,
                w.HBox([self.select, self.curve]),
                self.figure,
            ]
        )
        self.widget.add_class("tre-runs")
        self._seen: set[int] = set()
        self._syncing = False
        self._on_runs()

    def _on_runs(self, change: Any = None) -> None:
        runs = self.state.runs
        self.frame = runs_frame(runs)
        options = ["run", *metric_columns(self.frame)] if runs else ["run"]
        if list(self.sort_by.options) != options:
            current = self.sort_by.value
            self.sort_by.options = options
            self.sort_by.value = current if current in options else "run"
        self._show_table()
        settings = differing(self.frame) if len(runs) > 1 else None
        self._syncing = True
        try:
            self.select.options = [(run_label(run, settings), run.run) for run in runs]
        finally:
            self._syncing = False
        ids = [run.run for run in runs]
        # a new run is overlaid by default, with the ones already chosen
        new = [i for i in ids if i not in self._seen]
        self._seen = set(ids)
        self.state.overlay_runs = [
            i for i in dict.fromkeys(list(self.state.overlay_runs) + new) if i in ids
        ]
        self._on_overlay()

    def _show_table(self, change: Any = None) -> None:
        self.table.value = table_html(
            self.frame, self.sort_by.value, ascending=not self.descending.value
        )

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
        chosen = [r for r in self.state.runs if r.run in self.state.overlay_runs]
        names = {value: label for label, value in self.select.options}
        with self.figure.batch_update():
            self.figure.data = []
            for run in chosen:
                h = run.history
                self.figure.add_trace(
                    go.Scatter(
                        x=np.asarray(h.get(x_key, []), dtype=np.float32),
                        y=np.asarray(h.get(y_key, []), dtype=np.float32),
                        mode="lines",
                        name=names.get(run.run, run_label(run)),
                    )
                )
            self.figure.layout.yaxis.title = self.curve.value
