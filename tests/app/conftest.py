"""Fixtures of the app tests: apps started by their real command, and a headless Chromium.

Browser tests are marked ``browser`` and ``slow`` and skip (with the reason) when
``/usr/bin/chromium`` or Playwright is missing. Helpers live in ``app_support.py``.
"""

from __future__ import annotations

import os

import pytest
from app_support import CHROMIUM, CHROMIUM_ARGS, TIMINGS, RunningApp, busy_cpus, start_app


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("app timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")


@pytest.fixture
def app_factory(tmp_path):
    """Start apps with ``app_factory(*cli_args)``; all are stopped at teardown, checked clean."""
    apps: list[RunningApp] = []

    def factory(*args: str, **kwargs) -> RunningApp:
        app = start_app(tmp_path, *args, **kwargs)
        apps.append(app)
        return app

    yield factory
    leftovers = {app.url: app.stop() for app in apps}
    assert not any(leftovers.values()), f"processes left running after stop: {leftovers}"


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright (skips when either is missing)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def busy_machine():
    """Both cores of the 2-core target kept busy by spinning processes for the whole test."""
    with busy_cpus(2) as pids:
        yield pids


@pytest.fixture
def context(browser):
    """A fresh browser context, closed at teardown.

    A new context is an empty profile: no cookies, storage or HTTP cache from earlier tests.
    """
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()
