"""`tensorrec-explore open MODEL` in a real headless Chromium (issue 15, point 7).

A model is fitted and saved by `tensorrec-explore fit --validate-every 1 --save` (a script's
model: trained elsewhere, with a history), then served by `tensorrec-explore open MODEL --split
random_holdout` as a user would start it. The page must show that model without anyone pressing
Train: the status says where it comes from, the loss curve is its saved history, the map is
drawn. Clicking a user on the map then marks their training items, held-out items and top-k
(distinct traces of the scatter) and the inspector lists their ranked items. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from app_support import (
    TIMINGS,
    click_point,
    embedding_counts,
    input_value,
    off_machine,
    open_explorer,
    option,
    record_requests,
    show,
    status_text,
    trace_lengths,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

EPOCHS = 4
#: The marks of the selected user (embedding_marks.MARKS) that must all be drawn.
USER_MARKS = ("selected user", "train items", "held-out items", "top-k items", "links")


def fit_and_save(folder) -> None:
    """Train and save a small model the way a script or a terminal user would."""
    command = [
        sys.executable,
        "-m",
        "tensorrec_explore.cli",
        "fit",
        "--dataset",
        "synthetic",
        "--n-components",
        "8",
        "--epochs",
        str(EPOCHS),
        "--validate-every",
        "1",
        "--quiet",
        "--save",
        str(folder),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_open_shows_a_saved_model_and_its_user_marks(app_factory, context, tmp_path):
    started = time.monotonic()
    fit_and_save(tmp_path / "model")
    app = app_factory(
        str(tmp_path / "model"),
        "--dataset",
        "synthetic",
        "--split",
        "random_holdout",
        command="open",
    )
    page = context.new_page()
    requests = record_requests(page)
    open_explorer(page, app.url)

    # the model is on show without training: status, saved curve, map; Train was never pressed
    wait_until(lambda: "trained elsewhere" in status_text(page), 60, "the status to name the model")
    assert status_text(page).startswith("finished"), status_text(page)
    wait_until(
        lambda: max(trace_lengths(page, "tre-loss-curve") or [0]) == EPOCHS,
        60,
        f"the loss curve to draw the saved history's {EPOCHS} epochs",
    )
    counts = wait_until(lambda: embedding_counts(page), 60, "the map to draw the model")
    assert counts["items"] == 400 and counts["users"] == 600, counts
    assert not any(counts[name] for name in USER_MARKS), counts  # nobody selected yet

    # a click on a user on the map: the inspector follows and the user's marks are drawn
    show(page, "users")
    user = option(page, "tre-user-select", click_point(page, "users"))
    wait_until(
        lambda: input_value(page, "tre-user-select") == user,
        30,
        f"the inspector to show the clicked user {user!r}",
    )
    wait_until(
        lambda: page.locator(".tre-ranked-table tr").count() >= 10,
        30,
        "the inspector's ranked items",
    )
    marks = wait_until(
        lambda: (c := embedding_counts(page)) and all(c[name] for name in USER_MARKS) and c,
        30,
        "the selected user's marks on the map",
    )
    assert marks["selected user"] == 1 and marks["top-k items"] == 10, marks
    assert marks["links"] == 3 * marks["top-k items"], marks  # user -> item, gap, per item
    assert page.locator(".tre-test-items tr").count() > marks["held-out items"], marks  # + head

    assert not off_machine(requests), off_machine(requests)
    TIMINGS["browser open (fit + serve + page + marks)"] = time.monotonic() - started
