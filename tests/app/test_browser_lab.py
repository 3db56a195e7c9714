"""notebooks/explorer.ipynb inside a real JupyterLab, driven by headless Chromium.

JupyterLab serves a copy of the notebook (autosave would write into the original) from a
temporary folder, with its own settings and workspaces folders, announcements and update checks
off, ``--allow-root`` when run as root, and no token (it listens on 127.0.0.1 only).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from app_support import (
    HOST,
    PAGE_TIMEOUT_MS,
    TIMINGS,
    free_port,
    set_number,
    start_server,
    status_text,
    trace_lengths,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explorer.ipynb"


@pytest.fixture
def lab(tmp_path):
    if not NOTEBOOK.is_file():
        pytest.fail(f"{NOTEBOOK} is missing")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port = free_port(HOST)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        f"--ServerApp.ip={HOST}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.news_url=None",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {"JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")}
    server = start_server(command, port, tmp_path, env=env, name="jupyterlab", timeout=120)
    try:
        yield server
    finally:
        leftovers = server.stop()
        assert not leftovers, f"processes left running after JupyterLab stopped: {leftovers}"


def accept_dialogs(page) -> None:
    """Accept any JupyterLab dialog in the way (e.g. a kernel prompt on a busy machine).

    Its text is printed, so a run that needed it says what JupyterLab asked.
    """
    dialogs = page.locator(".jp-Dialog")
    for _ in range(3):
        if not dialogs.count() or not dialogs.first.is_visible():
            return
        print("JupyterLab dialog accepted:", dialogs.first.inner_text()[:300].replace("\n", " | "))
        dialogs.first.locator(".jp-mod-accept").first.click(timeout=10_000)
        page.wait_for_timeout(500)


def test_explorer_notebook_in_jupyterlab(lab, context):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.monotonic()
    page = context.new_page()
    page.goto(f"{lab.url}lab/tree/{NOTEBOOK.name}", timeout=PAGE_TIMEOUT_MS)
    first_code = page.locator(".jp-Notebook .jp-CodeCell").first
    first_code.wait_for(state="visible", timeout=120_000)
    # the kernel must be up before the cell runs (the toolbar says "Idle")
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        state="attached", timeout=120_000)
    # run the notebook's first code cell (`explorer = Explorer(); explorer`) with the toolbar's
    # run button; a click that lands before the notebook is wired up is retried
    run_button = page.locator(".jp-NotebookPanel-toolbar [data-command='notebook:run-cell']")
    if not run_button.count():
        run_button = page.locator(
            ".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']")
    for attempt in range(3):
        accept_dialogs(page)
        try:
            first_code.locator(".jp-InputPrompt").click(timeout=20_000)
            run_button.first.click(timeout=20_000)
            first_code.locator(".jp-InputPrompt").filter(has_text="[*]").or_(
                first_code.locator(".jp-OutputArea-output")).first.wait_for(timeout=30_000)
            break
        except PlaywrightTimeout:  # not started yet, or a dialog came up: accept it, run again
            if attempt == 2:
                raise
    page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    for cls in ("tre-config", "tre-train", "tre-loss-curve", "tre-val-curve", "tre-embedding",
                "tre-inspector", "tre-runs"):
        assert page.locator(f".{cls}").count() >= 1, cls
    page.locator(".tre-loss-curve.js-plotly-plot").wait_for(timeout=60_000)
    TIMINGS["JupyterLab: page open to explorer visible"] = time.monotonic() - started

    set_number(page, "tre-n-components", 8)
    set_number(page, "tre-epochs", 3)
    page.locator(".tre-train").click()
    wait_until(lambda: max(trace_lengths(page, "tre-loss-curve") or [0]) >= 2, 240,
               "the loss curve to draw points in JupyterLab")
    wait_until(lambda: status_text(page).split()[0] in ("finished", "stopped"), 240,
               "the run to finish")
    page.screenshot(path=str(lab.log_path.parent / "jupyterlab.png"))
    TIMINGS["browser test 2 (JupyterLab)"] = time.monotonic() - started
