"""Drive the explorer like a user: set widgets, click buttons, check what the figures show."""

from __future__ import annotations

import numpy as np
import pytest
from explorer_support import train, wait_for

import tensorrec_explore
from tensorrec_explore.explorer import Explorer


def classes(widget) -> set[str]:
    return set(widget._dom_classes)


def test_explorer_displays_as_one_widget_tree(explorer):
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert (
        bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.widget.model_id
    )
    p = explorer.panels
    assert "tre-config" in classes(p.config.widget)
    assert "tre-train" in classes(p.curves.train_button)
    assert "tre-stop" in classes(p.curves.stop_button)
    assert "tre-loss-curve" in classes(p.curves.loss_figure)
    assert "tre-val-curve" in classes(p.curves.val_figure)
    assert "tre-embedding" in classes(p.embeddings.figure)
    assert "tre-inspector" in classes(p.inspector.widget)
    assert "tre-user-select" in classes(p.inspector.user_select)
    assert "tre-ranked-table" in classes(p.inspector.ranked_table)
    assert "tre-runs" in classes(p.runs.widget)
    assert explorer.state.status == "idle"


def test_default_dataset_is_the_synthetic_one():
    ex = Explorer(warm_umap=False)
    try:
        assert ex.state.dataset_name.startswith("synthetic")
        assert ex.state.n_users == ex.dataset.n_users > 0
    finally:
        ex.close()


def test_train_draws_one_curve_point_per_epoch(explorer):
    p = explorer.panels
    p.config.epochs.value = 4
    p.config.val_every.value = 2
    train(explorer)
    s = explorer.state
    assert s.status == "finished", s.error
    loss, reg, val_loss = p.curves.loss_figure.data
    assert len(loss.x) == len(loss.y) == 4
    assert len(reg.y) == 4
    assert list(val_loss.x) == [2, 4] and val_loss.y.dtype == np.float32
    assert loss.y.dtype == np.float32  # sent as binary
    assert np.isfinite(loss.y).all()
    assert [len(t.y) for t in p.curves.val_figure.data] == [2, 2, 2]
    assert list(p.curves.val_figure.data[0].x) == [2, 4]
    assert p.curves.progress.value == p.curves.progress.max == 4
    assert s.epochs_per_second > 0
    assert "first_point" in explorer.controller.timings
    # the run is kept for comparison
    assert len(p.runs.frame) == 1
    assert p.runs.frame.loc[0, "loss"] == s.loss
    assert "ndcg@10" in p.runs.frame.columns


def test_embeddings_show_every_user_and_item(explorer):
    train(explorer)
    p = explorer.panels.embeddings
    assert len(p.items_trace.x) == explorer.state.n_items
    assert len(p.users_trace.x) == explorer.state.n_users
    assert len(p.items_trace.hovertext) == explorer.state.n_items
    # one snapshot before training plus the last epoch at least, each with a PCA frame
    epochs = [snap.epoch for snap in explorer.state.snapshots]
    assert epochs[0] == 0 and epochs[-1] == 3
    assert all((e, "pca") in explorer.state.projections for e in epochs)
    # scrubbing to epoch 0 shows that frame
    p.epoch_slider.value = 0
    assert explorer.state.frame_epoch == 0
    assert p.current_frame()[0] == 0
    assert "PCA of epoch 0" in p.info.value


def test_each_taste_vector_is_a_point(explorer):
    explorer.panels.config.n_tastes.value = 2
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    assert len(explorer.panels.embeddings.users_trace.x) == 2 * explorer.state.n_users
    explorer.panels.embeddings.select_point("users", 7)  # taste 1 of user 3
    assert explorer.state.selected_user == 3


