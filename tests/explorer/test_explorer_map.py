"""The embedding map, driven like a user: search, marks of the selected user and item, legend,
colour bar, snapshots played back."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from explorer_support import train

from tensorrec_explore.explorer.panels.embedding_colours import legend_html


@pytest.fixture
def trained(explorer):
    explorer.panels.config.epochs.value = 4
    explorer.state.snapshot_every = 1
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    return explorer


def test_selected_user_shows_train_heldout_and_topk_joined(trained):
    s, emb, inspector = trained.state, trained.panels.embeddings, trained.panels.inspector
    user = next(u for u in range(s.n_users) if sp.csr_matrix(s.data["test"])[u].nnz)
    s.selected_user = user
    marks = emb.marks
    n_train = sp.csr_matrix(s.data["train"])[user].nnz
    n_test = sp.csr_matrix(s.data["test"])[user].nnz
    assert len(marks["train items"].x) == n_train
    assert len(marks["held-out items"].x) == n_test
    k = inspector.k.value
    assert len(marks["top-k items"].x) == k
    links = marks["links"]
    assert len(links.x) == 3 * k  # user -> item, then a gap, per top-k item
    user_xy = (marks["selected user"].x[0], marks["selected user"].y[0])
    assert np.allclose((links.x[0], links.y[0]), user_xy)
    assert np.allclose(links.x[1::3], marks["top-k items"].x)


def test_search_selects_highlights_and_zooms(trained):
    s, emb = trained.state, trained.panels.embeddings
    title = s.item_titles[5]
    emb.search.value = next(o for o in emb.search.options if o == f"item: {title}")
    assert s.selected_item == 5
    assert len(emb.marks["selected item"].x) == 1
    x = emb.marks["selected item"].x[0]
    lo, hi = emb.figure.layout.xaxis.range
    # zoomed onto it: the view spans a fifth of all the points' extent (users and items)
    extent = np.ptp(np.concatenate([emb.items_trace.x, emb.users_trace.x]))
    assert lo < x < hi and np.isclose(hi - lo, extent / 5, rtol=1e-3)
    # its nearest neighbours are listed by the inspector and drawn on the map
    neighbours = list(trained.panels.inspector.similar_frame["item"])
    assert s.neighbour_items == neighbours
    assert len(emb.marks["neighbours"].x) == len(neighbours)
    emb.search.value = f"user: {s.user_labels[3]}"
    assert s.selected_user == 3
    zoomed = emb.figure.layout.xaxis.range
    emb.search.value = "user: nobody of that name"  # names nobody: nothing changes
    assert s.selected_user == 3 and emb.figure.layout.xaxis.range == zoomed
    # the browser only sends values it accepts: with ensure_option it never sends "", and
    # emptying the box (below) would never reach the kernel (seen in a real Chromium)
    assert not emb.search.ensure_option and not emb.search.continuous_update
    emb.search.value = ""  # zooms out again
    assert emb.figure.layout.xaxis.autorange is True


def test_categorical_legend_and_numeric_colour_bar(trained):
    emb = trained.panels.embeddings
    emb.item_colour.value = "cluster_name"
    assert "items by cluster_name" in emb.legend.value
    assert "cluster 0" in emb.legend.value
    assert not emb.items_trace.marker.showscale
    assert popularity_values(trained) > 12  # many distinct numbers: a colour bar instead
    emb.item_colour.value = "popularity"
    assert emb.items_trace.marker.colorscale and emb.items_trace.marker.showscale
    assert emb.items_trace.marker.colorbar.title.text == "items: popularity"
    assert "items by popularity" not in emb.legend.value


def popularity_values(explorer) -> int:
    return explorer.state.dataset.item_metadata["popularity"].nunique()


def test_legend_html_lists_each_value_once_in_order():
    html = legend_html("items by genre", ["b", "a", "b", "<x>"], ["#1", "#2", "#1", "#3"], "circle")
    assert html.count("#1") == 1 and html.index(">a<") < html.index(">b<")
    assert "&lt;x&gt;" in html


def test_play_steps_through_the_snapshots(trained):
    s, emb = trained.state, trained.panels.embeddings
    epochs = [snap.epoch for snap in s.snapshots]
    assert emb.play.max == len(epochs) - 1 >= 2
    emb.play.value = 0
    assert s.frame_epoch == epochs[0] and not emb.follow.value
    assert f"epoch {epochs[0]}" in emb.figure.layout.title.text
    emb.play.value = 1
    assert s.frame_epoch == epochs[1]


def test_density_contours_and_category_labels(trained):
    s, emb = trained.state, trained.panels.embeddings
    emb.item_colour.value = "cluster_name"
    assert not emb.density_trace.visible and not emb.figure.layout.annotations
    emb.density.value = True
    assert emb.density_trace.visible and len(emb.density_trace.x) == s.n_items
    names = {a.text for a in emb.figure.layout.annotations}
    assert names == set(s.dataset.item_metadata["cluster_name"].astype(str))
    # each label sits at the median of its category's items
    label = next(a for a in emb.figure.layout.annotations if a.text == "cluster 0")
    members = (s.dataset.item_metadata["cluster_name"] == "cluster 0").to_numpy()
    assert np.isclose(label.x, np.median(np.asarray(emb.items_trace.x)[members]))
    emb.density.value = False
    assert not emb.figure.layout.annotations


class _Loop:
    """A kernel loop stand-in: callbacks wait until the test runs them."""

    def __init__(self) -> None:
        self.callbacks: list = []

    def add_callback(self, fn) -> None:
        self.callbacks.append(fn)

    def run(self) -> None:
        while self.callbacks:
            self.callbacks.pop(0)()


def test_one_action_updates_the_map_once(trained, monkeypatch):
    # At ml-1m scale every plotly update redraws ~10k points in the browser: a click on a user
    # (selection, then the inspector's top-k) or a search (selection, neighbours, zoom) must
    # reach it as one update, not one per trait that changed.
    s, emb = trained.state, trained.panels.embeddings
    loop, sent = _Loop(), []
    send = emb.figure._send_update_msg
    monkeypatch.setattr(emb, "_loop", loop)
    monkeypatch.setattr(
        emb.figure, "_send_update_msg", lambda *a, **k: sent.append(1) or send(*a, **k)
    )
    s.selected_user = 4
    assert not sent and len(loop.callbacks) == 1  # nothing sent while the handlers run
    loop.run()
    assert len(sent) == 1
    assert len(emb.marks["selected user"].x) == 1
    assert len(emb.marks["top-k items"].x) == len(s.highlighted_items) > 0
    title = s.item_titles[9]
    emb.search.value = f"item: {title}"
    assert s.selected_item == 9 and len(sent) == 1 and len(loop.callbacks) == 1
    loop.run()
    assert len(sent) == 2
    assert title in emb.marks["selected item"].hovertext[0]
    lo, hi = emb.figure.layout.xaxis.range
    assert lo < emb.marks["selected item"].x[0] < hi
    assert len(emb.marks["neighbours"].x) == len(s.neighbour_items) > 0
