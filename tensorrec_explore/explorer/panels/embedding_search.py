"""Find a user or an item on the embedding map by name: select it, highlight it, zoom onto it."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from .inspector import option_labels


class MapSearch:
    """A search box (CSS class ``tre-map-search``) over a panel's users and items; choosing one
    selects it (as a click on its point would) and zooms the map onto it; emptying the box
    zooms out; a text naming nobody changes nothing."""

    def __init__(self, panel: Any):
        self.panel = panel
        self.state = panel.state
        self.figure = panel.figure
        # Not ensure_option: the browser would then never send "" (not an option), and emptying
        # the box could not zoom out; a text that names nobody is ignored here instead. Sent on
        # Enter (or leaving the box), not on each key.
        self.box = w.Combobox(
            placeholder="search users and items",
            ensure_option=False,
            continuous_update=False,
            layout=w.Layout(width="20em"),
        )
        self.box.add_class("tre-map-search")
        self.box.observe(self._on_search, names="value")
        self.state.observe(self._set_search_options, names=["user_labels", "item_titles"])
        self._set_search_options()

    def _set_search_options(self, change: Any = None) -> None:
        s = self.state
        users = option_labels([f"user: {label}" for label in s.user_labels])
        items = option_labels([f"item: {title}" for title in s.item_titles])
        self._search = {label: ("users", i) for i, label in enumerate(users)}
        self._search.update({label: ("items", i) for i, label in enumerate(items)})
        self.box.options = users + items

    def _on_search(self, change: Any) -> None:
        """Select the user or item found, and zoom onto it (an empty box zooms out)."""
        found = self._search.get(change["new"])
        if not change["new"]:
            self.figure.layout.xaxis.autorange = True
            self.figure.layout.yaxis.autorange = True
            return
        if found is None:
            return
        kind, index = found
        frame = self.panel._frame
        rows = frame.n_tastes if kind == "users" and frame is not None else 1
        self.panel.select_point(kind, index * rows)
        self.zoom_to(kind, index)

    def zoom_to(self, kind: str, index: int) -> None:
        """Centre the map on a user or an item, showing a fifth of the layout's extent."""
        frame = self.panel._frame
        if frame is None:
            return
        n_tastes = frame.n_tastes if kind == "users" else 1
        x, y = getattr(frame, kind)[index * n_tastes]
        points = np.vstack([frame.users, frame.items])
        half = 0.1 * (points.max(axis=0) - points.min(axis=0)) + 1e-6

        def zoom() -> None:  # with the selection's marks, in one update of the map
            self.figure.layout.xaxis.range = [float(x - half[0]), float(x + half[0])]
            self.figure.layout.yaxis.range = [float(y - half[1]), float(y + half[1])]

        self.panel.defer(zoom)