def test_stop_mid_run_then_resume(explorer):
    p = explorer.panels
    p.config.epochs.value = 500
    p.curves.train_button.click()
    assert wait_for(lambda: explorer.state.epoch >= 2, timeout=120)
    assert p.curves.train_button.disabled and not p.curves.stop_button.disabled
    p.curves.stop_button.click()
    assert explorer.controller.join(60)
    s = explorer.state
    assert s.status == "stopped", s.error
    stopped_at = s.epoch
    assert 2 <= stopped_at < 500
    assert len(p.curves.loss_figure.data[0].y) == stopped_at
    assert not p.curves.resume_button.disabled
    # resume continues the same model for 'epochs' more epochs
    p.config.epochs.value = 2
    p.curves.resume_button.click()
    assert explorer.controller.join(120)
    assert s.status == "finished", s.error
    assert s.epoch == stopped_at + 2
    assert len(p.curves.loss_figure.data[0].y) == stopped_at + 2
    assert len(explorer.state.runs) == 1  # a resumed run updates its record
    # reset forgets the model and the curves
    p.curves.reset_button.click()
    assert s.model is None and s.status == "idle"
    assert len(p.curves.loss_figure.data[0].y) == 0
    assert len(p.embeddings.items_trace.x) == 0


def test_invalid_combination_is_explained_not_raised(explorer):
    p = explorer.panels
    p.config.user_representation.value = "pass_through"
    s = explorer.state
    assert s.config_problems
    beside = p.config.field_problems["user_representation"].value
    assert "pass_through" in beside and "n_components" in beside
    assert p.curves.train_button.disabled  # Train waits for a fix
    assert not explorer.controller.train()  # and code that trains anyway gets the reason
    assert s.status == "error"
    assert "Cannot train" in s.error and "pass_through" in p.status.error.value
    assert s.error_detail == "" and "Traceback" not in p.status.error.value
    # n_tastes > 1 with pass-through users is explained too
    p.config.n_tastes.value = 3
    assert any("n_tastes" in problem for problem in s.config_problems)
    # fixing it clears the explanation
    p.config.user_representation.value = "linear"
    p.config.n_tastes.value = 1
    assert s.config_problems == []
    assert p.config.problems.value == ""
    assert p.config.field_problems["user_representation"].value == ""


def test_model_errors_show_their_message_without_traceback(explorer):
    p = explorer.panels
    p.config.loss.value = "separation"  # needs dislikes: the model refuses when fit starts
    train(explorer)
    s = explorer.state
    assert s.status == "error"
    assert "disliked" in s.error
    assert s.error_detail == ""  # a tensorrec_explore error: its message is enough
    assert "disliked" in p.status.error.value
    assert p.status.details.layout.display == "none"


def test_feature_sets_without_features_are_explained(small_dataset):
    from tensorrec_explore.data import InteractionDataset

    plain = InteractionDataset(small_dataset.interactions, name="plain")
    ex = Explorer(plain, warm_umap=False)
    try:
        ex.panels.config.item_feature_set.value = "features"
        assert any("no item features" in problem for problem in ex.state.config_problems)
    finally:
        ex.close()


def test_custom_keras_representation_appears_in_dropdowns_and_trains(explorer):
    import keras

    class TanhDense(keras.layers.Layer):
        def __init__(self, n_components=8, **kwargs):
            super().__init__(**kwargs)
            self.n_components = n_components
            self.dense = keras.layers.Dense(n_components, activation="tanh")

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "n_components": self.n_components}

    name = f"test_tanh_{id(explorer)}"
    tensorrec_explore.register_representation(name, TanhDense)
    p = explorer.panels.config
    assert name in p.user_representation.options
    assert name in p.item_representation.options
    p.item_representation.value = name
    p.epochs.value = 2
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error + explorer.state.error_detail
    assert len(explorer.panels.curves.loss_figure.data[0].y) == 2
    assert explorer.state.runs[-1].config["item_representation"] == name


def test_runs_are_compared_in_a_table_and_overlaid(explorer):
    p = explorer.panels
    train(explorer)
    p.config.loss.value = "bpr"
    train(explorer)
    assert explorer.state.status == "finished", explorer.state.error
    frame = p.runs.frame
    assert list(frame["loss"]) == ["softmax", "bpr"]
    assert {"precision@10", "recall@10", "ndcg@10", "auc", "seconds"} <= set(frame.columns)
    assert len(p.runs.figure.data) == 2
    p.runs.curve.value = "data loss"
    assert len(p.runs.figure.data[0].y) == 3
    p.runs.select.value = (2,)
    assert len(p.runs.figure.data) == 1


