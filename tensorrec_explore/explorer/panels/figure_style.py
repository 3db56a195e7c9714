"""The explorer's figure style: plotly's "plotly_white" look without its template.

Building a figure with ``template="plotly_white"`` validates and deep-copies the whole template,
for five figures on every page load (times: ``benchmarks/README.md``, "Figures behind design
choices (explorer and data)"). :func:`light_layout` sets the few properties that look needs
instead. :class:`LiveFigure` is the explorer's ``FigureWidget``: a page that connects after the
figure was edited (Voila, a reload) draws what it shows now.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

#: plotly's default colour cycle (what "plotly_white" uses).
COLORWAY = (
    "#636efa",
    "#EF553B",
    "#00cc96",
    "#ab63fa",
    "#FFA15A",
    "#19d3f3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
)
_AXIS = {
    "gridcolor": "#ebf0f8",
    "zerolinecolor": "#ebf0f8",
    "linecolor": "#ebf0f8",
    "ticks": "",
    "automargin": True,
}


def light_layout(**kwargs: Any) -> go.Layout:
    """A ``go.Layout`` in the "plotly_white" look; ``kwargs`` as for ``go.Layout`` (axis
    dictionaries are merged with the light axis style)."""
    axes = {name: {**_AXIS, **kwargs.pop(name, {})} for name in ("xaxis", "yaxis")}
    return go.Layout(
        template="none",
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(COLORWAY),
        font={"color": "#2a3f5f"},
        hoverlabel={"align": "left"},
        **axes,
        **kwargs,
    )


class LiveFigure(go.FigureWidget):
    """A ``FigureWidget`` whose full widget state is what it shows now.

    plotly sends each edit (``batch_update``, ``trace.x = ...``) as a one-off message and keeps
    the data it was created with as its widget state, so a page that connects after an edit
    (Voila renders once the app's cell has run; a reload) drew a stale figure: an explorer opened
    on a model trained elsewhere showed empty curves and an empty map. The full state a page asks
    for when it connects is built here from the current data and layout instead; edits keep
    going out as plotly's small messages.
    """

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """Return the widget state (``key=None``: all of it, with the current data and layout).

        Parameters
        ----------
        key : str or iterable of str, optional
            One trait's name or several; None for the full state a connecting page asks for.
        drop_defaults : bool, default False
            Leave out traits at their default value.

        Returns
        -------
        dict
            Trait name -> JSON-ready value, as ``ipywidgets.Widget.get_state``.
        """
        state = super().get_state(key, drop_defaults)
        if key is None and hasattr(self, "_layout_obj"):  # not while plotly's __init__ runs
            current = {"_widget_data": self._data, "_widget_layout": self._layout_obj._props}
            for name, value in current.items():
                to_json = self.trait_metadata(name, "to_json", self._trait_to_json)
                state[name] = to_json(value, self)
        return state
