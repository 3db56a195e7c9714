"""Helpers for the explorer tests (driving it like a user, without a browser)."""

from __future__ import annotations

import time


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
