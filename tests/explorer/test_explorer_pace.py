"""Training's pushes wait until the browser has drawn the previous one (no queue before a click)."""

from __future__ import annotations

import plotly.graph_objects as go
from explorer_support import train

from tensorrec_explore.explorer.pace import DrawPace


def drawn(figure: go.FigureWidget) -> None:
    """What plotly's front end sends once it has drawn the figure's last update."""
    figure._js2py_traceDeltas = {
        "trace_deltas": [{"uid": trace.uid} for trace in figure.data],
        "trace_edit_id": figure._last_trace_edit_id,
    }


def test_a_figure_nobody_shows_is_never_waited_for():
    figure = go.FigureWidget(data=[go.Scatter(x=[1], y=[1])])
    pace = DrawPace(figure)
    figure.data[0].y = [2]
    assert pace.watching
    assert pace.ready()


def test_an_update_waits_until_the_front_end_has_drawn_it():
    figure = go.FigureWidget(data=[go.Scatter(x=[1], y=[1])])
    figure._view_count = 1  # shown in a page
    pace = DrawPace(figure)
    drawn(figure)  # the first drawing answers the edit id the figure had
    assert pace.ready()
    figure.data[0].y = [2]
    assert not pace.ready()
    drawn(figure)
    assert pace.ready()
    figure.data[0].y = [3]
    figure.data[0].y = [4]
    figure._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": 1}  # an older answer
    assert not pace.ready()


def test_every_figure_watched_must_have_drawn():
    first, second = (go.FigureWidget(data=[go.Scatter(x=[1], y=[1])]) for _ in range(2))
    first._view_count = second._view_count = 1
    pace = DrawPace(first, also=(second,))
    drawn(first)
    drawn(second)  # their first drawings
    second.data[0].y = [2]
    assert not pace.ready()
    drawn(second)
    assert pace.ready()


def test_a_figure_whose_page_never_answered_holds_nothing_back():
    figure = go.FigureWidget(data=[go.Scatter(x=[1], y=[1])])
    figure._view_count = 1  # shown, but its page never drew it (no answer at all)
    pace = DrawPace(figure)
    figure.data[0].y = [2]
    assert pace.ready()


def test_an_unanswered_update_holds_nothing_back_after_the_patience():
    figure = go.FigureWidget(data=[go.Scatter(x=[1], y=[1])])
    figure._view_count = 1
    pace = DrawPace(figure, patience=0.0)
    drawn(figure)
    figure.data[0].y = [2]
    assert pace.ready()


def test_an_object_that_is_no_plotly_figure_is_never_waited_for():
    pace = DrawPace(object())
    assert not pace.watching
    assert pace.ready()


def history_pushes(explorer, ready: bool) -> list[int]:
    """Train 5 epochs, pushing at every epoch unless held back; the epochs each push carried."""
    explorer.controller.push_interval = 0.0
    explorer.controller.ready_to_push = lambda: ready
    explorer.panels.config.epochs.value = 5
    seen: list[int] = []
    explorer.state.observe(lambda c: seen.append(len(c["new"]["epoch"])), names="history")
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    return seen


def test_pushes_held_back_go_with_the_last_one(explorer):
    assert history_pushes(explorer, ready=False) == [5]  # one push at the end: nothing lost
    assert list(explorer.panels.curves.loss_figure.data[0].x) == [1, 2, 3, 4, 5]


def test_pushes_follow_the_epochs_when_the_browser_keeps_up(explorer):
    assert history_pushes(explorer, ready=True) == [1, 2, 3, 4, 5]


def test_the_explorer_paces_training_by_its_loss_figure(explorer):
    pace = explorer.controller.ready_to_push.__self__
    assert isinstance(pace, DrawPace)
    assert pace.figure is explorer.panels.curves.loss_figure
    for figure in (explorer.panels.curves.val_figure, explorer.panels.embeddings.figure):
        figure._view_count = 1
        drawn(figure)  # its first drawing
        assert pace.ready()
        figure.data[0].y = [1.0]  # an update the page has not drawn yet
        assert not pace.ready()
        drawn(figure)
        assert pace.ready()
