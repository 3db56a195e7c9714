"""Is the embedding map fluid at ml-1m scale? Measured in a real browser from an empty profile.

    python benchmarks/explorer_map.py --data-dir /work/shared/data           # movielens-1m
    python benchmarks/explorer_map.py --dataset synthetic --repeats 3        # a quick check

The Voila app (``tensorrec-explore serve --dataset movielens-1m``: 6,040 users + 3,706 items =
9,746 points on the map) in a headless Chromium with an empty profile; one short run is trained
in the page (``--epochs`` epochs, a snapshot per epoch), then each step below is timed
``--repeats`` times from the person's action to the answer on screen (polled every 50 ms in the
page) and the median is reported:

- **pca** / **umap**: the PCA (resp. UMAP) button pressed while the other is shown -> the map's
  title names it and its traces hold every point (a frame already projected: plotly's redraw);
  **umap first**: the first UMAP of the run (projection + redraw), once;
- **click**: a mouse click on an item point -> the inspector's item field names that item;
- **search**: an item's title typed in the map's search box + Enter -> the item is marked and the
  map zoomed onto it;
- **step**: one snapshot step (the epoch slider moved by one with the keyboard: what each Play
  tick does) -> the map's title names the new epoch;
- **user**: a mouse click on a user point -> the user's marks drawn (the user, their top-k)
  and the inspector's user field names them;
- **hover**: the mouse moved onto an item point -> plotly's tooltip shows its title.

Targets a person calls fluid: <= 0.5 s for click / search / step / user / hover, <= 3 s for the
PCA map. Results (seconds, with the 1-minute load at each step) go to
``benchmarks/results/explorer_map.json``; a Markdown table is printed. The page helpers are the
browser tests' own (``tests/app/app_support.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "app"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_support import (  # the browser tests' helpers
    CHROMIUM,
    CHROMIUM_ARGS,
    MAP,
    TRACE_JS,
    embedding_counts,
    hover_point,
    input_value,
    isolated_point,
    map_title,
    open_explorer,
    option,
    press,
    set_number,
    show,
    start_app,
    status_text,
    wait_until,
)
from explorer_latency import machine, timed

RESULTS = ROOT / "benchmarks" / "results" / "explorer_map.json"
TARGETS = {
    "pca": 3.0,
    "umap": 3.0,
    "umap_first": None,
    "click": 0.5,
    "search": 0.5,
    "step": 0.5,
    "user": 0.5,
    "hover": 0.5,
}

_TOOLTIP_JS = """(selector) => {
  const t = document.querySelector(selector + ' .hoverlayer .hovertext');
  return t ? t.textContent : '';
}"""


def load() -> float:
    return round(os.getloadavg()[0], 2)


def full_map(page, n_points: int) -> bool:
    counts = embedding_counts(page) or {}
    return counts.get("items", 0) + counts.get("users", 0) >= n_points


def method_steps(page, n_points: int, repeats: int, out: dict) -> None:
    """UMAP once (projection + redraw), then PCA <-> UMAP redraws of projected frames."""
    method = page.locator(".tre-projection-method button")
    clicked = time.monotonic()
    method.filter(has_text="UMAP").first.click()
    out["umap_first"] = [
        timed(
            lambda: "UMAP" in map_title(page) and full_map(page, n_points),
            900,
            "the first UMAP",
            clicked,
        )
    ]
    for _ in range(repeats):
        for name in ("PCA", "UMAP"):
            clicked = time.monotonic()
            method.filter(has_text=name).first.click()
            out[name.lower()].append(
                timed(
                    lambda name=name: name in map_title(page) and full_map(page, n_points),
                    120,
                    f"the {name} map",
                    clicked,
                )
            )
    method.filter(has_text="PCA").first.click()
    wait_until(lambda: "PCA" in map_title(page), 120, "the PCA map")


def search_for(page, kind: str, label: str) -> float:
    """Type ``label`` in the map's search box and press Enter; return the time of the press."""
    search = page.locator(".tre-map-search input").first
    search.fill(f"{kind}: {label}")
    pressed = time.monotonic()
    search.press("Enter")
    return pressed


