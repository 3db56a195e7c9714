"""The server's lifecycle against a tiny placeholder notebook (no TensorFlow, seconds each)."""

from __future__ import annotations

import time
import urllib.request

import pytest
from app_support import PLACEHOLDER, TIMINGS, kernel_status, wait_until


def test_server_starts_fast_and_stops_clean(app_factory):
    app = app_factory("--notebook", str(PLACEHOLDER))
    TIMINGS["placeholder: command to listening port"] = time.monotonic() - app.started
    # A page request runs the notebook in a kernel; stopping must leave no kernel behind.
    with urllib.request.urlopen(app.url, timeout=60) as response:
        page = response.read()
    assert b"placeholder" in page
    assert b"://cdn." not in page, "the page must not load anything from a CDN (offline use)"
    assert b"tensorrecExplore" in page, "the template's anywidget load-limit script is missing"
    assert app.kernel_pids(), "the page request should have started a kernel"
    # app.stop() sends SIGINT (Ctrl-C) to the command first: it must stop Voila and its kernel
    assert app.stop() == []
    assert app.proc.returncode == 0, app.log()
    assert "Stopped." in app.log() and "Traceback" not in app.log()


@pytest.mark.browser
@pytest.mark.slow
def test_tabs_get_own_kernels_and_closing_frees_them(app_factory, context):
    app = app_factory("--notebook", str(PLACEHOLDER), "--kernel-timeout", "6")
    tabs = [context.new_page(), context.new_page()]
    for tab in tabs:
        tab.goto(app.url)
        tab.locator(".tre-train").wait_for(state="visible")
    ids = [tab.locator(".tre-app-meta").get_attribute("data-kernel-id") for tab in tabs]
    assert ids[0] and ids[1] and ids[0] != ids[1]
    assert all(kernel_status(app.url, k) == 200 for k in ids)
    # A click in the first tab changes only the first tab's kernel.
    tabs[0].locator(".tre-train").click()
    tabs[0].locator(".tre-train").click()
    clicks = [tab.locator(".tre-clicks input") for tab in tabs]
    wait_until(lambda: clicks[0].input_value() == "2", 10, "two clicks in tab 1")
    assert clicks[1].input_value() == "0"
    tabs[0].close(run_before_unload=True)
    wait_until(lambda: kernel_status(app.url, ids[0]) == 404, 30, "the closed tab's kernel to stop")
    assert kernel_status(app.url, ids[1]) == 200
    assert len(app.kernel_pids()) == 1
    tabs[1].locator(".tre-train").click()
    wait_until(lambda: clicks[1].input_value() == "1", 10, "the remaining tab to still work")


@pytest.mark.browser
@pytest.mark.slow
def test_a_kernel_error_shows_in_the_page(app_factory, context):
    app = app_factory("--notebook", str(PLACEHOLDER))
    page = context.new_page()
    page.goto(app.url + "?fail=1")
    page.get_by_text("placeholder failure requested by ?fail").first.wait_for(state="visible")
