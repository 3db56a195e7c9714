"""The served explorer in a real headless Chromium: train, stop, embeddings, inspector; tabs.

Each test starts ``tensorrec-explore serve`` itself (see ``app_support.start_app``) and stops it
at teardown, checking that no Voila or kernel process is left.
"""

from __future__ import annotations

import time

import pytest
from app_support import (
    PAGE_TIMEOUT_MS,
    TIMINGS,
    UNQUIET_TF,
    embedding_counts,
    kernel_id_of,
    kernel_status,
    load_limit_patched,
    off_machine,
    press,
    record_requests,
    set_number,
    shared_modules,
    status_text,
    tensorflow_lines,
    trace_lengths,
    wait_for_curve_points,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

PANELS = (
    "tre-config",
    "tre-train",
    "tre-stop",
    "tre-loss-curve",
    "tre-val-curve",
    "tre-embedding",
    "tre-inspector",
    "tre-user-select",
    "tre-ranked-table",
    "tre-runs",
)
N_USERS, N_ITEMS = 600, 400  # make_synthetic()'s default size, the app's default dataset


def open_explorer(page, url: str):
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    # figures are drawn by plotly.js after the widget views exist
    page.locator(".tre-loss-curve.js-plotly-plot").wait_for(timeout=60_000)


def start_training(page, *, epochs: int = 500) -> None:
    """Configure a long run (stopped by the test) and press Train."""
    set_number(page, "tre-epochs", epochs)
    set_number(page, "tre-val-every", 1)
    press(page.locator(".tre-train"))
    wait_until(lambda: status_text(page).startswith("training"), 60, "status 'training'")


def test_explorer_trains_stops_and_inspects(app_factory, busy_machine, context, tmp_path):
    """From an empty browser profile, both cores busy: offline, quiet, curves and scatter draw."""
    started = time.monotonic()
    app = app_factory(env=UNQUIET_TF)
    page = context.new_page()
    requests = record_requests(page)
    open_explorer(page, app.url)
    TIMINGS["command to usable explorer page (busy)"] = time.monotonic() - app.started
    assert load_limit_patched(page), "the app template's script did not run"

    for cls in PANELS:
        assert page.locator(f".{cls}").count() >= 1, f"panel .{cls} is missing"
    for cls in PANELS:
        if cls != "tre-ranked-table":  # empty until a user is chosen
            assert page.locator(f".{cls}").first.is_visible(), f".{cls} is not visible"
    assert status_text(page).startswith("idle")
    # plotly's ~5 MB module ran once for the four figures, not once per figure
    wait_until(
        lambda: shared_modules(page).get("reused", 0) >= 3, 60, "the figures to share a module"
    )

    # choose a loss and a representation (they reach the kernel: the run record names them)
    page.locator(".tre-loss select").select_option("warp")
    page.locator(".tre-item-representation select").select_option("normalized_linear")
    set_number(page, "tre-n-components", 8)
    start_training(page)

    wait_for_curve_points(page, 3)
    wait_until(
        lambda: max(trace_lengths(page, "tre-val-curve") or [0]) >= 1,
        120,
        "the validation curve to hold a point",
    )
    press(page.locator(".tre-stop"))
    wait_until(
        lambda: status_text(page).split()[0] in ("stopped", "finished"), 120, "training to stop"
    )
    epochs_drawn = max(trace_lengths(page, "tre-loss-curve"))
    assert 3 <= epochs_drawn < 500

    runs = page.locator(".tre-runs").first.inner_text()
    assert "warp" in runs and "normalized_linear" in runs, runs

    # one embedding point per item and per user (snapshots come after the run)
    counts = wait_until(lambda: embedding_counts(page), 120, "the embedding scatter to fill")
    assert sorted(counts.values())[-2:] == [N_ITEMS, N_USERS], counts

    # pick a user, see their ranked list
    user_box = page.locator(".tre-user-select input").first
    first_user = page.locator(".tre-user-select datalist option").first.get_attribute("value")
    user_box.fill(first_user)
    user_box.press("Enter")
    rows = page.locator(".tre-ranked-table tr")
    wait_until(lambda: rows.count() >= 10, 60, "the ranked list of the chosen user")

    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not off_machine(requests), off_machine(requests)
    assert not tensorflow_lines(app.log()), tensorflow_lines(app.log())
    TIMINGS["browser test 1 (train/stop/inspect, busy)"] = time.monotonic() - started


def test_tabs_have_own_kernels_closing_frees_one_errors_show(app_factory, context):
    started = time.monotonic()
    app = app_factory("--kernel-timeout", "6")
    first, second = context.new_page(), context.new_page()
    # both pages execute the app notebook at the same time
    first.goto(app.url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    second.goto(app.url, wait_until="commit", timeout=PAGE_TIMEOUT_MS)
    for page in (first, second):
        page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        page.locator(".tre-loss-curve.js-plotly-plot").wait_for(timeout=60_000)
    ids = kernel_id_of(first), kernel_id_of(second)
    assert all(ids) and ids[0] != ids[1], ids
    assert kernel_status(app.url, ids[0]) == kernel_status(app.url, ids[1]) == 200

    # training in the first tab leaves the second untouched
    set_number(first, "tre-n-components", 8)
    start_training(first)
    wait_for_curve_points(first, 2, where=" in the first tab")
    assert max(trace_lengths(second, "tre-loss-curve") or [0]) == 0
    assert status_text(second).startswith("idle")
    press(first.locator(".tre-stop"))

    # closing the first tab frees its kernel; the second keeps working
    first.close(run_before_unload=True)
    wait_until(lambda: kernel_status(app.url, ids[0]) == 404, 60, "the closed tab's kernel to go")
    assert kernel_status(app.url, ids[1]) == 200
    assert len(app.kernel_pids()) == 1, app.kernel_pids()
    set_number(second, "tre-n-components", 8)
    start_training(second, epochs=2)
    wait_for_curve_points(second, 1, where=" in the second tab, after the first closed")

    # an error in a kernel shows in its page (one line, no traceback)
    third = context.new_page()
    third.goto(app.url + "?dataset=no-such-dataset", timeout=PAGE_TIMEOUT_MS)
    error = third.locator(".tre-app-error")
    error.wait_for(state="visible", timeout=60_000)
    assert "no-such-dataset" in error.inner_text()
    assert third.locator(".tre-explorer").count() == 0
    TIMINGS["browser test 3 (tabs/kernels/errors)"] = time.monotonic() - started