def zoom_out(page, full: float, out: dict) -> None:
    """Empty the search box (the map zooms out) and wait for the whole map; if it has not
    zoomed out within 15 s, press plotly's Autoscale button (counted in ``out``)."""
    search = page.locator(".tre-map-search input").first
    search.fill("")
    search.press("Enter")

    def whole() -> bool:
        r = page.evaluate(TRACE_JS, [MAP, "items"])["range"]
        return r[1] - r[0] > 0.9 * full

    try:
        wait_until(whole, 15, "the map to zoom out (search box emptied)")
    except AssertionError:
        out["zoom_out_by_autoscale"] = out.get("zoom_out_by_autoscale", 0) + 1
        page.locator(f"{MAP} .modebar-btn[data-title='Autoscale']").first.click(force=True)
        wait_until(whole, 60, "the map to zoom out (Autoscale)")


def click_search_hover(page, repeats: int, out: dict) -> None:
    """Search an item (marked + zoomed onto it), then, in that zoomed view (9.7k points leave
    no point clickable on the whole map), click the most isolated other item and hover it."""
    for rep in range(repeats):
        before = page.evaluate(TRACE_JS, [MAP, "selected item"])
        full = before["range"][1] - before["range"][0]
        title = option(page, "tre-item-select", 7 + 11 * rep)
        pressed = search_for(page, "item", title)

        def found(title=title, full=full):
            m = page.evaluate(TRACE_JS, [MAP, "selected item"])
            zoomed = m["range"][1] - m["range"][0] < 0.5 * full
            return m["n"] == 1 and title in m["text"][0] and zoomed

        out["search"].append(timed(found, 60, f"{title!r} marked and zoomed", pressed))
        page.wait_for_timeout(500)  # the neighbours' marks may follow: let them land
        point = isolated_point(page, "items")
        expected = option(page, "tre-item-select", point["index"])
        assert expected != title, "the isolated item is the one searched"
        hover_point(page, point)
        clicked = time.monotonic()
        page.mouse.click(point["x"], point["y"])
        out["click"].append(
            timed(
                lambda expected=expected: input_value(page, "tre-item-select") == expected,
                60,
                f"the inspector to show the clicked item {expected!r}",
                clicked,
            )
        )
        # hover: off the map (the tooltip goes), then onto the point (the tooltip comes)
        page.wait_for_timeout(500)
        point = isolated_point(page, "items")  # the click's marks moved the neighbours
        expected = option(page, "tre-item-select", point["index"])
        page.mouse.move(2, 2)
        wait_until(lambda: not page.evaluate(_TOOLTIP_JS, MAP), 30, "the tooltip to go")
        page.mouse.move(point["x"] - 3, point["y"] - 3)
        moved = time.monotonic()
        page.mouse.move(point["x"], point["y"])
        out["hover"].append(
            timed(
                lambda expected=expected: expected in page.evaluate(_TOOLTIP_JS, MAP),
                30,
                "the tooltip of the hovered item",
                moved,
            )
        )
        zoom_out(page, full, out)


def select_users(page, repeats: int, out: dict) -> None:
    """Search a user (zoomed onto them), then click the most isolated other user of that view:
    the clicked user's marks are drawn and the inspector names them."""
    show(page, "users")
    for rep in range(repeats):
        full = page.evaluate(TRACE_JS, [MAP, "items"])["range"]
        full = full[1] - full[0]
        other = option(page, "tre-user-select", 3 + 5 * rep)
        search_for(page, "user", other)

        def other_marked(other=other, full=full):
            m = page.evaluate(TRACE_JS, [MAP, "selected user"])
            zoomed = m["range"][1] - m["range"][0] < 0.5 * full
            return m["text"] and other.split(" (")[0] in m["text"][0] and zoomed

        wait_until(other_marked, 60, f"the map to mark user {other!r} and zoom")
        page.wait_for_timeout(500)  # the top-k marks may follow: let them land
        point = isolated_point(page, "users")  # the marks drawn are points to avoid too
        expected = option(page, "tre-user-select", point["index"])
        assert expected != other, "the isolated user is the one already selected"
        hover_point(page, point)
        clicked = time.monotonic()
        page.mouse.click(point["x"], point["y"])

        def marked(expected=expected):
            user = page.evaluate(TRACE_JS, [MAP, "selected user"])
            top = page.evaluate(TRACE_JS, [MAP, "top-k items"])
            return (
                input_value(page, "tre-user-select") == expected
                and user["n"] >= 1
                and expected.split(" (")[0] in user["text"][0]
                and top["n"] > 0
            )

        out["user"].append(
            timed(marked, 60, f"the marks of the clicked user {expected!r}", clicked)
        )
        zoom_out(page, full, out)
    show(page, "users and items")


