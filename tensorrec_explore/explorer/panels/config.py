"""Configure a run: representations, loss, prediction, sizes, optimiser, features, split.

Every widget is linked both ways to one state trait; the plug-in dropdowns follow the state's
name lists (which the app keeps in sync with the registries, so a representation registered
from the notebook appears at once). A problem with the current combination is shown once, beside
the setting to change, as soon as it arises (and Train stays disabled until it is fixed);
remarks (e.g. an extreme learning rate) go under the form. Settings left to the model say what
"auto" stands for, e.g. "auto (0.2)", once TensorFlow has loaded.
"""

from __future__ import annotations

import html

import ipywidgets as w

from ..state import FEATURE_SETS, SPLITS, ExplorerState

_STYLE = {"description_width": "9.5em"}
#: Settings whose 0 / "auto" means the model's recipe (a hint says what it stands for).
AUTO_SETTINGS = ("learning_rate", "learning_rate_schedule", "epochs")
#: Settings a configuration problem can be about (see ``validation.check_fields``).
CHECKED_SETTINGS = (
    "user_representation",
    "item_representation",
    "user_feature_set",
    "item_feature_set",
    "n_tastes",
    "split",
    "n_sampled_items",
)
_WIDE = w.Layout(width="19em")


def _dropdown(description: str, options=(), tooltip: str = "") -> w.Dropdown:
    return w.Dropdown(
        description=description, options=list(options), style=_STYLE, layout=_WIDE, tooltip=tooltip
    )


