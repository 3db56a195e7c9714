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

from ..errors import InputError
from ..settings import FEATURE_MODES, Setting, explorer_settings

SPLITS = ("random_holdout", "leave_last_out", "none")
#: The explorer's own run settings (how the data is fed and validated), declared like the
#: model's (:data:`tensorrec_explore.settings.SETTINGS`), from which the rest are derived.
RUN_SETTINGS = (
    Setting(
        "user_feature_set",
        "choice",
        "ids",
        "What represents a user: ids, features or both.",
        choices=FEATURE_MODES,
        label="User features",
        short="user features",
    ),
    Setting(
        "item_feature_set",
        "choice",
        "ids",
        "What represents an item: ids, features or both.",
        choices=FEATURE_MODES,
        label="Item features",
        short="item features",
    ),
    Setting(
        "split",
        "choice",
        "random_holdout",
        "How validation interactions are held out.",
        choices=SPLITS,
        label="Split",
    ),
    Setting(
        "learn_dislikes",
        "flag",
        True,
        "Train on the disliked (negative) interactions too; off: on the likes alone.",
        "Only matters for data with dislikes. Off or on, the held-out dislikes stay out of "
        "training and are scored ('dislike auc' in the runs table).",
        label="Learn from dislikes",
        short="dislikes learnt",
    ),
    Setting(
        "val_every",
        "count",
        1,
        "Epochs between validation metrics.",
        label="Validate every",
        maximum=10_000,
    ),
    Setting(
        "k",
        "count",
        10,
        "Cut-off of the validation metrics (precision@k...).",
        label="k (metrics @k)",
        maximum=1000,
    ),
)
#: How the snapshots of a run are taken (a view setting: not part of a run's configuration).
SNAPSHOT_EVERY = Setting(
    "snapshot_every",
    "count",
    None,
    "Epochs between embedding snapshots.",
    auto="auto: snapshots take at most 3% of the training time",
    label="Snapshot every",
    maximum=10_000,
)
#: The model's settings the explorer shows (``TensorRec``'s, minus ``distribute``).
MODEL_SETTINGS = explorer_settings()
#: Keyword arguments of ``TensorRec(...)`` the form sets.
MODEL_KWARGS = tuple(setting.name for setting in MODEL_SETTINGS)


def auto_flag(setting: Setting) -> str | None:
    """The name of the Bool trait saying "let the model choose" for settings where 0 is a valid
    value (``l2``: 0 means no penalty), or None (for the others 0 / "auto" says it)."""
    return f"{setting.name}_auto" if setting.optional and setting.kind == "penalty" else None


#: Traits that together form a model / training configuration (what a run is made of).
CONFIG_TRAITS = tuple(
    name
    for setting in (*MODEL_SETTINGS, *RUN_SETTINGS)
    for name in (setting.name, auto_flag(setting))
    if name
)


def _start(setting: Setting) -> Any:
    """The form's starting value: the explorer's own default, else the model's (None: 0)."""
    if setting.explorer_default is not None:
        return setting.explorer_default
    return 0 if setting.default is None else setting.default


def _trait(setting: Setting) -> t.TraitType:
    """The trait holding ``setting`` in the form (0 / "auto" stand for the model's None)."""
    if setting.kind == "plugin":
        return t.Unicode(setting.default)
    if setting.kind == "flag":
        return t.Bool(setting.default)
    if setting.kind == "choice":
        options = ("auto", *setting.choices) if setting.optional else setting.choices
        return t.Enum(options, default_value="auto" if setting.optional else setting.default)
    if setting.kind in ("rate", "penalty"):
        return t.Float(float(_start(setting)), min=0.0)
    if setting.kind == "seed":
        return t.Int(_start(setting), min=0)
    return t.Int(_start(setting), min=0 if setting.optional else 1)


def _declared_traits() -> dict[str, t.TraitType]:
    traits = {}
    for setting in (*MODEL_SETTINGS, *RUN_SETTINGS, SNAPSHOT_EVERY):
        traits[setting.name] = _trait(setting)
        flag = auto_flag(setting)
        if flag:
            traits[flag] = t.Bool(True)
    return traits


def to_model_value(setting: Setting, value: Any, auto: bool = False) -> Any:
    """The model's value for the form's ``value`` (0 / "auto" / the auto flag -> None)."""
    if not setting.optional:
        return value
    if auto or value == "auto" or (setting.kind != "penalty" and not value):
        return None
    return value


STATUSES = ("idle", "training", "stopping", "stopped", "finished", "error")


#: The configuration traits, one per declared setting (see :data:`CONFIG_TRAITS`).
_DeclaredSettings = type("_DeclaredSettings", (t.HasTraits,), _declared_traits())


class ExplorerState(_DeclaredSettings):
    """Everything the explorer shows or lets a user choose, as observable traits.

    The configuration traits come from the settings' declaration (:data:`MODEL_SETTINGS`,
    :data:`RUN_SETTINGS`); the others are declared below.
    """

    # ---- plug-in names (kept live from the registries by the app) ----
    representation_names = t.List(t.Unicode())
    prediction_names = t.List(t.Unicode())
    loss_names = t.List(t.Unicode())

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
    #: "test_dislikes", "user_features", "item_features"}`` (test None without a split;
    #: features None = ids; see ``datasets.prepare``).
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
    #: "val_precision": [...], "val_recall": [...], "val_ndcg": [...], "val_loss": [...],
    #: "val_loss_note": [...]}`` of the current run (``explorer.training.empty_history``).
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

    def configure(self, config: dict[str, Any]) -> None:
        """Set configuration traits by name (``Explorer(config=...)``).

        Raises
        ------
        InputError
            An unknown name (listing the valid ones) or a value the setting cannot hold.
        """
        valid = (*CONFIG_TRAITS, SNAPSHOT_EVERY.name)
        unknown = sorted(set(config) - set(valid))
        if unknown:
            raise InputError(
                f"Explorer got unknown configuration name(s) {unknown}; valid names are: "
                f"{', '.join(valid)}."
            )
        for name, value in config.items():
            try:
                setattr(self, name, value)
            except t.TraitError as error:
                raise InputError(
                    f"Explorer config {name}={value!r} is not valid: {error}"
                ) from None

    def model_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments for ``TensorRec(...)`` (0 / "auto" / auto L2 -> None)."""
        return {
            setting.name: to_model_value(
                setting,
                getattr(self, setting.name),
                bool(auto_flag(setting) and getattr(self, auto_flag(setting))),
            )
            for setting in MODEL_SETTINGS
        }

    def set_model_kwargs(self, kwargs: dict[str, Any]) -> None:
        """Set the form from a model's ``get_params()`` (the inverse of :meth:`model_kwargs`);
        values the form cannot hold (e.g. a custom layer object) are left as they are."""
        with self.hold_trait_notifications():
            for setting in MODEL_SETTINGS:
                if setting.name not in kwargs:
                    continue
                value, flag = kwargs[setting.name], auto_flag(setting)
                if flag:
                    setattr(self, flag, value is None)
                if value is None:
                    if flag:
                        continue  # the flag says "auto"; the number keeps the user's last value
                    value = "auto" if setting.kind == "choice" else 0
                try:
                    setattr(self, setting.name, value)
                except t.TraitError:
                    continue

    @property
    def training(self) -> bool:
        return self.status in ("training", "stopping")
