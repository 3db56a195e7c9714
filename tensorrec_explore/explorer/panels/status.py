"""The status bar: what the explorer is doing, and any error, always visible."""

from __future__ import annotations

import html

import ipywidgets as w

from ..state import ExplorerState

_COLOURS = {
    "idle": "#555",
    "training": "#1f6feb",
    "stopping": "#9a6700",
    "stopped": "#9a6700",
    "finished": "#1a7f37",
    "error": "#cf222e",
}


class StatusPanel:
    """One line of status, the last error's message, and (for unexpected errors) a folded
    traceback."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.status = w.HTML()
        self.status.add_class("tre-status")
        self.error = w.HTML()
        self.error.add_class("tre-error")
        self.detail = w.Textarea(disabled=True, layout=w.Layout(width="100%", height="12em"))
        self.details = w.Accordion(children=[self.detail], layout=w.Layout(display="none"))
        self.details.set_title(0, "Details (traceback)")
        self.lesson = w.HTML()  # what to look at, when the explorer was opened for a lesson
        self.lesson.add_class("tre-lesson-text")
        self.widget = w.VBox([self.lesson, self.status, self.error, self.details])
        self.widget.add_class("tre-status-bar")
        state.observe(self._redraw, names=["status", "message", "error", "error_detail"])
        self._redraw()

    def _redraw(self, change=None) -> None:
        s = self.state
        colour = _COLOURS.get(s.status, "#555")
        self.status.value = (
            f"<b style='color:{colour}'>{s.status}</b> <span>{html.escape(s.message)}</span>"
        )
        self.error.value = (
            f"<div style='color:#cf222e;white-space:pre-wrap'>{html.escape(s.error)}</div>"
            if s.error
            else ""
        )
        self.detail.value = s.error_detail
        self.details.layout.display = "" if s.error_detail else "none"
