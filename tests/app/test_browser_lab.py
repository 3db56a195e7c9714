"""The shipped notebooks inside real JupyterLab 4 and Notebook 7, driven by headless Chromium.

Each front end serves a copy of the notebook (see ``app_support.start_jupyter``) and is opened
from an empty browser profile while both cores are kept busy: the explorer's curves and scatter
must draw (anywidget's 2 s module-load limit, raised by the tensorrec-explore labextension, is
what used to leave them as bare axes), no request may leave 127.0.0.1 and no stderr stream
(TensorFlow's start-up lines) may reach the notebook.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import pytest
from app_support import (
    PAGE_TIMEOUT_MS,
    TIMINGS,
    embedding_counts,
    kernel_idle,
    load_limit_patched,
    off_machine,
    open_notebook,
    press,
    record_requests,
    run_cell,
    set_number,
    shared_modules,
    start_jupyter,
    status_text,
    wait_for_curve_points,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "explorer.ipynb"
STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


@pytest.fixture(params=["jupyterlab", "notebook"])
def frontend(request):
    pytest.importorskip(request.param, reason=f"{request.param} is not installed")
    return request.param


def test_explorer_notebook_draws_under_load(frontend, tmp_path, busy_machine, context):
    server = start_jupyter(frontend, NOTEBOOK, tmp_path)
    try:
        started = time.monotonic()
        page = context.new_page()
        requests = record_requests(page)
        first_code = open_notebook(page, server, frontend, NOTEBOOK.name)
        assert load_limit_patched(page), "the tensorrec-explore labextension did not load"
        run_cell(page, first_code)  # `explorer = Explorer(); explorer`
        page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        for cls in (
            "tre-config",
            "tre-train",
            "tre-loss-curve",
            "tre-val-curve",
            "tre-embedding",
            "tre-inspector",
            "tre-runs",
        ):
            assert page.locator(f".{cls}").count() >= 1, cls
        page.locator(".tre-loss-curve.js-plotly-plot").wait_for(timeout=PAGE_TIMEOUT_MS)
        TIMINGS[f"{frontend} (busy): page open to explorer visible"] = time.monotonic() - started
        # plotly's ~5 MB module ran once for the four figures, not once per figure
        wait_until(
            lambda: shared_modules(page).get("reused", 0) >= 3, 60, "the figures to share a module"
        )

        set_number(page, "tre-n-components", 8)
        set_number(page, "tre-epochs", 3)
        press(page.locator(".tre-train"))
        wait_for_curve_points(page, 2, where=f" in {frontend}")
        wait_until(
            lambda: status_text(page).split()[0] in ("finished", "stopped"),
            240,
            "the run to finish",
        )
        counts = wait_until(lambda: embedding_counts(page), 240, "the embedding scatter to draw")
        assert max(counts.values()) > 0, counts
        page.screenshot(path=str(tmp_path / f"{frontend}.png"))
        assert page.locator(STDERR_OUTPUT).count() == 0, page.locator(
            STDERR_OUTPUT
        ).all_inner_texts()
        assert not off_machine(requests), off_machine(requests)
        TIMINGS[f"browser test ({frontend}, busy)"] = time.monotonic() - started
    finally:
        leftovers = server.stop()
    assert not leftovers, f"processes left running after {frontend} stopped: {leftovers}"


def assert_unchanged(opened: Path, shipped: Path) -> None:
    """Same bytes; on another Python than the notebooks record, only that version may differ."""
    if opened.read_bytes() == shipped.read_bytes():
        return
    before, after = json.loads(shipped.read_text()), json.loads(opened.read_text())
    recorded = before["metadata"]["language_info"]["version"]
    running = platform.python_version()
    assert recorded != running, f"JupyterLab rewrote {shipped.name} (diff it against the copy)"
    before["metadata"]["language_info"]["version"] = running
    assert after == before, f"JupyterLab changed more than the Python version in {shipped.name}"


def test_opening_shipped_notebooks_leaves_them_unchanged(tmp_path, context):
    """JupyterLab rewrites metadata it disagrees with; autosave (every 2 s here) would save it."""
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosaveInterval": 2}')
    shipped = sorted(NOTEBOOKS.glob("*.ipynb"))
    server = start_jupyter("jupyterlab", shipped[0], tmp_path)
    try:
        served = tmp_path / "notebooks"
        for notebook in shipped[1:]:
            (served / notebook.name).write_bytes(notebook.read_bytes())
        for notebook in shipped:
            page = context.new_page()  # one JupyterLab window per notebook
            open_notebook(page, server, "jupyterlab", notebook.name)
            page.wait_for_timeout(6_000)  # three autosave periods
            assert kernel_idle(server)
            assert_unchanged(served / notebook.name, notebook)
            page.close()
    finally:
        leftovers = server.stop()
    assert not leftovers, leftovers
