"""The explorer's figure style: plotly's "plotly_white" look without its template.

Building a figure with ``template="plotly_white"`` validates and deep-copies the whole template,
for five figures on every page load (times: ``benchmarks/README.md``, "Figures behind design
choices (explorer and data)"). :func:`light_layout` sets the few properties that look needs
instead. :class:`LiveFigure` is the explorer's ``FigureWidget``: a page that connects after the
figure was edited (Voila, a reload) draws what it shows now, and each edit travels as one widget
message (plotly's own widget sends four, and two more for each answer of the page).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import traitlets as t

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


#: plotly's edit counters: each edit message carries them (see :class:`LiveFigure`).
EDIT_IDS = ("_last_layout_edit_id", "_last_trace_edit_id")


def _report(name: str) -> t.TraitType:
    """plotly's trait ``name`` (a report of the page to the kernel), never echoed to the page."""
    metadata = go.FigureWidget.class_traits()[name].metadata
    return t.Dict(allow_none=True).tag(**{**metadata, "echo_update": False})


def _stamped(message: Any) -> bool:
    """True for a plotly message carrying an edit id (no two such messages are alike)."""
    return isinstance(message, dict) and bool({"trace_edit_id", "layout_edit_id"} & set(message))


class LiveFigure(go.FigureWidget):
    """A ``FigureWidget`` whose full widget state is what it shows now, edited in one message
    per edit.

    plotly sends each edit (``batch_update``, ``trace.x = ...``) as a one-off message and keeps
    the data it was created with as its widget state, so a page that connects after an edit
    (Voila renders once the app's cell has run; a reload) drew a stale figure: an explorer opened
    on a model trained elsewhere showed empty curves and an empty map. The full state a page asks
    for when it connects is built here from the current data and layout instead; edits keep
    going out as plotly's small messages.

    plotly's widget sends an edit as four widget messages (each edit counter, the edit, then
    the edit trait reset to None) and answers each report of the page (``_js2py_*``: "drawn",
    a click) with two (ipywidgets' echo, then the reset to None). Here an edit is one message
    carrying the counters; reports are not echoed; and a reset to None stays in the kernel when
    the message it clears carried an edit id (an edit, the page's "drawn" answers): the next
    such message differs from it anyway, so the page still sees a change. A click report
    carries no id (two clicks on one point are alike), so its reset still reaches the page.
    What the page draws and reports is the same.
    """

    _js2py_traceDeltas = _report("_js2py_traceDeltas")
    _js2py_layoutDelta = _report("_js2py_layoutDelta")
    _js2py_restyle = _report("_js2py_restyle")
    _js2py_relayout = _report("_js2py_relayout")
    _js2py_update = _report("_js2py_update")
    _js2py_pointsCallback = _report("_js2py_pointsCallback")

    def __init__(self, *args: Any, **kwargs: Any):
        #: ``_py2js_*`` edits whose last message in the page carries an edit id.
        self._stamped: set[str] = set()
        super().__init__(*args, **kwargs)

    def _should_send_property(self, key: str, value: Any) -> bool:
        """False for the edit counters (they go with the edit) and for the reset to None of a
        message that carried an edit id; else as ipywidgets decides."""
        if key in EDIT_IDS:
            return False
        if value is None and (key in self._stamped or _stamped(self._property_lock.get(key))):
            return False  # the page's value carries an edit id: the next message differs
        return super()._should_send_property(key, value)

    def send_state(self, key: Any = None) -> None:
        """Send ``key`` (all traits when None) to the page; an edit with its edit counters.

        Parameters
        ----------
        key : str or iterable of str, optional
            One trait's name or several; None for all.
        """
        if isinstance(key, str) and key.startswith("_py2js_"):
            if _stamped(getattr(self, key)):
                self._stamped.add(key)
            else:
                self._stamped.discard(key)
            key = [key, *EDIT_IDS]
        super().send_state(key)

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
