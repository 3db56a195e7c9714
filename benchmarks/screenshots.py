"""Screenshots of the explorer for README.md, taken from a real browser run (re-run to refresh).

    python benchmarks/screenshots.py            # the Voila app on the built-in synthetic data

Starts ``tensorrec-explore`` (Voila, on 127.0.0.1), opens it in headless Chromium at 1,600 px,
trains the default model, switches the map to UMAP, colours items by cluster, picks a user and
an item, then saves the whole page and each panel to ``benchmarks/results/screenshots/``.
Page helpers come from ``tests/app/app_support.py`` (the browser tests' own).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))

from app_support import (  # the browser tests' helpers
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    start_app,
    status_text,
    wait_for_curve_points,
    wait_until,
)

OUT = ROOT / "benchmarks" / "results" / "screenshots"
PANELS = {
    "diagram": ".tre-diagram-section",
    "configure": ".tre-config-section",
    "train": ".tre-train-section",
    "embeddings": ".tre-embeddings-section",
    "inspector": ".tre-inspector-section",
    "runs": ".tre-runs-section",
}
_TITLE_JS = """() => {
  const el = document.querySelector('.tre-embedding.js-plotly-plot');
  const t = el && el.layout && el.layout.title;
  return t ? (typeof t === 'string' ? t : t.text || '') : '';
}"""


def choose(page, css_class: str, text: str) -> None:
    """Type ``text`` into a Combobox (an ipywidgets text input with a datalist) and commit."""
    box = page.locator(f".{css_class} input").first
    box.fill(text)
    box.press("Enter")


def take(page) -> None:
    """Drive the explorer like a teacher preparing a class, then photograph it."""
    page.locator(".tre-loss-curve").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.locator(".tre-train button, button.tre-train").first.click()
    wait_for_curve_points(page, 15, where="screenshots")
    wait_until(lambda: status_text(page).startswith("finished"), 300, "the run to finish")
    page.locator(".tre-projection-method button", has_text="UMAP").first.click()
    wait_until(lambda: "UMAP" in page.evaluate(_TITLE_JS), 300, "a UMAP picture")
    page.locator(".tre-item-colour select").first.select_option("cluster_name")
    options = page.locator(".tre-user-select datalist option")
    choose(page, "tre-user-select", options.nth(7).get_attribute("value") or "")
    choose(
        page,
        "tre-item-select",
        page.locator(".tre-item-select datalist option").nth(3).get_attribute("value") or "",
    )
    page.set_viewport_size({"width": 1600, "height": 4000})  # everything in view: Voila's
    page.wait_for_timeout(3000)  # page scrolls inside a container; let plotly redraw
    OUT.mkdir(parents=True, exist_ok=True)
    page.locator(".tre-explorer").first.screenshot(path=str(OUT / "explorer.png"))
    for name, selector in PANELS.items():
        page.locator(selector).first.screenshot(path=str(OUT / f"{name}.png"))


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        app = start_app(Path(tmp))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(app.url)
            take(page)
        finally:
            browser.close()
            app.stop()
    print(
        f"screenshots in {OUT.relative_to(ROOT)}: explorer.png, "
        + ", ".join(f"{name}.png" for name in PANELS)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
