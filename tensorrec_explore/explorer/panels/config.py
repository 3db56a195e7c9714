"""Configure a run: representations, loss, prediction, sizes, optimiser, features, split.

Every widget is linked both ways to one state trait; the plug-in dropdowns follow the state's
name lists (which the app keeps in sync with the registries, so a representation registered
from the notebook appears at once). A problem with the current combination is shown once, beside
the setting to change, as soon as it arises (and Train stays disabled until it is fixed);
remarks (e.g. an extreme learning rate) go under the form. Settings left to the model say what
"auto" stands for, e.g. "auto (0.15)", once TensorFlow has loaded.
"""

from __future__ import annotations

import html

import ipywidgets as w

from ...settings import Setting
from ..state import (
    MODEL_SETTINGS,
    RUN_SETTINGS,
    SNAPSHOT_EVERY,
    ExplorerState,
    auto_flag,
)

_STYLE = {"description_width": "9.5em"}
#: Settings whose 0 / "auto" means the model's recipe (a hint says what it stands for).
AUTO_SETTINGS = tuple(s.name for s in MODEL_SETTINGS if s.recipe_field)
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
#: The form's sections: the settings that shape the model, those of training, the data's.
GROUPS = (
    ("Model", tuple(s for s in MODEL_SETTINGS if s.structural)),
    ("Optimiser", tuple(s for s in MODEL_SETTINGS if not s.structural)),
    ("Data", (*RUN_SETTINGS, SNAPSHOT_EVERY)),
)


def _dropdown(description: str, options=(), tooltip: str = "") -> w.Dropdown:
    return w.Dropdown(
        description=description, options=list(options), style=_STYLE, layout=_WIDE, tooltip=tooltip
    )


def _tooltip(setting: Setting) -> str:
    if setting.optional and setting.auto:
        zero = '"auto"' if setting.kind == "choice" else "0"
        return f"{setting.summary} {zero} = {setting.auto.replace('``', '')}"
    return setting.summary


def setting_widget(setting: Setting) -> w.Widget:
    """The form field of one declared setting (its value linked to the state's trait)."""
    tooltip = _tooltip(setting)
    if setting.kind == "plugin":
        return _dropdown(setting.label, tooltip=tooltip)
    if setting.kind == "choice":
        options = ("auto", *setting.choices) if setting.optional else setting.choices
        return _dropdown(setting.label, options, tooltip=tooltip)
    if setting.kind == "flag":
        return w.Checkbox(description=setting.label, indent=False, tooltip=tooltip)
    common = {"description": setting.label, "tooltip": tooltip, "style": _STYLE, "layout": _WIDE}
    if setting.kind in ("rate", "penalty"):
        step = 0.005 if setting.kind == "rate" else 1e-5
        return w.BoundedFloatText(min=0.0, max=setting.maximum, step=step, **common)
    if setting.kind == "seed":
        return w.BoundedIntText(min=0, max=2**32 - 1, **common)
    low = 0 if setting.optional else 1
    return w.BoundedIntText(min=low, max=setting.maximum, **common)


class ConfigPanel:
    """The configuration form (CSS class ``tre-config``)."""

    def __init__(self, state: ExplorerState):
        self.state = state
        self.fields: dict[str, w.Widget] = {}
        for _, declared in GROUPS:
            for setting in declared:
                self.fields[setting.name] = setting_widget(setting)
                flag = auto_flag(setting)
                if flag:
                    self.fields[flag] = w.Checkbox(
                        description=f"auto {setting.label} (the model's default)", indent=False
                    )
        self.problems = w.HTML()
        self.problems.add_class("tre-config-problems")
        self.hints: dict[str, w.HTML] = {}
        self.field_problems: dict[str, w.HTML] = {}

        self._option_lists = {  # plug-in setting -> the state's list of registered names
            s.name: f"{s.registry}_names" for s in MODEL_SETTINGS if s.kind == "plugin"
        }
        for trait in self._option_lists:
            self._set_options(trait)
        state.observe(self._on_names, names=sorted(set(self._option_lists.values())))
        self.links = []
        for setting in MODEL_SETTINGS:
            if auto_flag(setting):
                self._disable_when_auto(setting.name, auto_flag(setting))
        rows = {}
        for trait in self.fields:
            widget = self.fields[trait]
            widget.add_class(f"tre-{trait.replace('_', '-')}")
            self.links.append(w.link((state, trait), (widget, "value")))
            rows[trait] = self._row(trait, widget)
        state.observe(
            self._show_problems,
            names=["config_problems", "config_problem_fields", "config_notes", "status"],
        )
        state.observe(
            self._show_hints,
            names=["auto_values", *AUTO_SETTINGS],
        )
        self._show_problems()
        self._show_hints()

        children = []
        for title, declared in GROUPS:
            children.append(w.HTML(f"<b>{title}</b>"))
            for setting in declared:
                children.append(rows[setting.name])
                flag = auto_flag(setting)
                if flag:
                    children.append(rows[flag])
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

    def __getattr__(self, name: str) -> w.Widget:
        """A setting's field by the setting's name (``panel.epochs``)."""
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def _disable_when_auto(self, name: str, flag: str) -> None:
        """Grey out ``name``'s field while its "auto" box (``flag``) is ticked."""
        self.fields[name].disabled = getattr(self.state, flag)

        def follow(change) -> None:
            self.fields[name].disabled = change["new"]

        self.state.observe(follow, names=[flag])

    def _show_hints(self, change=None) -> None:
        s = self.state
        auto = s.auto_values
        for trait in AUTO_SETTINGS:
            current = getattr(s, trait)
            value = auto.get(trait)
            text = ""
            if current == "auto" or not current:
                text = "auto"
                if isinstance(value, float):
                    text = f"auto ({value:g})"
                elif value is not None:
                    text = f"auto ({value})"
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
