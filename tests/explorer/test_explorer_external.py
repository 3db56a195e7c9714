"""Debugging a model trained elsewhere: a script's model, a saved one, another system's vectors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import TensorRec
from tensorrec_explore.errors import InputError
from tensorrec_explore.explorer import Explorer
from tensorrec_explore.explorer.datasets import prepare


def _script_model(dataset, epochs: int = 3) -> tuple[TensorRec, dict]:
    data = prepare(dataset, split="random_holdout", user_feature_set="ids", item_feature_set="ids")
    model = TensorRec(n_components=6, epochs=epochs, random_state=0).fit(data["train"])
    return model, data


def test_a_model_fitted_in_a_script_shows_in_every_panel(small_dataset):
    model, data = _script_model(small_dataset)
    ex = Explorer(
        small_dataset, model=model, split="random_holdout", warm_umap=False, preload=False
    )
    try:
        s, p = ex.state, ex.panels
        assert ex.controller.run is None  # nothing was trained
        assert s.status == "finished" and "trained elsewhere" in s.message
        assert s.model is model and s.n_components == 6 and s.epochs == 3
        assert len(p.curves.loss_figure.data[0].y) == 3  # its own training history
        assert ex.projector.wait_idle(60)
        assert len(p.embeddings.items_trace.x) == s.n_items
        s.selected_user = 2
        items, _ = model.recommend(np.array([2]), k=p.inspector.k.value, exclude=data["train"])
        assert list(p.inspector.ranked_frame["item"]) == list(items[0])
        assert "Model of run 1 at epoch 3" in p.inspector.model_info.value
        assert len(s.runs) == 1 and "ndcg@10" in s.runs[0].metrics
        ex.panels.curves.resume_button.click()  # and it can be trained further
        assert ex.controller.join(120)
        assert s.status == "finished" and s.epoch == 6
    finally:
        ex.close()


def test_a_saved_model_opens_without_training(small_dataset, tmp_path):
    model, _ = _script_model(small_dataset)
    model.save(tmp_path / "model")
    loaded = TensorRec.load(tmp_path / "model")
    ex = Explorer(small_dataset, model=loaded, warm_umap=False, preload=False)
    try:
        assert ex.state.split == "none"  # its training split is unknown
        assert ex.state.status == "finished"
        assert len(ex.panels.curves.loss_figure.data[0].y) == 3  # the saved history, drawn
        assert ex.projector.wait_idle(60)
        # a page connecting now (Voila renders after the cell ran; a reload) gets the figures
        # as drawn, not as created: plotly's edits were messages sent before it listened
        for figure, points in (
            (ex.panels.curves.loss_figure, 3),
            (ex.panels.embeddings.figure, small_dataset.n_items),
        ):
            x = figure.get_state()["_widget_data"][0]["x"]
            assert (x["shape"][0] if isinstance(x, dict) else len(x)) == points
        ex.state.selected_user = 0
        assert len(ex.panels.inspector.ranked_frame) == ex.panels.inspector.k.value
    finally:
        ex.close()


def test_vectors_of_another_system_are_projected_and_inspected(small_dataset):
    rng = np.random.default_rng(0)
    users = rng.standard_normal((small_dataset.n_users, 5))
    items = rng.standard_normal((small_dataset.n_items, 5))
    ex = Explorer.from_vectors(
        small_dataset,
        users,
        items,
        prediction="cosine",
        split="random_holdout",
        warm_umap=False,
        preload=False,
    )
    try:
        s, p = ex.state, ex.panels
        assert "another system" in s.message
        s.selected_user = 7
        train = sp.csr_matrix(s.data["train"])

        def unit(m):
            return m / np.linalg.norm(m, axis=1, keepdims=True)

        scores = (unit(users) @ unit(items).T)[7]
        scores[train[7].indices] = -np.inf
        expected = np.argsort(-scores, kind="stable")[: p.inspector.k.value]
        assert list(p.inspector.ranked_frame["item"]) == list(expected)
        s.selected_item = 3
        assert len(p.inspector.similar_frame) == p.inspector.k.value
        assert "another system" in p.inspector.why_table.value
        p.inspector.liked.value = [p.inspector.liked.allowed_tags[0]]
        assert "TensorRec models" in p.inspector.sandbox_table.value
        assert ex.projector.wait_idle(60)
        assert len(p.embeddings.users_trace.x) == s.n_users
        assert not ex.controller.resume()
        assert "another system" in s.error
    finally:
        ex.close()


def test_a_model_of_other_data_is_refused(small_dataset):
    users = np.ones((small_dataset.n_users + 1, 3))
    with pytest.raises(InputError, match="users x"):
        Explorer.from_vectors(
            small_dataset,
            users,
            np.ones((small_dataset.n_items, 3)),
            warm_umap=False,
            preload=False,
        )
    with pytest.raises(InputError, match="dimensions"):
        Explorer.from_vectors(
            small_dataset,
            np.ones((small_dataset.n_users, 3)),
            np.ones((small_dataset.n_items, 4)),
            warm_umap=False,
            preload=False,
        )
