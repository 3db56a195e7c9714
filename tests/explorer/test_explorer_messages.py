"""What training sends to the page: each edit once, nothing for a push with nothing new."""

from __future__ import annotations

import plotly.graph_objects as go
from explorer_support import counted_messages, train

from tensorrec_explore.explorer.panels.figure_style import LiveFigure
from tensorrec_explore.explorer.training import _update


def test_a_figure_edit_is_one_message_and_the_pages_answer_none():
    figure = LiveFigure(data=[go.Scatter(x=[1], y=[1])])
    with counted_messages() as counts, figure.batch_update():
        figure.data[0].y = [2]
    assert list(counts.values()) == [1]  # plotly's own widget: 4 (2 edit ids, edit, reset)
    ((_, traits),) = counts
    assert traits == "_last_layout_edit_id,_last_trace_edit_id,_py2js_update"
    answer = {"trace_deltas": [], "trace_edit_id": figure._last_trace_edit_id}
    with counted_messages() as counts:
        figure.set_state({"_js2py_traceDeltas": answer})  # the page: "drawn"
        figure.set_state({"_js2py_layoutDelta": {"layout_delta": {}, "layout_edit_id": 0}})
    assert not counts  # plotly's own widget: an echo and a reset to None for each
    assert figure._js2py_traceDeltas is None  # plotly read the answer, as before


def test_a_click_report_is_still_reset_in_the_page():
    figure = LiveFigure(data=[go.Scatter(x=[1], y=[1])])
    points = {"trace_indexes": [0], "point_indexes": [0], "xs": [1], "ys": [1]}
    click = {"event_type": "plotly_click", "points": points}
    with counted_messages() as counts:
        figure.set_state({"_js2py_pointsCallback": click})
    # no echo; the reset to None, so that a second click on the same point is a change again
    assert counts == {("LiveFigure", "_js2py_pointsCallback"): 1}
    assert figure._js2py_pointsCallback is None


def test_the_full_state_still_carries_the_edit_ids():
    figure = LiveFigure(data=[go.Scatter(x=[1], y=[1])])
    figure.data[0].y = [2]
    state = figure.get_state()
    assert state["_last_trace_edit_id"] == figure._last_trace_edit_id == 1
    assert state["_py2js_restyle"] is None  # reset in the kernel, as plotly does


def test_an_edit_without_edit_id_is_still_reset_in_the_page():
    figure = LiveFigure(data=[go.Scatter(x=[1], y=[1]), go.Scatter(x=[2], y=[2])])
    with counted_messages() as counts:
        figure._send_moveTraces_msg([0], [1])  # carries no edit id: two alike would merge
    assert sum(counts.values()) == 2


def test_a_push_with_nothing_new_sends_nothing(explorer):
    train(explorer)
    s = explorer.state
    same = {
        "history": {key: list(values) for key, values in s.history.items()},
        "epoch": s.epoch,
        "elapsed": s.elapsed,
        "epochs_per_second": s.epochs_per_second,
        "snapshots": list(s.snapshots),
    }
    with counted_messages() as counts:
        _update(s, same)
    assert not counts, counts


def messages_of_a_run(explorer, epochs: int) -> int:
    """Widget messages of a run of ``epochs`` epochs, each pushed and snapshotted (no pace)."""
    explorer.panels.config.epochs.value = epochs
    with counted_messages() as counts:
        train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    assert explorer.state.history["epoch"] == list(range(1, epochs + 1))
    return sum(counts.values())


def test_an_epoch_sends_a_bounded_number_of_messages(explorer):
    """The messages one more epoch costs: its curves, progress, readout, the map's new frame
    and its slider. Before, each figure edit took four messages and the slider and player two
    each: 20 an epoch."""
    explorer.controller.push_interval = 0.0
    explorer.state.snapshot_every = 1
    short, long = messages_of_a_run(explorer, 2), messages_of_a_run(explorer, 8)
    per_epoch = (long - short) / 6
    assert per_epoch <= 10, (short, long)