@pytest.mark.parametrize("name", ["linear", "relu"])
def test_every_builtin_choice_is_in_the_dropdowns(explorer, name):
    assert name in explorer.panels.config.user_representation.options
    assert set(tensorrec_explore.LOSSES.names()) <= set(explorer.panels.config.loss.options)


def test_auto_settings_train_with_the_models_recipe(explorer):
    from tensorrec_explore.defaults import EMBEDDING_RECIPE
    from tensorrec_explore.losses import Softmax

    p, s = explorer.panels, explorer.state
    p.config.epochs.value = 0  # "auto", as in a fresh explorer
    p.config.learning_rate.value = 0.0
    p.config.learning_rate_schedule.value = "auto"
    kwargs = s.model_kwargs()
    assert kwargs["epochs"] is kwargs["learning_rate"] is kwargs["learning_rate_schedule"] is None
    train(explorer)
    assert s.status == "finished", s.error
    model = s.model
    assert (model.learning_rate_, model.learning_rate_schedule_, model.epochs_) == (
        Softmax.embedding_learning_rate,  # the default loss's own starting rate
        EMBEDDING_RECIPE.schedule,
        EMBEDDING_RECIPE.epochs,
    )
    assert s.target_epochs == s.epoch == EMBEDDING_RECIPE.epochs
    assert p.curves.progress.max == EMBEDDING_RECIPE.epochs
    assert len(s.history["loss"]) == EMBEDDING_RECIPE.epochs


def test_runs_table_shows_values_used_best_first_and_only_what_differs(explorer):
    p = explorer.panels
    train(explorer)
    p.config.loss.value = "bpr"
    train(explorer)
    frame = explorer.runs_frame()
    metrics = [c for c in frame.columns if c.endswith("@10") or c == "auc"]
    assert frame.columns[0] == "run" and frame.columns[1] in metrics  # metrics first
    assert frame.columns.get_loc(metrics[-1]) < frame.columns.get_loc("loss")
    # the resolved learning rate, not the form's 0 = auto
    assert (frame["learning_rate"] > 0).all() and frame["l2"].notna().all()
    html = p.runs.table.value
    header = html[html.index("<tr>") : html.index("</tr>")]
    assert "<th>loss</th>" in header and "<th>d</th>" not in header  # only what differs
    assert "same in every run:" in html and "d=8" in html
    best = frame["ndcg@10"].max()
    assert html.count("tre-best") >= 1 and f">{best:.4g}<" in html
    assert [label for label, _ in p.runs.select.options][1].startswith("#2 loss=bpr")
    p.runs.sort_by.value = "ndcg@10"
    p.runs.descending.value = True
    first_row = p.runs.table.value.split("<tr>")[2]
    assert first_row.startswith(f"<td>{int(frame.loc[frame['ndcg@10'].idxmax(), 'run'])}</td>")


def test_auto_epochs_follow_the_catalogues_size(explorer):
    from tensorrec_explore.defaults import (
        DENSE_SOFTMAX_RECIPE,
        EMBEDDING_RECIPE,
        LARGE_CATALOGUE_ITEMS,
    )
    from tensorrec_explore.explorer.auto import auto_values
    from tensorrec_explore.explorer.engine import load_engine

    load_engine()
    config = {**explorer.state.config(), "loss": "wmrb", "n_components": 0, "n_sampled_items": 0}
    config.update(user_representation="linear", item_representation="linear")
    assert auto_values(config, LARGE_CATALOGUE_ITEMS - 1)["epochs"] == 20
    assert auto_values(config, LARGE_CATALOGUE_ITEMS)["epochs"] == 12  # with 128 samples
    assert auto_values({**config, "n_sampled_items": 64}, LARGE_CATALOGUE_ITEMS)["epochs"] == 20
    # the softmax: its dense recipe, or the embedding recipe where samples are asked for
    softmax = {**config, "loss": "softmax"}
    assert auto_values(softmax, 400)["epochs"] == DENSE_SOFTMAX_RECIPE.epochs
    assert auto_values({**softmax, "n_sampled_items": 64}, 400)["epochs"] == EMBEDDING_RECIPE.epochs


