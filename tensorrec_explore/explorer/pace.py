"""Whether the browser has drawn what it was last sent: the pace of training's pushes.

Training pushes its curves every ``push_interval`` seconds. When the browser draws slower than
that (a busy machine, a heavy front end), updates queue up in the kernel's output, the server and
the page, and a click (Reset, Stop) waits behind all of them. :class:`DrawPace` watches plotly
``FigureWidget``s (the explorer's: both curve figures and the map): plotly's front end answers
every update it has drawn with that update's edit id, so the next push can wait until the last
one is on screen in every figure (the skipped epochs go with the next push: nothing is lost, the
curves just arrive in larger steps).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

#: Seconds after which an unanswered update no longer holds pushes back (a front end that never
#: answers, an answer lost on the way: the curves then move at this pace at least).
PATIENCE_SECONDS = 2.0


class DrawPace:
    """Says whether plotly figures' front ends have drawn every update sent to them.

    Parameters
    ----------
    figure : plotly.graph_objects.FigureWidget
        The figure whose answers are watched (set up on the kernel's thread).
    patience : float, default :data:`PATIENCE_SECONDS`
        Seconds after a figure's last update after which that figure counts as drawn anyway.
    also : sequence of FigureWidget, default ()
        More figures that must have drawn their updates too (the explorer's other live
        figures: a page busy drawing one of them is no readier for the next push).

    Notes
    -----
    It reads plotly's widget protocol: the figure's ``_last_trace_edit_id`` (the id of the last
    update sent) and ``_js2py_traceDeltas`` (the front end's answer, carrying the id it drew). A
    figure without them (another plotly version) is never waited for.
    """

    def __init__(self, figure: Any, patience: float = PATIENCE_SECONDS, also: Sequence[Any] = ()):
        self.figure = figure
        self.patience = patience
        self._watches = [_Watch(f) for f in (figure, *also)]
        self.watching = self._watches[0].watching

    def ready(self) -> bool:
        """Return True when a new update may be sent (from any thread).

        Returns
        -------
        bool
            True when, for each figure, the front end has answered its last update, or the
            figure is not shown anywhere (no view to wait for), or its front end never answered
            (it did not draw: WebGL missing, say), or its last update is older than
            ``patience`` seconds, or it cannot be watched.
        """
        return all(watch.ready(self.patience) for watch in self._watches)


class _Watch:
    """One figure's last update sent and last update answered."""

    def __init__(self, figure: Any):
        self.figure = figure
        self._lock = threading.Lock()
        self._drawn = 0  # the last edit id the front end answered
        self._answered = False  # whether it ever answered (a figure never drawn holds nothing)
        self._sent_at = time.monotonic()  # when the last update was sent
        self.watching = hasattr(figure, "_js2py_traceDeltas") and hasattr(
            figure, "_last_trace_edit_id"
        )
        if self.watching:
            figure.observe(self._on_sent, names="_last_trace_edit_id")
            figure.observe(self._on_answer, names="_js2py_traceDeltas")

    def _on_sent(self, _change: dict) -> None:
        with self._lock:
            self._sent_at = time.monotonic()

    def _on_answer(self, change: dict) -> None:
        answer = change["new"]
        if isinstance(answer, dict) and isinstance(answer.get("trace_edit_id"), int):
            with self._lock:
                self._drawn = max(self._drawn, answer["trace_edit_id"])
                self._answered = True

    def ready(self, patience: float) -> bool:
        if not self.watching or not getattr(self.figure, "_view_count", 0):
            return True
        with self._lock:
            drawn, sent_at, answered = self._drawn, self._sent_at, self._answered
        if not answered:
            return True
        return drawn >= self.figure._last_trace_edit_id or time.monotonic() - sent_at >= patience
