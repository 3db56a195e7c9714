"""What the explorer does while its page loads: its background work waits until it is shown."""

from __future__ import annotations

import pytest

from tensorrec_explore.explorer import Explorer, app
from tensorrec_explore.explorer.projector import Projector


class FakeLoop:
    """A kernel loop that runs ``add_callback`` at once and keeps ``call_later`` for the test."""

    def __init__(self) -> None:
        self.later: list[tuple[float, object]] = []

    def add_callback(self, fn, *args) -> None:
        fn(*args)

    def call_later(self, delay: float, fn, *args) -> None:
        self.later.append((delay, lambda: fn(*args)))


@pytest.fixture
def started(monkeypatch) -> list[str]:
    """Which background jobs started: TensorFlow's import ("engine") and UMAP's ("umap")."""
    jobs: list[str] = []
    monkeypatch.setattr(app, "engine_loaded", lambda: False)
    monkeypatch.setattr(app, "load_in_background", lambda *_args: jobs.append("engine"))
    monkeypatch.setattr(Projector, "warm_up", lambda _self: jobs.append("umap"))
    return jobs


def build(dataset, loop) -> Explorer:
    return Explorer(dataset, loop=loop, warm_umap=True, preload=True)


def test_background_work_starts_when_a_front_end_shows_the_explorer(small_dataset, started):
    loop = FakeLoop()
    ex = build(small_dataset, loop)
    try:
        assert ex.widget._view_count == 0  # the front end is asked to count its views
        assert started == []
        assert ex.state.message.startswith("Loading TensorFlow")  # said at once
        ex.widget._view_count = 1  # the front end's first view (a comm message, in a kernel)
        assert sorted(started) == ["engine", "umap"]
        for _delay, fallback in loop.later:
            fallback()
        assert sorted(started) == ["engine", "umap"]  # once only
    finally:
        ex.close()


def test_background_work_starts_anyway_when_no_view_is_reported(small_dataset, started):
    loop = FakeLoop()
    ex = build(small_dataset, loop)
    try:
        assert [delay for delay, _ in loop.later] == [app.SHOWN_FALLBACK_SECONDS]
        loop.later[0][1]()
        assert sorted(started) == ["engine", "umap"]
        ex.widget._view_count = 1
        assert sorted(started) == ["engine", "umap"]
    finally:
        ex.close()


def test_background_work_starts_at_once_without_a_kernel_loop(small_dataset, started):
    ex = build(small_dataset, None)
    try:
        assert sorted(started) == ["engine", "umap"]
    finally:
        ex.close()


def test_a_closed_explorer_starts_nothing(small_dataset, started):
    loop = FakeLoop()
    ex = build(small_dataset, loop)
    ex.close()
    loop.later[0][1]()
    assert started == []