def test_form_names_auto_values_and_shows_each_problem_once_beside_its_field(explorer):
    from tensorrec_explore.explorer.engine import load_engine

    config, curves = explorer.panels.config, explorer.panels.curves
    load_engine()  # the explorer loads TensorFlow in the background: wait for it here
    explorer.controller.refresh_config()
    # softmax + linear towers: the embedding recipe at the softmax's own starting rate
    assert config.hints["learning_rate"].value.count("auto (0.15)") == 1
    assert config.hints["epochs"].value == ""  # the fixture sets 3 epochs
    config.epochs.value = 0
    assert "auto (15)" in config.hints["epochs"].value
    config.item_representation.value = "relu"  # a deep tower: the standard recipe
    assert "auto (0.03)" in config.hints["learning_rate"].value
    config.learning_rate.value = 0.05
    assert config.hints["learning_rate"].value == ""  # set by hand: no hint
    config.user_representation.value = "pass_through"  # needs n_components == n_users
    problem = config.field_problems["user_representation"].value
    assert "n_components" in problem
    assert problem not in config.problems.value  # once, beside its field
    assert curves.train_button.disabled
    config.user_representation.value = "linear"
    assert (
        not curves.train_button.disabled
        and config.field_problems["user_representation"].value == ""
    )
    config.learning_rate.value = 5.0
    assert "extreme" in config.problems.value and not curves.train_button.disabled


def test_explorer_config_bad_values_raise_input_error() -> None:
    from tensorrec_explore.errors import InputError
    from tensorrec_explore.explorer import Explorer
    from tensorrec_explore.explorer.state import ExplorerState

    with pytest.raises(InputError, match="n_tastes=0 is not valid"):
        ExplorerState().configure({"n_tastes": 0})
    with pytest.raises(InputError, match="unknown configuration name"):
        Explorer(config={"n_component": 8})


def test_form_state_and_runs_table_follow_the_settings_declaration() -> None:
    from tensorrec_explore import TensorRec, settings
    from tensorrec_explore.explorer.panels.config import ConfigPanel
    from tensorrec_explore.explorer.panels.runs import runs_frame
    from tensorrec_explore.explorer.records import RunRecord
    from tensorrec_explore.explorer.state import ExplorerState
    from tensorrec_explore.registry import LOSSES, PREDICTIONS, REPRESENTATIONS

    state = ExplorerState(
        representation_names=REPRESENTATIONS.names(),
        prediction_names=PREDICTIONS.names(),
        loss_names=LOSSES.names(),
    )
    panel = ConfigPanel(state)
    for setting in settings.explorer_settings():
        assert state.has_trait(setting.name) and setting.name in panel.fields
    columns = runs_frame([RunRecord(1, state.config(), {"ndcg@k": 0.1}, {}, 1.0)]).columns
    assert {s.name for s in settings.explorer_settings()} <= set(columns)
    assert "distribute" not in panel.fields  # declared explorer=False
    panel.fields["n_components"].value = 24  # the user types in the form...
    assert state.model_kwargs()["n_components"] == 24  # ...and the model gets it
    given = TensorRec(
        n_components=12,
        loss="bpr",
        l2=0.0,
        epochs=7,
        learning_rate_schedule="constant",
        random_state=5,
    ).get_params(deep=False)
    state.set_model_kwargs(given)
    kwargs = state.model_kwargs()
    assert {k: kwargs[k] for k in kwargs} == {k: given[k] for k in kwargs}
    assert panel.fields["l2_auto"].value is False and panel.fields["epochs"].value == 7
