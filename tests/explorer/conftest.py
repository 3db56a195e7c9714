"""Fixtures for driving the explorer the way a user does, without a browser."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")


@pytest.fixture(scope="session")
def small_dataset():
    from tensorrec_explore.data import make_synthetic

    return make_synthetic(n_users=60, n_items=40, n_clusters=4, interactions_per_user=8, seed=1)


@pytest.fixture
def explorer(small_dataset):
    from tensorrec_explore.explorer import Explorer

    ex = Explorer(
        small_dataset, warm_umap=False, epochs=3, n_components=8, random_state=0, push_interval=0.05
    )
    yield ex
    ex.close()
