"""The explorer's figure style: plotly's "plotly_white" look without its template.

Building a figure with ``template="plotly_white"`` validates and deep-copies the whole template,
for five figures on every page load (the cost is in ``benchmarks/README.md``, "Figures behind
design choices"). :func:`light_layout` sets the few properties that look needs instead.
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
