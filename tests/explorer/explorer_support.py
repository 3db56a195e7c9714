"""Helpers for the explorer tests (driving it like a user, without a browser)."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def train(ex, timeout: float = 300.0) -> None:
    """Click Train and wait for the run (and the projections of its snapshots) to finish."""
    ex.panels.curves.train_button.click()
    assert ex.controller.join(timeout), "training did not finish in time"
    ex.projector.wait_idle(timeout)


def wait_for(predicate, timeout: float = 120.0, step: float = 0.02) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@contextmanager
def counted_messages() -> Iterator[collections.Counter]:
    """Count every widget message sent while the block runs.

    Yields
    ------
    collections.Counter
        ``(widget, traits)`` -> messages, filled as they are sent (``widget``: its class and
        first ``tre-`` CSS class; ``traits``: the sorted trait names a message carries, after
        its method unless it is an ``update``).
    """
    import ipywidgets as w

    counts: collections.Counter = collections.Counter()
    original = w.Widget._send

    def send(widget: Any, msg: dict, buffers: Any = None) -> None:
        state, method = msg.get("state"), msg.get("method", "?")
        key = ",".join(sorted(state)) if state else method
        if state and method != "update":  # ipywidgets' echo_update
            key = f"{method}: {key}"
        counts[(_name(widget), key)] += 1
        original(widget, msg, buffers)

    w.Widget._send = send
    try:
        yield counts
    finally:
        w.Widget._send = original


def _name(widget: Any) -> str:
    """The widget's class, with its first ``tre-`` CSS class when it has one."""
    classes = [c for c in getattr(widget, "_dom_classes", ()) if c.startswith("tre-")]
    return type(widget).__name__ + (f" .{classes[0]}" if classes else "")
