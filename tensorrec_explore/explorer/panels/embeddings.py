"""Embeddings: users (each taste vector) and items in one 2-D projection, per snapshot.

One ``FigureWidget`` of ``Scattergl`` traces (WebGL stays usable at tens of thousands of
points), created once: items, users, the selected user's top-k items, the selected user, the
sandbox user and the sandbox user's top-k (each mark has its own trace, so neither overwrites
the other). The title names the run and epoch on show; the line below says what UMAP is doing.
PCA frames appear as soon as a snapshot exists; UMAP frames replace them when the projector has
computed them. Clicking a user selects it for the inspector; clicking an item selects it for
"similar items".
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp

from ..analysis import place_points
from ..projector import stack
from ..records import Projection, Snapshot
from ..state import ExplorerState
from .embedding_colours import (
    PALETTE,
    category_labels,
    colour_values,
    legend_html,
    marker_sizes,
)
from .embedding_marks import mark_points, mark_traces
from .embedding_search import MapSearch
from .figure_style import LiveFigure, light_layout

NONE = "(none)"
TASTE = "(taste)"


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


class EmbeddingsPanel:
    """The embedding scatter (CSS class ``tre-embedding``) and its controls.

    ``loop`` (the kernel's event loop, or None): one person's action changes several traits in
    a row (a click on a user: the selection, then the inspector's top-k; a search: the
    selection, the neighbours, the zoom), and each would redraw every point of the map in the
    browser. With a loop, those edits wait until the action's handlers have all run and go out
    as one plotly update; without one (scripts, tests) they apply at once.

    Parameters
    ----------
    state : ExplorerState
        The state the panel draws and whose selection its clicks and search set.
    loop : object with ``add_callback(fn)``, optional
        The kernel's event loop (``Explorer`` passes its dispatcher's); None to edit at once.
    """

    def __init__(self, state: ExplorerState, loop: Any = None):
        self.state = state
        self._loop = loop
        self._deferred: list[Any] = []
        self.method = w.ToggleButtons(
            options=[("PCA", "pca"), ("UMAP", "umap")], style={"button_width": "5em"}
        )
        self.method.add_class("tre-projection-method")
        self.link = w.link((state, "projection_method"), (self.method, "value"))
        self.show = w.Dropdown(
            options=["users and items", "items", "users"],
            value="users and items",
            description="Show",
            layout=w.Layout(width="14em"),
            style={"description_width": "3em"},
        )
        self.item_colour = w.Dropdown(
            description="Items by",
            layout=w.Layout(width="15em"),
            style={"description_width": "4.5em"},
        )
        self.user_colour = w.Dropdown(
            description="Users by",
            layout=w.Layout(width="15em"),
            style={"description_width": "4.5em"},
        )
        self.item_colour.add_class("tre-item-colour")
        self.user_colour.add_class("tre-user-colour")
        self.density = w.Checkbox(
            value=False,
            description="density + labels",
            indent=False,
            layout=w.Layout(width="10em"),
            tooltip="contours of item density, and each category's name "
            "where its items gather (for thousands of points)",
        )
        self.density.add_class("tre-density")
        self.size_by_popularity = w.Checkbox(
            value=True,
            description="size by popularity",
            indent=False,
            layout=w.Layout(width="11em"),
        )
        self.follow = w.Checkbox(
            value=True, description="follow latest", indent=False, layout=w.Layout(width="9em")
        )
        self.epoch_slider = w.SelectionSlider(
            options=[("-", -1)],
            value=-1,
            description="Epoch",
            continuous_update=False,
            layout=w.Layout(width="22em"),
            style={"description_width": "initial"},
        )
        self.epoch_slider.add_class("tre-epoch-slider")
        self.info = w.HTML()
        self.info.add_class("tre-projection-info")
        self.figure = LiveFigure(
            data=[
                go.Scattergl(
                    x=_f32([]),
                    y=_f32([]),
                    mode="markers",
                    name="items",
                    hoverinfo="text",
                    marker={"size": 5, "opacity": 0.7},
                ),
                go.Scattergl(
                    x=_f32([]),
                    y=_f32([]),
                    mode="markers",
                    name="users",
                    hoverinfo="text",
                    marker={"size": 5, "symbol": "x", "opacity": 0.6},
                ),
                *mark_traces(),
                go.Histogram2dContour(
                    x=_f32([]),
                    y=_f32([]),
                    name="item density",
                    ncontours=8,
                    showscale=False,
                    hoverinfo="skip",
                    contours={"coloring": "lines"},
                    visible=False,
                    colorscale=[[0, "#bbbbbb"], [1, "#555555"]],
                ),
            ],
            layout=light_layout(
                height=470,
                width=520,
                margin={"l": 10, "r": 10, "t": 35, "b": 10},
                title={"text": "Embeddings (train to see them)", "font": {"size": 13}},
                xaxis={"showticklabels": False},
                yaxis={"showticklabels": False},
                legend={"orientation": "h", "y": -0.02},
                clickmode="event",
                dragmode="pan",
            ),
        )
        self.figure.add_class("tre-embedding")
        self.items_trace, self.users_trace = self.figure.data[:2]
        #: The mark traces by name (see ``embedding_marks.MARKS``).
        self.marks = {trace.name: trace for trace in self.figure.data[2:-1]}
        self.density_trace = self.figure.data[-1]
        self.topk_trace = self.marks["top-k items"]
        self.user_trace = self.marks["selected user"]
        self.sandbox_trace = self.marks["new user (sandbox)"]
        self.sandbox_topk_trace = self.marks["sandbox top-k"]
        self.items_trace.on_click(self._on_item_click)
        self.users_trace.on_click(self._on_user_click)
        self._drawn: tuple | None = None
        self._styled_for: tuple | None = None
        self._frame: Projection | None = None
        self._syncing = False

        self._set_colour_options()
        state.observe(
            self._set_colour_options, names=["user_color_columns", "item_color_columns", "n_tastes"]
        )
        state.observe(self._on_snapshots, names=["snapshots"])
        state.observe(
            self._redraw,
            names=[
                "projections",
                "frame_epoch",
                "projection_method",
                "projection_status",
                "umap_status",
            ],
        )
        state.observe(
            self._redraw_highlights,
            names=[
                "selected_user",
                "selected_item",
                "highlighted_items",
                "neighbour_items",
                "sandbox_representation",
                "sandbox_items",
                "data",
            ],
        )
        self.finder = MapSearch(self)
        self.search = self.finder.box
        self.play = w.Play(interval=700, min=0, max=0, step=1, description="Play snapshots")
        self.play.add_class("tre-play")
        self.play.observe(self._on_play, names="value")
        self.legend = w.HTML()
        self.legend.add_class("tre-map-legend")
        for control in (
            self.show,
            self.item_colour,
            self.user_colour,
            self.size_by_popularity,
            self.density,
        ):
            control.observe(self._restyle, names="value")
        self.epoch_slider.observe(self._on_slider, names="value")
        self.follow.observe(self._on_follow, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.method, self.show, self.size_by_popularity]),
                w.HBox([self.item_colour, self.user_colour, self.density]),
                w.HBox([self.play, self.epoch_slider, self.follow]),
                w.HBox([self.search]),
                self.figure,
                self.legend,
                self.info,
            ]
        )
        self.widget.add_class("tre-embeddings-panel")
        self._on_snapshots()

    # ---- controls ----
    def _set_colour_options(self, change: Any = None) -> None:
        s = self.state
        self.item_colour.options = [NONE, *list(s.item_color_columns)]
        self.user_colour.options = [NONE, TASTE, *list(s.user_color_columns)]
        for dropdown, preferred in (
            (self.item_colour, ("genre", "cluster", "item_cluster")),
            (self.user_colour, ("cluster", "user_cluster")),
        ):
            pick = next((p for p in preferred if p in dropdown.options), NONE)
            dropdown.value = pick
        if s.n_tastes > 1:
            self.user_colour.value = TASTE

    def _on_snapshots(self, change: Any = None) -> None:
        epochs = [snap.epoch for snap in self.state.snapshots]
        self._syncing = True
        try:
            # one widget message each: the slider's options and index, the player's max and value
            with self.epoch_slider.hold_sync(), self.play.hold_sync():
                if not epochs:
                    self.epoch_slider.options = [("-", -1)]
                    self.epoch_slider.value = -1
                    self.epoch_slider.disabled = True
                else:
                    current = self.epoch_slider.value
                    self.epoch_slider.options = [(str(e), e) for e in epochs]
                    self.epoch_slider.disabled = False
                    self.play.max = len(epochs) - 1
                    follow = self.follow.value or current not in epochs
                    self.epoch_slider.value = epochs[-1] if follow else current
                    self.play.value = self.epoch_slider.index
        finally:
            self._syncing = False
        self._redraw()

    def _on_slider(self, change: Any) -> None:
        if self._syncing or change["new"] is None:
            return
        epochs = [snap.epoch for snap in self.state.snapshots]
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
            n_tastes = self._frame.n_tastes if self._frame is not None else 1
            self.state.selected_user = int(index) // max(n_tastes, 1)
        else:
            self.state.selected_item = int(index)

    # ---- drawing ----
    def current_frame(self) -> tuple[int, str, Projection] | None:
        """(epoch, method actually shown, frame) for the frame on screen, or None."""
        s = self.state
        snaps = s.snapshots
        if not snaps:
            return None
        wanted = snaps[-1].epoch if s.frame_epoch < 0 else s.frame_epoch
        for method in (s.projection_method, "pca"):
            frame = s.projections.get((wanted, method))
            if frame is not None:
                return wanted, method, frame
        if s.frame_epoch < 0:  # following the latest: show the newest projected frame
            done = sorted(e for (e, m) in s.projections if m == "pca")
            if done:
                return done[-1], "pca", s.projections[(done[-1], "pca")]
        return None

    def _snapshot(self, epoch: int) -> Snapshot | None:
        return next((snap for snap in self.state.snapshots if snap.epoch == epoch), None)

    def _redraw(self, change: Any = None) -> None:
        s = self.state
        current = self.current_frame()
        umap_line = (
            f"<br><span class='tre-umap-status'>{html.escape(s.umap_status)}</span>"
            if s.umap_status and s.projection_method == "umap"
            else ""
        )
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
        self.info.value = (
            f"Run {s.run_id}: {method.upper()} of epoch {epoch} &middot; "
            f"{frame.seconds:.3f} s to project &middot; "
            f"{html.escape(status)}{umap_line}"
        )
        key = (epoch, method, id(frame))
        if key == self._drawn:
            return
        self._drawn = key
        self._frame = frame
        with self.figure.batch_update():
            self.items_trace.x = frame.items[:, 0]
            self.items_trace.y = frame.items[:, 1]
            self.users_trace.x = frame.users[:, 0]
            self.users_trace.y = frame.users[:, 1]
            self.figure.layout.title.text = (
                f"{s.dataset_name}: {method.upper()} of users and "
                f"items, run {s.run_id}, epoch {epoch}"
            )
            shape = (len(frame.items), len(frame.users))
            if shape != self._styled_for:  # colours/text/sizes only change with the points
                self._style(frame)
            self._density(frame)
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
                self._density(self._frame)

    def _density(self, frame: Projection) -> None:
        """Item density contours and, for a categorical item colouring, each category's name
        at the median position of its items (when the box is ticked)."""
        on = self.density.value
        if not on and not self.density_trace.visible:
            return  # nothing drawn, nothing to clear: no relayout on every frame
        trace = self.density_trace
        trace.visible = on
        trace.x = frame.items[:, 0] if on else _f32([])
        trace.y = frame.items[:, 1] if on else _f32([])
        meta = getattr(self.state.dataset, "item_metadata", None)
        col = self.item_colour.value
        labels = []
        if on and meta is not None and col in getattr(meta, "columns", ()):
            labels = category_labels(frame.items, meta[col].to_numpy())
        self.figure.layout.annotations = [
            {
                "x": x,
                "y": y,
                "text": html.escape(str(name)),
                "showarrow": False,
                "font": {"size": 11, "color": "#222"},
                "bgcolor": "rgba(255,255,255,0.6)",
            }
            for name, x, y in labels
        ]

    def _style(self, frame: Projection) -> None:
        s = self.state
        self._styled_for = (len(frame.items), len(frame.users))
        ds = s.dataset
        n_tastes = frame.n_tastes
        shown = self.show.value
        self.items_trace.visible = shown in ("users and items", "items")
        self.users_trace.visible = shown in ("users and items", "users")
        # items
        titles = s.item_titles
        text = [f"{t} (item {i})" for i, t in enumerate(titles)]
        col = self.item_colour.value
        meta = getattr(ds, "item_metadata", None)
        legend = []
        if col not in (None, NONE) and meta is not None and col in meta.columns:
            colours, continuous, values = colour_values(meta[col].to_numpy())
            self.items_trace.marker.color = colours
            self.items_trace.marker.colorscale = "Viridis" if continuous else None
            self.items_trace.marker.showscale = continuous
            self.items_trace.marker.colorbar = {
                "title": {"text": f"items: {col}"},
                "len": 0.45,
                "y": 0.75,
            }
            if not continuous:
                legend.append(legend_html(f"items by {col}", values, colours, "circle"))
            text = [f"{t}<br>{col}: {v}" for t, v in zip(text, values, strict=True)]
        else:
            self.items_trace.marker.color = PALETTE[0]
            self.items_trace.marker.showscale = False
        self.items_trace.hovertext = text
        X = sp.csr_matrix(ds.interactions) if ds is not None else None
        if self.size_by_popularity.value and X is not None:
            self.items_trace.marker.size = marker_sizes(np.asarray((X > 0).sum(axis=0)).ravel())
            self.users_trace.marker.size = np.repeat(
                marker_sizes(np.asarray((X != 0).sum(axis=1)).ravel(), 3, 10), n_tastes
            )
        else:
            self.items_trace.marker.size = 5
            self.users_trace.marker.size = 5
        # users (each taste vector is its own point)
        labels = np.repeat(np.asarray(s.user_labels, dtype=object), n_tastes)
        taste = np.tile(np.arange(n_tastes), len(s.user_labels))
        text = [
            f"{label} (user {i // n_tastes})" + (f" taste {t}" if n_tastes > 1 else "")
            for i, (label, t) in enumerate(zip(labels, taste, strict=True))
        ]
        col = self.user_colour.value
        meta = getattr(ds, "user_metadata", None)
        self.users_trace.marker.showscale = False
        if col == TASTE:
            colours = [PALETTE[(t + 3) % len(PALETTE)] for t in taste]
            self.users_trace.marker.color = colours
            legend.append(
                legend_html("users by taste", [f"taste {t}" for t in taste], colours, "x")
            )
        elif col not in (None, NONE) and meta is not None and col in meta.columns:
            colours, continuous, values = colour_values(np.repeat(meta[col].to_numpy(), n_tastes))
            self.users_trace.marker.color = colours
            self.users_trace.marker.colorscale = "Cividis" if continuous else None
            self.users_trace.marker.showscale = continuous
            self.users_trace.marker.colorbar = {
                "title": {"text": f"users: {col}"},
                "len": 0.45,
                "y": 0.25,
            }
            if not continuous:
                legend.append(legend_html(f"users by {col}", values, colours, "x"))
            text = [f"{t}<br>{col}: {v}" for t, v in zip(text, values, strict=True)]
        else:
            self.users_trace.marker.color = "#444444"
        self.users_trace.hovertext = text
        self.legend.value = "".join(legend)

    def defer(self, edit: Any) -> None:
        """Run ``edit()`` (a figure edit) with the other edits of the same action, in one
        plotly update: after the action's handlers when there is a loop, else at once.

        Parameters
        ----------
        edit : callable
            Edits ``self.figure`` (traces, layout); called without arguments.
        """
        self._deferred.append(edit)
        if self._loop is None:
            self._apply_deferred()
        elif len(self._deferred) == 1:
            self._loop.add_callback(self._apply_deferred)

    def _apply_deferred(self) -> None:
        edits, self._deferred = self._deferred, []
        with self.figure.batch_update():
            for edit in edits:
                edit()

    def _redraw_highlights(self, change: Any = None) -> None:
        if self._frame is not None and self._redraw_highlights_now not in self._deferred:
            self.defer(self._redraw_highlights_now)

    def _redraw_highlights_now(self) -> None:
        if self._frame is not None:  # the frame on screen when the edits apply
            self._highlights(self._frame)

    def _highlights(self, frame: Projection) -> None:
        s = self.state
        rep = s.sandbox_representation
        epoch = self._drawn[0] if self._drawn else None
        snap = self._snapshot(epoch) if epoch is not None else None
        sandbox_xy = None
        if rep is not None and snap is not None:
            reference, _ = stack(snap)
            layout = np.vstack([frame.users, frame.items])
            new = np.asarray(rep, dtype=np.float32).reshape(-1, reference.shape[1])
            sandbox_xy = place_points(reference, layout, new, self._drawn[1])
        for name, (x, y, text) in mark_points(frame, s, sandbox_xy).items():
            trace = self.marks[name]
            trace.x, trace.y = _f32(x), _f32(y)
            if name != "links":
                trace.hovertext = text

    def _on_play(self, change: Any) -> None:
        """Each tick of the play button shows the next snapshot."""
        options = self.epoch_slider.options
        if not self._syncing and 0 <= change["new"] < len(options) and len(options) > 1:
            self.follow.value = False
            self.epoch_slider.index = change["new"]
