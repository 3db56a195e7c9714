"""The model, drawn: features -> representations -> prediction -> scores <- loss, live.

A view over :func:`tensorrec_explore.explorer.diagram.describe`: one box per stage (a button with
its name, the shapes / layers / parameter counts under it), redrawn on every change of the form;
clicking a box explains that stage in two sentences (CSS class ``tre-diagram``).
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..diagram import Stage, describe
from ..state import CONFIG_TRAITS, ExplorerState

_BOX = w.Layout(border="1px solid #bbb", padding="2px 4px", margin="2px", width="12em")


def _arrow(text: str) -> w.HTML:
    return w.HTML(f"<div style='font-size:20px;padding:18px 2px 0 2px'>{text}</div>")


class DiagramPanel:
    """A diagram of the configured model (``tre-diagram``), one clickable box per stage."""

    KEYS = (
        "user_features",
        "user_representation",
        "item_features",
        "item_representation",
        "prediction",
        "scores",
        "loss",
    )

    def __init__(self, state: ExplorerState):
        self.state = state
        self.stages: dict[str, Stage] = {}
        self.buttons: dict[str, w.Button] = {}
        self.details: dict[str, w.HTML] = {}
        boxes = {}
        for key in self.KEYS:
            button = w.Button(layout=w.Layout(width="100%"))
            button.add_class(f"tre-stage-{key.replace('_', '-')}")
            button.on_click(lambda _b, key=key: self.explain(key))
            detail = w.HTML()
            self.buttons[key], self.details[key] = button, detail
            boxes[key] = w.VBox([button, detail], layout=_BOX)
        self.explanation = w.HTML("<i>click a box to see what that stage does</i>")
        self.explanation.add_class("tre-diagram-explanation")
        towers = w.VBox(
            [
                w.HBox([boxes["user_features"], _arrow("→"), boxes["user_representation"]]),
                w.HBox([boxes["item_features"], _arrow("→"), boxes["item_representation"]]),
            ]
        )
        self.explanation.layout = w.Layout(max_width="62em")
        self.widget = w.VBox(
            [
                w.HBox(
                    [
                        towers,
                        _arrow("⇒"),
                        boxes["prediction"],
                        _arrow("→"),
                        boxes["scores"],
                        _arrow("←"),
                        boxes["loss"],
                    ],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.explanation,
            ]
        )
        self.widget.add_class("tre-diagram")
        self.selected: str | None = None
        state.observe(self.redraw, names=[*CONFIG_TRAITS, "auto_values", "dataset"])
        self.redraw()

    def redraw(self, change: Any = None) -> None:
        """Describe the current configuration in every box."""
        s = self.state
        if s.dataset is None:
            return
        self.stages = {stage.key: stage for stage in describe(s.config(), s.dataset)}
        for key, stage in self.stages.items():
            title, *rest = stage.label.split("\n")
            self.buttons[key].description = title
            self.buttons[key].tooltip = stage.label
            self.details[key].value = "<br>".join(
                f"<span style='font-size:12px;color:#444'>{html.escape(line)}</span>"
                for line in rest
            )
        if self.selected:
            self.explain(self.selected)

    def explain(self, key: str) -> None:
        """Show what stage ``key`` does (what a click on its box does)."""
        self.selected = key
        stage = self.stages[key]
        self.explanation.value = (
            f"<b>{html.escape(stage.label.splitlines()[0])}</b>: {html.escape(stage.explanation)}"
        )
