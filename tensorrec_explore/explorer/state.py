"""The explorer's single source of truth: one traitlets object that every panel reads and writes.

Panels observe it (always with ``names=[...]``) and write user choices into it; the controller
observes the configuration, runs training and writes progress, history, snapshots and the
trained model back. Nothing here imports ipywidgets, plotly or TensorFlow.

Large values (histories, snapshots, projections, run records) are *replaced*, never mutated in
place, so that traitlets notices the change: ``state.history = {**state.history, ...}``.

**One thread writes the state: the kernel's.** Traitlets runs observers on the thread that
assigns a trait, and observers redraw widgets and plotly figures, which are not thread-safe. So
background work (training, projections, the sandbox fold-in, loading TensorFlow, compiling UMAP)
computes in its own thread and hands the result to the kernel's thread through the explorer's
:class:`~tensorrec_explore.explorer.dispatch.KernelDispatcher` (``dispatcher.call(apply, ...)``),
which runs ``apply`` on the kernel's event loop, in order. Outside a kernel (scripts, plain
tests) the dispatcher runs the call at once, under one lock. Workers may *read* the state (a
trait read is an atomic reference read; values are replaced, never mutated).
"""

from __future__ import annotations

from typing import Any

import traitlets as t

#: Traits that together form a model / training configuration (what a run is made of).
CONFIG_TRAITS = (
    "user_representation",
    "item_representation",
    "prediction",
    "loss",
    "biased",
    "n_components",
    "n_tastes",
    "learning_rate",
    "learning_rate_schedule",
    "l2",
    "l2_auto",
    "epochs",
    "batch_size",
    "n_sampled_items",
    "user_feature_set",
    "item_feature_set",
    "split",
    "val_every",
    "k",
    "random_state",
)

#: Keyword arguments of ``TensorRec(...)`` among :data:`CONFIG_TRAITS`.
MODEL_KWARGS = (
    "n_components",
    "user_representation",
    "item_representation",
    "prediction",
    "loss",
    "biased",
    "n_tastes",
    "learning_rate",
    "learning_rate_schedule",
    "l2",
    "epochs",
    "batch_size",
    "n_sampled_items",
    "random_state",
)

FEATURE_SETS = ("ids", "features", "both")
SPLITS = ("random_holdout", "leave_last_out", "none")
STATUSES = ("idle", "training", "stopping", "stopped", "finished", "error")