class ConfigPanel:
    """The configuration form (CSS class ``tre-config``)."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.user_representation = _dropdown("User repr.", tooltip="users' features -> vector")
        self.item_representation = _dropdown("Item repr.", tooltip="items' features -> vector")
        self.loss = _dropdown("Loss")
        self.prediction = _dropdown("Prediction")
        self.biased = w.Checkbox(description="User / item biases", indent=False)
        self.n_components = w.BoundedIntText(
            min=1, max=4096, description="Components", style=_STYLE, layout=_WIDE
        )
        self.n_tastes = w.BoundedIntText(
            min=1, max=16, description="Tastes per user", style=_STYLE, layout=_WIDE
        )
        self.learning_rate = w.BoundedFloatText(
            min=0.0,
            max=10.0,
            step=0.005,
            description="Learning rate",
            style=_STYLE,
            tooltip="0 = the model's recipe (0.2 for softmax over linear towers, else 0.03)",
            layout=_WIDE,
        )
        self.learning_rate_schedule = _dropdown(
            "LR schedule",
            ("auto", "linear", "constant"),
            tooltip="linear: falls to 0 over each run's epochs",
        )
        self.l2 = w.BoundedFloatText(
            min=0.0, max=10.0, step=1e-5, description="L2", style=_STYLE, layout=_WIDE
        )
        self.l2_auto = w.Checkbox(description="auto L2 (the model's default)", indent=False)
        self.epochs = w.BoundedIntText(
            min=0,
            max=100_000,
            description="Epochs",
            style=_STYLE,
            tooltip="0 = the model's recipe (15 or 40)",
            layout=_WIDE,
        )
        self.batch_size = w.BoundedIntText(
            min=0,
            max=10_000_000,
            description="Batch size",
            tooltip="0 = the model's default",
            style=_STYLE,
            layout=_WIDE,
        )
        self.n_sampled_items = w.BoundedIntText(
            min=0,
            max=10_000_000,
            description="Sampled items",
            tooltip="0 = the loss's default",
            style=_STYLE,
            layout=_WIDE,
        )
        self.user_feature_set = _dropdown("User features", FEATURE_SETS)
        self.item_feature_set = _dropdown("Item features", FEATURE_SETS)
        self.split = _dropdown("Split", SPLITS)
        self.val_every = w.BoundedIntText(
            min=1, max=10_000, description="Validate every", style=_STYLE, layout=_WIDE
        )
        self.k = w.BoundedIntText(
            min=1, max=1000, description="k (metrics @k)", style=_STYLE, layout=_WIDE
        )
        self.snapshot_every = w.BoundedIntText(
            min=0,
            max=10_000,
            description="Snapshot every",
            tooltip="epochs between embedding snapshots "
            "(0 = auto: at most 3% of the training time)",
            style=_STYLE,
            layout=_WIDE,
        )
        self.problems = w.HTML()
        self.problems.add_class("tre-config-problems")
        self.hints: dict[str, w.HTML] = {}
        self.field_problems: dict[str, w.HTML] = {}

        self._option_lists = {
            "user_representation": "representation_names",
            "item_representation": "representation_names",
            "loss": "loss_names",
            "prediction": "prediction_names",
        }
        for trait in self._option_lists:
            self._set_options(trait)
        state.observe(self._on_names, names=sorted(set(self._option_lists.values())))
        self.links = []
        self.l2.disabled = state.l2_auto
        state.observe(lambda change: setattr(self.l2, "disabled", change["new"]), names=["l2_auto"])
        rows = {}
        for trait in (
            "user_representation",
            "item_representation",
            "loss",
            "prediction",
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
            "snapshot_every",
        ):
            widget = getattr(self, trait)
            widget.add_class(f"tre-{trait.replace('_', '-')}")
            self.links.append(w.link((state, trait), (widget, "value")))
            rows[trait] = self._row(trait, widget)
        state.observe(
            self._show_problems,
            names=["config_problems", "config_problem_fields", "config_notes", "status"],
        )
        state.observe(
            self._show_hints,
            names=["auto_values", "learning_rate", "learning_rate_schedule", "epochs"],
        )
        self._show_problems()
        self._show_hints()

        def section(title):
            return w.HTML(f"<b>{title}</b>")

        groups = (
            (
                "Model",
                (
                    "user_representation",
                    "item_representation",
                    "prediction",
                    "loss",
                    "n_components",
                    "n_tastes",
                    "biased",
                ),
            ),
            (
                "Optimiser",
                (
                    "learning_rate",
                    "learning_rate_schedule",
                    "l2",
                    "l2_auto",
                    "epochs",
                    "batch_size",
                    "n_sampled_items",
                ),
            ),
            (
                "Data",
                (
                    "user_feature_set",
                    "item_feature_set",
                    "split",
                    "val_every",
                    "k",
                    "snapshot_every",
                ),
            ),
        )
        children = []
        for title, traits in groups:
            children.append(section(title))
            children += [rows[trait] for trait in traits]
        self.widget = w.VBox([*children, self.problems], layout=w.Layout(min_width="20em"))
        self.widget.add_class("tre-config")

    # plug-in names follow the state's lists (which follow the registries)
    def _set_options(self, trait: str) -> None:
        widget = getattr(self, trait)
        names = list(getattr(self.state, self._option_lists[trait]))
        current = getattr(self.state, trait)
        if current and current not in names:
            names.append(current)  # never silently change the user's choice
        if list(widget.options) != names:
            widget.options = names
            widget.value = current if current in names else (names[0] if names else None)

    def _on_names(self, change) -> None:
        for trait, names in self._option_lists.items():
            if names == change["name"]:
                self._set_options(trait)

    def _row(self, trait: str, widget: w.Widget) -> w.Widget:
        """The field, with a hint beside it (what "auto" stands for) and its problem under it
        where the setting can have them (every widget costs the page a model to load)."""
        row = widget
        if trait in AUTO_SETTINGS:
            hint = self.hints[trait] = w.HTML(layout=w.Layout(margin="0 0 0 4px"))
            hint.add_class(f"tre-hint-{trait.replace('_', '-')}")
            row = w.HBox([widget, hint])
        if trait in CHECKED_SETTINGS:
            problem = self.field_problems[trait] = w.HTML()
            problem.add_class(f"tre-problem-{trait.replace('_', '-')}")
            row = w.VBox([row, problem])
        return row

    def _show_hints(self, change=None) -> None:
        s = self.state
        auto = s.auto_values
        unset = {
            "learning_rate": not s.learning_rate,
            "epochs": not s.epochs,
            "learning_rate_schedule": s.learning_rate_schedule == "auto",
        }
        for trait, is_auto in unset.items():
            value = auto.get(trait)
            text = (
                ""
                if not is_auto
                else (
                    f"auto ({value:g})"
                    if isinstance(value, float)
                    else f"auto ({value})"
                    if value is not None
                    else "auto"
                )
            )
            self.hints[trait].value = f"<span style='color:#555'>{text}</span>" if text else ""

    def _show_problems(self, change=None) -> None:
        s = self.state
        for trait, widget in self.field_problems.items():
            problem = s.config_problem_fields.get(trait, "")
            widget.value = (
                f"<div style='color:#cf222e;font-size:12px;max-width:19em;"
                f"white-space:normal'>{html.escape(problem)}</div>"
                if problem
                else ""
            )
        placed = {
            s.config_problem_fields[t] for t in self.field_problems if t in s.config_problem_fields
        }
        unplaced = [p for p in s.config_problems if p not in placed]
        items = [f"<li style='color:#cf222e'>{html.escape(p)}</li>" for p in unplaced]
        items += [f"<li style='color:#555'>{html.escape(n)}</li>" for n in s.config_notes]
        self.problems.value = (
            f"<ul style='padding-left:1.2em'>{''.join(items)}</ul>" if items else ""
        )
        for trait in self._option_lists:
            getattr(self, trait).disabled = s.training
