"""The embedding map driven by hand in a real headless Chromium (issue 15, point 3).

One served explorer, one short run, then what a user does with the map: click an item and a user
on the scatter (the inspector follows), search an item by name (it is marked and the map zooms
onto it), and play the epoch snapshots (the slider's readout steps through them). Points of the
WebGL scatter have no DOM element: a click goes to the pixel plotly's axes put the point at.
"""

from __future__ import annotations

import time

import pytest
from app_support import (
    press,
    PAGE_TIMEOUT_MS,
    TIMINGS,
    embedding_counts,
    set_number,
    status_text,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

MAP = ".tre-embedding.js-plotly-plot"

# Page position of the point of trace ``name`` farthest from every other drawn point (so a click
# there cannot land on a neighbour), away from the plot's edges, legend, mode bar and colour bars
# (a click there would not reach the point), with its index in that trace.
_ISOLATED_POINT_JS = """
([selector, name]) => {
  const el = document.querySelector(selector);
  const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
  const box = el.getBoundingClientRect();
  const drawn = el._fullData.filter(t => t.visible === true && t.type === 'scattergl');
  const pixels = t => Array.from(t.x || [], (x, i) => [
    box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(t.y[i])]);
  const target = pixels(drawn.find(t => t.name === name));
  const others = drawn.flatMap(pixels);
  const covers = Array.from(el.querySelectorAll('.legend, .modebar-container, .colorbar'),
                            c => c.getBoundingClientRect());
  const covered = (x, y) => covers.some(r =>
    x > r.left - 8 && x < r.right + 8 && y > r.top - 8 && y < r.bottom + 8);
  let best = null;
  target.forEach(([x, y], index) => {
    if (x < box.left + xa._offset + 15 || x > box.left + xa._offset + xa._length - 15) return;
    if (y < box.top + ya._offset + 15 || y > box.top + ya._offset + ya._length - 15) return;
    if (covered(x, y)) return;
    let gap = Infinity;
    for (const [u, v] of others) {
      const d = Math.hypot(u - x, v - y);
      if (d > 0.01 && d < gap) gap = d;
    }
    if (!best || gap > best.gap) best = {x, y, index, gap};
  });
  return best;
}
"""

# Points (x) and hover text of the trace ``name``, and the map's x range.
_TRACE_JS = """
([selector, name]) => {
  const el = document.querySelector(selector);
  const t = el._fullData.find(t => t.name === name);
  return {n: t.x ? t.x.length : 0, x: Array.from(t.x || []), text: Array.from(t.hovertext || []),
          range: el._fullLayout.xaxis.range.slice()};
}
"""


def open_explorer(page, url: str) -> None:
    page.goto(url, timeout=PAGE_TIMEOUT_MS)
    page.locator(".tre-explorer").wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
    page.locator(MAP).wait_for(timeout=60_000)


def click_point(page, trace: str) -> int:
    """Click, with the mouse, the most isolated point of ``trace``; return its index."""
    page.locator(MAP).scroll_into_view_if_needed()
    point = page.evaluate(_ISOLATED_POINT_JS, [MAP, trace])
    assert point and point["gap"] > 4, f"no clickable point in {trace!r}: {point}"
    page.mouse.move(point["x"] - 3, point["y"] - 3)
    page.mouse.move(point["x"], point["y"])
    page.wait_for_timeout(300)  # plotly finds the hovered point on mousemove
    page.mouse.click(point["x"], point["y"])
    return point["index"]


def show(page, what: str) -> None:
    """Choose what the map shows ("items", "users", "users and items"); wait until it does."""
    page.locator(".tre-embeddings-panel select").first.select_option(what)
    wanted = sorted(what.split(" and "))
    wait_until(
        lambda: (
            page.evaluate(
                "s => document.querySelector(s)._fullData"
                ".filter(t => t.visible === true && ['items', 'users'].includes(t.name))"
                ".map(t => t.name).sort()",
                MAP,
            )
            == wanted
        ),
        30,
        f"the map to show {what}",
    )


def input_value(page, css_class: str) -> str:
    return page.locator(f".{css_class} input").first.input_value()


def option(page, css_class: str, index: int) -> str:
    return page.locator(f".{css_class} datalist option").nth(index).get_attribute("value")


def readout(page) -> str:
    return page.locator(".tre-epoch-slider .widget-readout").first.inner_text().strip()


def map_title(page) -> str:
    """The map's title, which names the epoch drawn."""
    return page.locator(f"{MAP} .gtitle").first.text_content()


def test_map_click_search_and_play(app_factory, context):
    started = time.monotonic()
    app = app_factory()
    page = context.new_page()
    open_explorer(page, app.url)

    set_number(page, "tre-n-components", 8)
    set_number(page, "tre-epochs", 4)
    press(page.locator(".tre-train"))
    wait_until(lambda: status_text(page).startswith("finished"), 180, "the short run to finish")
    wait_until(lambda: embedding_counts(page), 120, "the embedding scatter to fill")
    assert input_value(page, "tre-user-select") == input_value(page, "tre-item-select") == ""

    # (1) a click on an item, then on a user, opens it in the inspector
    clicked = {}
    for kind, select, answer, rows in (
        ("items", "tre-item-select", "tre-similar-items", 2),  # its similar items
        ("users", "tre-user-select", "tre-ranked-table", 10),  # its top-k
    ):
        show(page, kind)
        expected = clicked[kind] = option(page, select, click_point(page, kind))
        wait_until(
            lambda select=select, expected=expected: input_value(page, select) == expected,
            30,
            f"the inspector to show the clicked {kind[:-1]} {expected!r}",
        )
        wait_until(
            lambda answer=answer, rows=rows: page.locator(f".{answer} tr").count() >= rows,
            30,
            f"the inspector's .{answer} to fill",
        )
    show(page, "users and items")

    # (2) searching an item by name selects it, marks it on the map and zooms onto it
    before = page.evaluate(_TRACE_JS, [MAP, "selected item"])
    target = next(i for i in range(5, 50) if option(page, "tre-item-select", i) != clicked["items"])
    title = option(page, "tre-item-select", target)
    search = page.locator(".tre-map-search input").first
    search.fill(f"item: {title}")
    search.press("Enter")
    wait_until(
        lambda: input_value(page, "tre-item-select") == title, 30, f"the search to find {title!r}"
    )
    full = before["range"][1] - before["range"][0]

    def found():
        m = page.evaluate(_TRACE_JS, [MAP, "selected item"])
        zoomed = m["range"][1] - m["range"][0] < 0.5 * full
        return m if m["text"] != before["text"] and zoomed else None

    marked = wait_until(found, 30, "the found item to be marked and the map to zoom onto it")
    assert marked["n"] == 1 and title in marked["text"][0], marked
    assert marked["range"][0] < marked["x"][0] < marked["range"][1], marked

    # (3) play steps back through the epoch snapshots
    last = readout(page)
    assert last == "4", last
    press(page.locator(".tre-play button").first)
    seen, titles = {last}, {map_title(page)}

    def stepped():
        seen.add(readout(page))
        titles.add(map_title(page))
        return len(seen) >= 3 and len(titles) >= 3

    wait_until(stepped, 30, "the play button to step through the snapshots", interval=0.1)
    earlier = seen - {last}
    assert any(t.endswith(f"epoch {e}") for e in earlier for t in titles), (seen, titles)
    TIMINGS["browser map interactions (click/search/play)"] = time.monotonic() - started