class ExplorerState(t.HasTraits):
    """Everything the explorer shows or lets a user choose, as observable traits."""

    # ---- plug-in names (kept live from the registries by the app) ----
    representation_names = t.List(t.Unicode())
    prediction_names = t.List(t.Unicode())
    loss_names = t.List(t.Unicode())

    # ---- configuration ----
    user_representation = t.Unicode("linear")
    item_representation = t.Unicode("linear")
    prediction = t.Unicode("dot")
    loss = t.Unicode("softmax")
    biased = t.Bool(True)
    n_components = t.Int(16, min=1)
    n_tastes = t.Int(1, min=1)
    # The library's defaults: users start from them (0 / "auto" = the model's recipe).
    learning_rate = t.Float(0.0, min=0.0)
    learning_rate_schedule = t.Enum(("auto", "linear", "constant"), default_value="auto")
    l2 = t.Float(1e-4, min=0.0)
    l2_auto = t.Bool(True)  # True = the model's default l2 (None), scaled to the data
    epochs = t.Int(0, min=0)  # 0 = the model's recipe (15 or 40, see tensorrec_explore.defaults)
    batch_size = t.Int(0, min=0)  # 0 = the model's default (None)
    n_sampled_items = t.Int(0, min=0)  # 0 = the model's default (None)
    user_feature_set = t.Enum(FEATURE_SETS, default_value="ids")
    item_feature_set = t.Enum(FEATURE_SETS, default_value="ids")
    split = t.Enum(SPLITS, default_value="random_holdout")
    val_every = t.Int(1, min=1)
    k = t.Int(10, min=1)
    random_state = t.Int(0)
    snapshot_every = t.Int(0, min=0)  # 0 = auto: snapshots take <= 3% of training time

    #: Human-readable explanations of why the current configuration cannot train ([] = fine).
    config_problems = t.List(t.Unicode())
    #: The same problems keyed by the setting to change (shown beside that field).
    config_problem_fields = t.Dict()
    #: What "auto" stands for with the current parts: ``{"learning_rate": 0.2, ...}`` ({} until
    #: TensorFlow is loaded).
    auto_values = t.Dict()
    #: Non-blocking remarks about the configuration (e.g. a side without features uses ids).
    config_notes = t.List(t.Unicode())

    # ---- dataset (set once by the controller; read-only for panels) ----
    dataset = t.Any(None, allow_none=True)
    #: Matrices the current model was trained with: ``{"train", "test", "dislikes",
    #: "user_features", "item_features"}`` (test None without a split; features None = ids).
    data = t.Dict()
    dataset_name = t.Unicode("")
    n_users = t.Int(0)
    n_items = t.Int(0)
    user_labels = t.List(t.Unicode())  # shown in the user picker, by user index
    item_titles = t.List(t.Unicode())  # by item index
    user_color_columns = t.List(t.Unicode())
    item_color_columns = t.List(t.Unicode())

    # ---- training progress ----
    status = t.Enum(STATUSES, default_value="idle")
    message = t.Unicode("")  # one line shown in the status bar
    error = t.Unicode("")  # last error message (never a traceback for tensorrec_explore errors)
    error_detail = t.Unicode("")  # traceback of an *unexpected* error, shown folded
    epoch = t.Int(0)  # epochs completed in the current run (cumulative over resumes)
    target_epochs = t.Int(0)  # epoch the current fit call will end at
    epochs_per_second = t.Float(0.0)
    elapsed = t.Float(0.0)
    #: ``{"epoch": [...], "loss": [...], "regularization": [...], "val_epoch": [...],
    #: "val_precision": [...], "val_recall": [...], "val_ndcg": [...]}`` of the current run.
    history = t.Dict()
    #: Where the current run was stopped or resumed: list of :class:`~.records.CurveMark`
    #: (a Resume restarts the learning-rate schedule).
    curve_marks = t.List()
    #: Embedding snapshots: list of :class:`~.records.Snapshot`, oldest first.
    snapshots = t.List()
    #: The trained (or training) model, and a counter bumped whenever it may answer differently.
    model = t.Any(None, allow_none=True)
    model_config = t.Dict()  # the configuration the model was trained with
    model_version = t.Int(0)
    run_id = t.Int(0)  # the run being trained (or last trained)
    model_run = t.Int(0)  # the run ``model`` belongs to (0 = no model)
    model_epoch = t.Int(0)  # the epoch ``model`` reached when it was published

    # ---- embeddings ----
    projection_method = t.Enum(("pca", "umap"), default_value="pca")
    #: ``{(epoch, method): Projection}`` (:class:`~.records.Projection`)
    projections = t.Dict()
    projection_status = t.Unicode("")  # the frame being computed / last computed
    umap_status = t.Unicode("")  # UMAP's readiness (compiled in the background at start)
    frame_epoch = t.Int(-1)  # epoch of the snapshot on screen (-1 = latest)

    # ---- inspector ----
    selected_user = t.Int(-1)
    selected_item = t.Int(-1)
    highlighted_items = t.List(t.Int())  # the selected user's top-k, drawn in the scatter
    neighbour_items = t.List(t.Int())  # the selected item's nearest neighbours
    #: Representation of the sandbox user ([n_components] or [n_tastes, n_components]) or None.
    sandbox_representation = t.Any(None, allow_none=True)
    sandbox_items = t.List(t.Int())  # the sandbox user's recommendations (their own marks)

    # ---- runs ----
    #: Finished runs: list of :class:`~.records.RunRecord`.
    runs = t.List()
    overlay_runs = t.List(t.Int())

    def config(self) -> dict[str, Any]:
        """Return the current configuration as a plain dict (the keys of CONFIG_TRAITS)."""
        return {name: getattr(self, name) for name in CONFIG_TRAITS}

    def model_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for ``TensorRec(...)`` (0 / "auto" / auto L2 -> None)."""
        kwargs = {name: getattr(self, name) for name in MODEL_KWARGS}
        for name in ("learning_rate", "epochs", "batch_size", "n_sampled_items"):
            if not kwargs[name]:
                kwargs[name] = None
        if kwargs["learning_rate_schedule"] == "auto":
            kwargs["learning_rate_schedule"] = None
        if self.l2_auto:
            kwargs["l2"] = None
        return kwargs

    def set_model_kwargs(self, kwargs: dict[str, Any]) -> None:
        """Set the form from a model's ``get_params()`` (the inverse of :meth:`model_kwargs`);
        values the form cannot hold (e.g. a custom layer object) are left as they are."""
        with self.hold_trait_notifications():
            for name in MODEL_KWARGS:
                if name not in kwargs:
                    continue
                value = kwargs[name]
                if name == "l2":
                    self.l2_auto = value is None
                if value is None:
                    value = (
                        "auto"
                        if name == "learning_rate_schedule"
                        else (getattr(self, name) if name == "l2" else 0)
                    )
                try:
                    setattr(self, name, value)
                except t.TraitError:
                    continue

    @property
    def training(self) -> bool:
        return self.status in ("training", "stopping")
