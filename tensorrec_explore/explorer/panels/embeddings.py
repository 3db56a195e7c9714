"""Embeddings: users (each taste vector) and items in one 2-D projection, per snapshot.

One ``FigureWidget`` of ``Scattergl`` traces (WebGL stays usable at tens of thousands of points),
created once: items, users, the selected user's top-k items, the selected user, the sandbox
user and the sandbox user's top-k (each mark has its own trace, so neither overwrites the
other). The title names the run and epoch on show; the line below says what UMAP is doing. PCA frames appear as soon as a snapshot exists; UMAP frames replace them when the
projector has computed them. Clicking a user selects it for the inspector; clicking an item
selects it for "similar items".
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import scipy.sparse as sp

from ..analysis import place_points
from ..projector import stack
from ..state import ExplorerState

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#843c39")
NONE = "(none)"
TASTE = "(taste)"


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def colour_values(values: Any) -> tuple[Any, bool, list[str]]:
    """Marker colours for a metadata column: (colours, continuous?, text per point)."""
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > 12:
        return _f32(series.to_numpy(dtype=np.float64)), True, [f"{v:.4g}" for v in series]
    codes, _ = pd.factorize(series.astype(str), sort=True)
    colours = [PALETTE[c % len(PALETTE)] if c >= 0 else "#cccccc" for c in codes]
    return colours, False, [str(v) for v in series.astype(str)]


def _sizes(counts: np.ndarray, lo: float = 3.0, hi: float = 14.0) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    top = counts.max() if counts.size and counts.max() > 0 else 1.0
    return _f32(lo + (hi - lo) * np.sqrt(counts / top))


class EmbeddingsPanel:
    """The embedding scatter (CSS class ``tre-embedding``) and its controls."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.method = w.ToggleButtons(options=[("PCA", "pca"), ("UMAP", "umap")],
                                      style={"button_width": "5em"})
        self.method.add_class("tre-projection-method")
        self.link = w.link((state, "projection_method"), (self.method, "value"))
        self.show = w.Dropdown(options=["users and items", "items", "users"],
                               value="users and items", description="Show",
                               layout=w.Layout(width="14em"), style={"description_width": "3em"})
        self.item_colour = w.Dropdown(description="Items by", layout=w.Layout(width="15em"),
                                      style={"description_width": "4.5em"})
        self.user_colour = w.Dropdown(description="Users by", layout=w.Layout(width="15em"),
                                      style={"description_width": "4.5em"})
        self.item_colour.add_class("tre-item-colour")
        self.user_colour.add_class("tre-user-colour")
        self.size_by_popularity = w.Checkbox(value=True, description="size by popularity",
                                             indent=False, layout=w.Layout(width="11em"))
        self.follow = w.Checkbox(value=True, description="follow latest", indent=False,
                                 layout=w.Layout(width="9em"))
        self.epoch_slider = w.SelectionSlider(options=[("-", -1)], value=-1,
                                              description="Epoch", continuous_update=False,
                                              layout=w.Layout(width="22em"),
                                              style={"description_width": "3em"})
        self.epoch_slider.add_class("tre-epoch-slider")
        self.info = w.HTML()
        self.info.add_class("tre-projection-info")
        self.figure = go.FigureWidget(
            data=[
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="items",
                             hoverinfo="text", marker={"size": 5, "opacity": 0.7}),
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="users",
                             hoverinfo="text",
                             marker={"size": 5, "symbol": "x", "opacity": 0.6}),
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="top-k items",
                             hoverinfo="text",
                             marker={"size": 13, "symbol": "circle-open", "color": "black",
                                     "line": {"width": 2}}),
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="selected user",
                             hoverinfo="text",
                             marker={"size": 16, "symbol": "star", "color": "gold",
                                     "line": {"width": 1, "color": "black"}}),
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="new user (sandbox)",
                             hoverinfo="text",
                             marker={"size": 16, "symbol": "diamond", "color": "magenta",
                                     "line": {"width": 1, "color": "black"}}),
                go.Scattergl(x=_f32([]), y=_f32([]), mode="markers", name="sandbox top-k",
                             hoverinfo="text",
                             marker={"size": 17, "symbol": "diamond-open", "color": "magenta",
                                     "line": {"width": 2}}),
            ],
            layout=go.Layout(height=480, width=600, template="plotly_white",
                             margin={"l": 10, "r": 10, "t": 35, "b": 10},
                             title={"text": "Embeddings (train to see them)",
                                    "font": {"size": 13}},
                             xaxis={"showticklabels": False}, yaxis={"showticklabels": False},
                             legend={"orientation": "h", "y": -0.02}, clickmode="event",
                             dragmode="pan"))
        self.figure.add_class("tre-embedding")
        (self.items_trace, self.users_trace, self.topk_trace, self.user_trace,
         self.sandbox_trace, self.sandbox_topk_trace) = self.figure.data
        self.items_trace.on_click(self._on_item_click)
        self.users_trace.on_click(self._on_user_click)
        self._drawn: tuple | None = None
        self._styled_for: tuple | None = None
        self._frame: dict | None = None
        self._syncing = False

        self._set_colour_options()
        state.observe(self._set_colour_options,
                      names=["user_color_columns", "item_color_columns", "n_tastes"])
        state.observe(self._on_snapshots, names=["snapshots"])
        state.observe(self._redraw, names=["projections", "frame_epoch", "projection_method",
                                           "projection_status", "umap_status"])
        state.observe(self._redraw_highlights,
                      names=["selected_user", "highlighted_items", "sandbox_representation",
                             "sandbox_items"])
        for control in (self.show, self.item_colour, self.user_colour, self.size_by_popularity):
            control.observe(self._restyle, names="value")
        self.epoch_slider.observe(self._on_slider, names="value")
        self.follow.observe(self._on_follow, names="value")
        self.widget = w.VBox([
            w.HBox([self.method, self.show, self.size_by_popularity]),
            w.HBox([self.item_colour, self.user_colour]),
            w.HBox([self.epoch_slider, self.follow]),
            self.figure, self.info,
        ])
        self.widget.add_class("tre-embeddings-panel")
        self._on_snapshots()

    # ---- controls ----
    def _set_colour_options(self, change: Any = None) -> None:
        s = self.state
        self.item_colour.options = [NONE] + list(s.item_color_columns)
        self.user_colour.options = [NONE, TASTE] + list(s.user_color_columns)
        for dropdown, preferred in ((self.item_colour, ("genre", "cluster", "item_cluster")),
                                    (self.user_colour, ("cluster", "user_cluster"))):
            pick = next((p for p in preferred if p in dropdown.options), NONE)
            dropdown.value = pick
        if s.n_tastes > 1:
            self.user_colour.value = TASTE

    def _on_snapshots(self, change: Any = None) -> None:
        epochs = [snap["epoch"] for snap in self.state.snapshots]
        self._syncing = True
        try:
            if not epochs:
                self.epoch_slider.options = [("-", -1)]
                self.epoch_slider.value = -1
                self.epoch_slider.disabled = True
            else:
                current = self.epoch_slider.value
                self.epoch_slider.options = [(str(e), e) for e in epochs]
                self.epoch_slider.disabled = False
                follow = self.follow.value or current not in epochs
                self.epoch_slider.value = epochs[-1] if follow else current
        finally:
            self._syncing = False
        self._redraw()

    def _on_slider(self, change: Any) -> None:
        if self._syncing or change["new"] is None:
            return
        epochs = [snap["epoch"] for snap in self.state.snapshots]
        if epochs and change["new"] != epochs[-1]:
            self.follow.value = False
        self.state.frame_epoch = -1 if self.follow.value else int(change["new"])

    def _on_follow(self, change: Any) -> None:
        if change["new"]:
            self.state.frame_epoch = -1
            self._on_snapshots()
        else:
            self.state.frame_epoch = int(self.epoch_slider.value)

    def _on_user_click(self, trace: Any, points: Any, selector: Any = None) -> None:
        if points.point_inds:
            self.select_point("users", points.point_inds[0])

    def _on_item_click(self, trace: Any, points: Any, selector: Any = None) -> None:
        if points.point_inds:
            self.select_point("items", points.point_inds[0])

    def select_point(self, kind: str, index: int) -> None:
        """What a click on a point does (also the way tests click)."""
        if kind == "users":
            n_tastes = (self._frame or {}).get("n_tastes", 1)
            self.state.selected_user = int(index) // max(n_tastes, 1)
        else:
            self.state.selected_item = int(index)

    # ---- drawing ----
    def current_frame(self) -> tuple[int, str, dict] | None:
        """(epoch, method actually shown, frame) for the frame on screen, or None."""
        s = self.state
        snaps = s.snapshots
        if not snaps:
            return None
        wanted = snaps[-1]["epoch"] if s.frame_epoch < 0 else s.frame_epoch
        for method in (s.projection_method, "pca"):
            frame = s.projections.get((wanted, method))
            if frame is not None:
                return wanted, method, frame
        if s.frame_epoch < 0:  # following the latest: show the newest projected frame
            done = sorted(e for (e, m) in s.projections if m == "pca")
            if done:
                return done[-1], "pca", s.projections[(done[-1], "pca")]
        return None

    def _snapshot(self, epoch: int) -> dict | None:
        return next((snap for snap in self.state.snapshots if snap["epoch"] == epoch), None)

    def _redraw(self, change: Any = None) -> None:
        s = self.state
        current = self.current_frame()
        umap_line = f"<br><span class='tre-umap-status'>{html.escape(s.umap_status)}</span>" \
            if s.umap_status and s.projection_method == "umap" else ""
        if current is None:
            self._frame = None
            if not s.snapshots:
                self._clear()
            self.info.value = html.escape(s.projection_status) + umap_line
            return
        epoch, method, frame = current
        status = s.projection_status
        if method != s.projection_method:
            status = status or "UMAP computing; PCA shown meanwhile."
        self.info.value = (f"Run {s.run_id}: {method.upper()} of epoch {epoch} &middot; "
                           f"{frame['seconds']:.3f} s to project &middot; "
                           f"{html.escape(status)}{umap_line}")
        key = (epoch, method, id(frame))
        if key == self._drawn:
            return
        self._drawn = key
        self._frame = frame
        with self.figure.batch_update():
            self.items_trace.x = frame["items"][:, 0]
            self.items_trace.y = frame["items"][:, 1]
            self.users_trace.x = frame["users"][:, 0]
            self.users_trace.y = frame["users"][:, 1]
            self.figure.layout.title.text = (f"{s.dataset_name}: {method.upper()} of users and "
                                             f"items, run {s.run_id}, epoch {epoch}")
            shape = (len(frame["items"]), len(frame["users"]))
            if shape != self._styled_for:  # colours/text/sizes only change with the points
                self._style(frame)
            self._highlights(frame)

    def _clear(self) -> None:
        self._drawn = None
        self._styled_for = None
        with self.figure.batch_update():
            for trace in self.figure.data:
                trace.x, trace.y = _f32([]), _f32([])
            self.figure.layout.title.text = "Embeddings (train to see them)"

    def _restyle(self, change: Any = None) -> None:
        if self._frame is not None:
            with self.figure.batch_update():
                self._style(self._frame)

    def _style(self, frame: dict) -> None:
        s = self.state
        self._styled_for = (len(frame["items"]), len(frame["users"]))
        ds = s.dataset
        n_tastes = frame.get("n_tastes", 1)
        shown = self.show.value
        self.items_trace.visible = shown in ("users and items", "items")
        self.users_trace.visible = shown in ("users and items", "users")
        # items
        titles = s.item_titles
        text = [f"{t} (item {i})" for i, t in enumerate(titles)]
        col = self.item_colour.value
        meta = getattr(ds, "item_metadata", None)
        if col not in (None, NONE) and meta is not None and col in meta.columns:
            colours, continuous, values = colour_values(meta[col].to_numpy())
            self.items_trace.marker.color = colours
            self.items_trace.marker.colorscale = "Viridis" if continuous else None
            text = [f"{t}<br>{col}: {v}" for t, v in zip(text, values)]
        else:
            self.items_trace.marker.color = PALETTE[0]
        self.items_trace.hovertext = text
        X = sp.csr_matrix(ds.interactions) if ds is not None else None
        if self.size_by_popularity.value and X is not None:
            self.items_trace.marker.size = _sizes(np.asarray((X > 0).sum(axis=0)).ravel())
            self.users_trace.marker.size = np.repeat(
                _sizes(np.asarray((X != 0).sum(axis=1)).ravel(), 3, 10), n_tastes)
        else:
            self.items_trace.marker.size = 5
            self.users_trace.marker.size = 5
        # users (each taste vector is its own point)
        labels = np.repeat(np.asarray(s.user_labels, dtype=object), n_tastes)
        taste = np.tile(np.arange(n_tastes), len(s.user_labels))
        text = [f"{label} (user {i // n_tastes})" + (f" taste {t}" if n_tastes > 1 else "")
                for i, (label, t) in enumerate(zip(labels, taste))]
        col = self.user_colour.value
        meta = getattr(ds, "user_metadata", None)
        if col == TASTE:
            self.users_trace.marker.color = [PALETTE[(t + 3) % len(PALETTE)] for t in taste]
        elif col not in (None, NONE) and meta is not None and col in meta.columns:
            colours, continuous, values = colour_values(np.repeat(meta[col].to_numpy(),
                                                                  n_tastes))
            self.users_trace.marker.color = colours
            self.users_trace.marker.colorscale = "Cividis" if continuous else None
            text = [f"{t}<br>{col}: {v}" for t, v in zip(text, values)]
        else:
            self.users_trace.marker.color = "#444444"
        self.users_trace.hovertext = text

    def _redraw_highlights(self, change: Any = None) -> None:
        if self._frame is not None:
            with self.figure.batch_update():
                self._highlights(self._frame)

    def _highlights(self, frame: dict) -> None:
        s = self.state
        n_tastes = frame.get("n_tastes", 1)
        for trace, chosen in ((self.topk_trace, s.highlighted_items),
                              (self.sandbox_topk_trace, s.sandbox_items)):
            items = [i for i in chosen if 0 <= i < len(frame["items"])]
            trace.x = frame["items"][items, 0] if items else _f32([])
            trace.y = frame["items"][items, 1] if items else _f32([])
            trace.hovertext = [f"{s.item_titles[i]} (item {i})" for i in items]
        u = s.selected_user
        if 0 <= u < len(frame["users"]) // n_tastes:
            rows = frame["users"][u * n_tastes:(u + 1) * n_tastes]
            self.user_trace.x, self.user_trace.y = rows[:, 0], rows[:, 1]
            self.user_trace.hovertext = [f"{s.user_labels[u]} (user {u})"] * len(rows)
        else:
            self.user_trace.x, self.user_trace.y = _f32([]), _f32([])
        rep = s.sandbox_representation
        epoch = self._drawn[0] if self._drawn else None
        snap = self._snapshot(epoch) if epoch is not None else None
        if rep is not None and snap is not None:
            reference, _ = stack(snap)
            layout = np.vstack([frame["users"], frame["items"]])
            new = np.asarray(rep, dtype=np.float32).reshape(-1, reference.shape[1])
            xy = place_points(reference, layout, new, self._drawn[1])
            self.sandbox_trace.x, self.sandbox_trace.y = _f32(xy[:, 0]), _f32(xy[:, 1])
            self.sandbox_trace.hovertext = ["new user (sandbox)"] * len(xy)
        else:
            self.sandbox_trace.x, self.sandbox_trace.y = _f32([]), _f32([])
