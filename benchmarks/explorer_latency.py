"""How fast the explorer answers a person, in a real browser from a cold cache.

    python benchmarks/explorer_latency.py                       # Voila + JupyterLab, both datasets
    python benchmarks/explorer_latency.py --frontend voila --dataset synthetic --data-dir DIR

For each front end (the Voila app started by ``tensorrec-explore serve``; JupyterLab running a
one-cell notebook ``Explorer(...)``) and each dataset (the synthetic default; MovieLens 100k,
``?dataset=movielens-100k`` for Voila), one scenario from a fresh server, kernel and browser
context (an empty profile: no HTTP cache):

- **server up** / **widgets shown** (details of *page*): command started -> the port accepts
  connections / the explorer's panels are in the page;
- **page**: command started -> the explorer usable (panels shown, loss figure drawn by plotly,
  Train enabled; for JupyterLab the notebook is opened and its cell run at once);
- **reaction**: Train clicked (``--settle`` seconds after the page was usable, 10 by default) ->
  the first visible change (Train disabled or the status line changed);
- **first point**: Train clicked -> the loss figure's ``el.data`` holds a point;
- **UMAP cold**: after a 3-epoch run, the UMAP button -> a UMAP picture (title says UMAP), the
  first UMAP of this kernel;
- **UMAP warm**: PCA, Resume for 3 more epochs, then UMAP again -> the new epoch's UMAP picture;
- **reset**: during a new run (after its first point), Reset -> status "idle", timed from
  Python: from Playwright's ``click()`` call (which first waits until the button is actionable:
  scrolled into view, stable over two animation frames, hit by the pointer) until a poll (every
  50 ms, itself a round trip to the page) reads "idle";
- **reset input**: the same Reset timed by the page itself, as the web's Interaction to Next
  Paint does: from the ``timeStamp`` of the button's ``pointerdown`` event (when the input was
  created, so the renderer's queueing of a busy page counts, Playwright's waiting before it does
  not) to the first animation frame after the status line's text says "idle". What a person's
  click waits for.

Results (seconds, with the machine's load and the commit) go to
``benchmarks/results/explorer_latency.json``; a Markdown table is printed. Page helpers come
from ``tests/app/app_support.py`` (the browser tests' own), so both measure the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))

from app_support import (  # the browser tests' helpers
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    open_notebook,
    run_cell,
    set_number,
    start_app,
    start_jupyter,
    status_text,
    trace_lengths,
    wait_for_curve_points,
    wait_until,
)

RESULTS = ROOT / "benchmarks" / "results" / "explorer_latency.json"
DATASETS = ("synthetic", "movielens-100k")
FRONTENDS = ("voila", "jupyterlab")
TARGETS = {
    "page": 15.0,
    "reaction": 1.0,
    "first_point": 3.0,
    "umap_cold": 15.0,
    "umap_warm": 3.0,
    "reset": 0.5,
    "reset_input": 0.5,
}
POLL = 0.05
#: Seconds between the first curve point and Reset, in turn, when Reset is timed several times
#: (``--resets``): the first as a single Reset is timed, the others land later in the run.
RESET_WAITS = (0.0, 0.7, 1.4, 2.1)

_TITLE_JS = """() => {
  const el = document.querySelector('.tre-embedding.js-plotly-plot');
  const t = el && el.layout && el.layout.title;
  return t ? (typeof t === 'string' ? t : t.text || '') : '';
}"""

#: Marks, in the page's own clock (ms), the Reset button's pointerdown and click events and the
#: first animation frame after the status line turned "idle" (see the module's "reset input").
_WATCH_RESET_JS = """() => {
  const mark = {origin: performance.timeOrigin};
  window.__treReset = mark;
  const onReset = (name) => (event) => {
    if (mark[name] === undefined && event.target.closest && event.target.closest('.tre-reset')) {
      mark[name] = event.timeStamp;
    }
  };
  document.addEventListener('pointerdown', onReset('pointerdown'), true);
  document.addEventListener('click', onReset('click'), true);
  const status = document.querySelector('.tre-status');
  new MutationObserver(() => {
    if (mark.pointerdown !== undefined && mark.idle === undefined
        && status.innerText.trim().startsWith('idle')) {
      mark.idle = performance.now();
      requestAnimationFrame(() => { mark.frame = performance.now(); });
    }
  }).observe(status, {childList: true, subtree: true, characterData: true});
}"""
_RESET_MARKS_JS = (
    "() => window.__treReset && window.__treReset.frame !== undefined && window.__treReset"
)


def notebook_for(dataset: str, data_dir: str | None, folder: Path) -> Path:
    """A one-cell notebook showing the explorer on ``dataset`` (as the app loads it)."""
    import nbformat

    code = (
        "from tensorrec_explore.app.datasets import load_dataset\n"
        "from tensorrec_explore.explorer import Explorer\n\n"
        f"explorer = Explorer(load_dataset({dataset!r}, {data_dir!r}))\nexplorer"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        }
    }
    path = folder / "latency.ipynb"
    nbformat.write(nb, path)
    return path


def timed(predicate, timeout: float, what: str, since: float) -> float:
    """Seconds from ``since`` until ``predicate()`` is truthy (polled every 50 ms)."""
    wait_until(predicate, timeout, what, interval=POLL)
    return time.monotonic() - since


def usable(page) -> bool:
    return bool(
        page.locator(".tre-loss-curve.js-plotly-plot").count()
        and page.locator(".tre-train").first.is_enabled()
    )


def title(page) -> str:
    return page.evaluate(_TITLE_JS) or ""


def finished(page) -> bool:
    return status_text(page).split()[:1] in (["finished"], ["stopped"])


def measure(
    page, started: float, settle: float, out: dict[str, float], resets: int = 1
) -> dict[str, float]:
    """Drive one explorer page through the scenario; add the seconds of each step to ``out``
    (Reset's: the median of ``resets`` runs each reset, their samples too when more than one)."""
    page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    out["widgets_shown"] = time.monotonic() - started
    out["page"] = timed(lambda: usable(page), PAGE_TIMEOUT_MS / 1000, "a usable page", started)
    time.sleep(settle)

    set_number(page, "tre-epochs", 3)
    before = status_text(page)
    train = page.locator(".tre-train").first
    clicked = time.monotonic()
    train.click()
    out["reaction"] = timed(
        lambda: train.is_disabled() or status_text(page) != before,
        120,
        "a visible reaction to Train",
        clicked,
    )
    out["first_point"] = timed(
        lambda: max(trace_lengths(page, "tre-loss-curve") or [0]) >= 1,
        300,
        "the first curve point",
        clicked,
    )
    wait_until(lambda: finished(page), 600, "the 3-epoch run to finish")

    method = page.locator(".tre-projection-method button")
    clicked = time.monotonic()
    method.filter(has_text="UMAP").first.click()
    out["umap_cold"] = timed(lambda: "UMAP" in title(page), 600, "the first UMAP", clicked)

    method.filter(has_text="PCA").first.click()
    wait_until(lambda: "PCA" in title(page), 60, "the PCA picture")
    epoch_before = title(page)
    page.locator(".tre-resume").first.click()
    wait_until(lambda: title(page) != epoch_before and finished(page), 600, "the resumed run")
    clicked = time.monotonic()
    method.filter(has_text="UMAP").first.click()
    out["umap_warm"] = timed(lambda: "UMAP" in title(page), 600, "the warm UMAP", clicked)

    set_number(page, "tre-epochs", 500)
    samples = [time_reset(page, wait=RESET_WAITS[i % len(RESET_WAITS)]) for i in range(resets)]
    for key in samples[0]:
        values = [sample[key] for sample in samples]
        out[key] = statistics.median(values)
        if resets > 1:
            out[f"{key}_samples"] = values
    return out


def time_reset(page, wait: float) -> dict[str, float]:
    """Train (the epochs box says 500), wait for the first curve point and ``wait`` seconds more,
    press Reset: its seconds as "reset" and "reset input" measure them, and two details of the
    latter: Playwright's ``click()`` call -> the input event (its actionability checks and the
    renderer's answers to them), the input event -> the status line saying idle."""
    page.locator(".tre-train").first.click()
    wait_for_curve_points(page, 1, timeout=300, where=" of the run to reset")
    time.sleep(wait)
    page.evaluate(_WATCH_RESET_JS)
    clicked, clicked_wall = time.monotonic(), time.time()
    page.locator(".tre-reset").first.click()
    out = {
        "reset": timed(
            lambda: status_text(page).startswith("idle"), 120, "idle after Reset", clicked
        )
    }
    marks = wait_until(lambda: page.evaluate(_RESET_MARKS_JS), 30, "the frame after idle", POLL)
    out["reset_input"] = (marks["frame"] - marks["pointerdown"]) / 1000
    out["reset_click_to_input"] = (marks["origin"] + marks["pointerdown"]) / 1000 - clicked_wall
    out["reset_input_to_idle"] = (marks["idle"] - marks["pointerdown"]) / 1000
    wait_until(
        lambda: max(trace_lengths(page, "tre-loss-curve") or [0]) == 0, 60, "the cleared curves"
    )
    return out


def run_scenario(
    browser, frontend: str, dataset: str, data_dir: str | None, settle: float, resets: int = 1
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="explorer-latency-") as tmp:
        tmp_path = Path(tmp)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        page = context.new_page()
        out = {"load_1min": round(os.getloadavg()[0], 2)}
        if frontend == "voila":
            args = ("--data-dir", data_dir) if data_dir else ()
            server = start_app(tmp_path, *args)
            out["server_up"] = time.monotonic() - server.started
            query = "" if dataset == "synthetic" else f"?dataset={dataset}"
            try:
                page.goto(server.url + query, timeout=PAGE_TIMEOUT_MS)
                return measure(page, server.started, settle, out, resets)
            finally:
                context.close()
                server.stop()
        notebook = notebook_for(dataset, data_dir, tmp_path)
        server = start_jupyter("jupyterlab", notebook, tmp_path)
        out["server_up"] = time.monotonic() - server.started
        try:
            run_cell(page, open_notebook(page, server, "jupyterlab", notebook.name))
            return measure(page, server.started, settle, out, resets)
        finally:
            context.close()
            server.stop()


def machine() -> dict:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "when_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_1min_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def table(rows: list[dict]) -> str:
    head = ["front end", "dataset", *TARGETS]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * len(TARGETS),
        "| target | | " + " | ".join(f"<= {t:g}" for t in TARGETS.values()) + " |",
    ]
    for row in rows:
        cells = [
            f"{row[k]:.2f}" if isinstance(row.get(k), float) else str(row.get(k, "-"))
            for k in TARGETS
        ]
        lines.append(f"| {row['frontend']} | {row['dataset']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frontend", choices=FRONTENDS, action="append")
    parser.add_argument("--dataset", choices=DATASETS, action="append")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("TENSORREC_EXPLORE_DATA"),
        help="folder holding ml-100k/ (default: $TENSORREC_EXPLORE_DATA)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds between a usable page and the Train click (default 10)",
    )
    parser.add_argument(
        "--resets",
        type=int,
        default=1,
        help="time Reset this many times (each in a new run); the table shows the median",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows, info = [], machine()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for frontend in args.frontend or FRONTENDS:
                for dataset in args.dataset or DATASETS:
                    row = {"frontend": frontend, "dataset": dataset}
                    try:
                        row.update(
                            run_scenario(
                                browser, frontend, dataset, args.data_dir, args.settle, args.resets
                            )
                        )
                    except Exception as e:
                        row["error"] = f"{type(e).__name__}: {str(e)[:300]}"
                    print(json.dumps(row), flush=True)
                    rows.append(row)
        finally:
            browser.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            {
                "machine": info,
                "targets_s": TARGETS,
                "settle_s": args.settle,
                "resets": args.resets,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    tmp.replace(args.output)
    print(table(rows))
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