def snapshot_steps(page, repeats: int, out: dict) -> None:
    """Move the epoch slider one step back with the keyboard (as one Play tick does)."""
    handle = page.locator(".tre-epoch-slider .noUi-handle").first
    for _ in range(repeats):
        before = map_title(page)
        handle.focus()
        pressed = time.monotonic()
        handle.press("ArrowLeft")
        out["step"].append(
            timed(
                lambda before=before: map_title(page) != before and "epoch" in map_title(page),
                60,
                "the map to show the previous snapshot",
                pressed,
            )
        )


def run(browser, dataset: str, data_dir: str | None, epochs: int, repeats: int) -> dict:
    out: dict = {name: [] for name in TARGETS}
    loads: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="explorer-map-") as tmp:
        args = ("--dataset", dataset) + (("--data-dir", data_dir) if data_dir else ())
        server = start_app(Path(tmp), *args, timeout=300)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        try:
            page = context.new_page()
            open_explorer(page, server.url)
            wait_until(lambda: page.locator(".tre-train").first.is_enabled(), 300, "Train")
            set_number(page, "tre-epochs", epochs)
            set_number(page, "tre-snapshot-every", 1)
            loads["train"] = load()
            started = time.monotonic()
            press(page.locator(".tre-train"))
            wait_until(lambda: status_text(page).startswith("finished"), 1800, "the run to end")
            out["train_s"] = round(time.monotonic() - started, 1)
            counts = wait_until(lambda: embedding_counts(page), 300, "the map to fill")
            n_points = counts["items"] + counts["users"]
            out["points"] = n_points
            for name, step in (
                ("map", lambda: method_steps(page, n_points, repeats, out)),
                ("click_search_hover", lambda: click_search_hover(page, repeats, out)),
                ("user", lambda: select_users(page, repeats, out)),
                ("step", lambda: snapshot_steps(page, repeats, out)),
            ):
                loads[name] = load()
                try:
                    step()
                except Exception as e:  # the other steps are still measured
                    out.setdefault("errors", {})[name] = f"{type(e).__name__}: {str(e)[:300]}"
                    print(f"{name}: {out['errors'][name]}", flush=True)
        finally:
            context.close()
            server.stop()
    out["load_1min"] = loads
    out["median_s"] = {
        name: round(statistics.median(out[name]), 3) for name in TARGETS if out[name]
    }
    return out


def table(row: dict) -> str:
    head = [name for name in TARGETS if name in row["median_s"]]
    lines = [
        "| | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(head),
        "| target | " + " | ".join(f"<= {TARGETS[n]:g}" if TARGETS[n] else "" for n in head) + " |",
        f"| {row['dataset']} median | "
        + " | ".join(f"{row['median_s'][n]:.2f}" for n in head)
        + " |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", default="movielens-1m", choices=("movielens-1m", "movielens-100k", "synthetic")
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("TENSORREC_EXPLORE_DATA"),
        help="folder holding ml-1m/ (default: $TENSORREC_EXPLORE_DATA)",
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the run (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per step")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    info = machine()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            row = {"dataset": args.dataset, "epochs": args.epochs, "repeats": args.repeats}
            row.update(run(browser, args.dataset, args.data_dir, args.epochs, args.repeats))
        finally:
            browser.close()
    print(json.dumps(row), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"machine": info, "targets_s": TARGETS, "row": row}, indent=1) + "\n")
    tmp.replace(args.output)
    print(table(row))
    return 1 if row.get("errors") else 0


if __name__ == "__main__":
    raise SystemExit(main())
