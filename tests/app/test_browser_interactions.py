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
    MAP,
    TIMINGS,
    TRACE_JS,
    click_point,
    embedding_counts,
    input_value,
    map_title,
    open_explorer,
    option,
    press,
    readout,
    set_number,
    show,
    status_text,
    wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


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
    before = page.evaluate(TRACE_JS, [MAP, "selected item"])
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
        m = page.evaluate(TRACE_JS, [MAP, "selected item"])
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
