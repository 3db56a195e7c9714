"""Inspect a user: their ranked top-k (score split into interaction + biases, train / test /
disliked marks), where their test items landed, their metrics, similar items, why an item
scores (linear representations), and a new-user sandbox folded in without retraining.

Every table is a DataFrame (kept on the panel as ``*_frame`` for tests) rendered as HTML.
Errors from the model are shown in the panel, by their message. A line on top says which run's
model and epoch the tables show; while that very model is being trained further (Resume) the
tables are left as they are, marked, and refreshed when training stops; during a new run they
keep showing the previous run's model, marked as such. The sandbox's fold-in runs in a worker
thread whose result reaches the widgets through the explorer's dispatcher (kernel's thread).
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as w
import pandas as pd

from .. import analysis
from ..dispatch import KernelDispatcher
from ..messages import error_message
from ..state import ExplorerState


def frame_html(frame: pd.DataFrame, max_height: str = "22em") -> str:
    if frame is None or frame.empty:
        return "<i>nothing to show</i>"
    table = frame.to_html(
        index=False, escape=True, border=0, float_format=lambda x: f"{x:.4f}", classes="tre-table"
    )
    return (
        f"<div style='max-height:{max_height};overflow:auto;font-size:12px'>"
        f"<style>.tre-table td,.tre-table th{{padding:1px 6px;text-align:left}}</style>"
        f"{table}</div>"
    )


def option_labels(labels: list[str]) -> list[str]:
    """Unique strings for a picker: the label, with ``#index`` appended when labels repeat."""
    if len(set(labels)) == len(labels):
        return list(labels)
    return [f"{label} #{i}" for i, label in enumerate(labels)]


class InspectorPanel:
    """Inspector (CSS class ``tre-inspector``)."""

    def __init__(self, state: ExplorerState, dispatcher: KernelDispatcher | None = None):
        self.state = state
        self.dispatcher = dispatcher or KernelDispatcher(loop=None)
        self.ranked_frame: pd.DataFrame | None = None
        self.test_frame: pd.DataFrame | None = None
        self.similar_frame: pd.DataFrame | None = None
        self.why_frame: pd.DataFrame | None = None
        self.sandbox_frame: pd.DataFrame | None = None
        self.metrics: dict[str, float] = {}
        self._user_options: dict[str, int] = {}
        self._item_options: dict[str, int] = {}

        self.user_select = w.Combobox(
            placeholder="type to search users",
            ensure_option=True,
            description="User",
            layout=w.Layout(width="22em"),
            style={"description_width": "3em"},
        )
        self.user_select.add_class("tre-user-select")
        self.k = w.BoundedIntText(
            value=10,
            min=1,
            max=200,
            description="top",
            layout=w.Layout(width="8em"),
            style={"description_width": "2.5em"},
        )
        self.hide_train = w.Checkbox(
            value=True, description="hide train items", indent=False, layout=w.Layout(width="10em")
        )
        self.model_info = w.HTML()
        self.model_info.add_class("tre-inspector-model")
        self.error = w.HTML()
        self.error.add_class("tre-inspector-error")
        self.ranked_table = w.HTML()
        self.ranked_table.add_class("tre-ranked-table")
        self.test_table = w.HTML()
        self.test_table.add_class("tre-test-items")
        self.metrics_view = w.HTML()
        self.metrics_view.add_class("tre-user-metrics")
        self.item_select = w.Combobox(
            placeholder="type to search items",
            ensure_option=True,
            description="Item",
            layout=w.Layout(width="22em"),
            style={"description_width": "3em"},
        )
        self.item_select.add_class("tre-item-select")
        self.similar_table = w.HTML()
        self.similar_table.add_class("tre-similar-items")
        self.why_table = w.HTML()
        self.why_table.add_class("tre-why")
        self.liked = w.TagsInput(
            allowed_tags=[],
            allow_duplicates=False,
            placeholder="liked items",
            layout=w.Layout(width="100%"),
        )
        self.liked.add_class("tre-sandbox-liked")
        self.disliked = w.TagsInput(
            allowed_tags=[],
            allow_duplicates=False,
            placeholder="disliked items",
            layout=w.Layout(width="100%"),
        )
        self.disliked.add_class("tre-sandbox-disliked")
        self.clear_sandbox = w.Button(
            description="Clear", icon="eraser", layout=w.Layout(width="7em")
        )
        self.sandbox_table = w.HTML()
        self.sandbox_table.add_class("tre-sandbox-table")
        self.sandbox_status = w.HTML()
        self._sandbox_generation = 0
        self._sandbox_lock = threading.Lock()
        self._sandbox_thread: threading.Thread | None = None

        self._set_options()
        state.observe(self._set_options, names=["user_labels", "item_titles"])
        state.observe(self._on_selected_user, names=["selected_user"])
        state.observe(self._on_selected_item, names=["selected_item"])
        state.observe(self._on_model, names=["model_version"])
        state.observe(self._show_model_info, names=["status", "run_id", "model_version"])
        self.user_select.observe(self._on_user_text, names="value")
        self.item_select.observe(self._on_item_text, names="value")
        self.k.observe(self._on_model, names="value")
        self.hide_train.observe(self._on_model, names="value")
        for tags in (self.liked, self.disliked):
            tags.observe(self._on_sandbox, names="value")
        self.clear_sandbox.on_click(self._on_clear)

        def heading(text):
            return w.HTML(f"<b>{text}</b>")

        self._show_model_info()
        self.widget = w.VBox(
            [
                w.HBox([self.user_select, self.k, self.hide_train]),
                self.model_info,
                self.error,
                heading("Top-k (score = interaction + user bias + item bias)"),
                self.ranked_table,
                w.HBox(
                    [
                        w.VBox(
                            [
                                heading("Held-out items (liked ✓, disliked ✗): where they landed"),
                                self.test_table,
                            ],
                            layout=w.Layout(width="60%"),
                        ),
                        w.VBox(
                            [heading("This user's metrics"), self.metrics_view],
                            layout=w.Layout(width="40%"),
                        ),
                    ]
                ),
                heading("Similar items / why this item"),
                self.item_select,
                w.HBox(
                    [
                        w.VBox([self.similar_table], layout=w.Layout(width="55%")),
                        w.VBox([self.why_table], layout=w.Layout(width="45%")),
                    ]
                ),
                heading("New-user sandbox: likes and dislikes, folded in without retraining"),
                self.liked,
                self.disliked,
                w.HBox([self.clear_sandbox, self.sandbox_status]),
                self.sandbox_table,
            ],
            layout=w.Layout(min_width="28em"),
        )
        self.widget.add_class("tre-inspector")

    # ---- pickers ----
    def _set_options(self, change: Any = None) -> None:
        users = option_labels(list(self.state.user_labels))
        items = option_labels(list(self.state.item_titles))
        self._user_options = {label: i for i, label in enumerate(users)}
        self._item_options = {label: i for i, label in enumerate(items)}
        self._user_labels, self._item_labels = users, items
        self.user_select.options = users
        self.item_select.options = items
        self.liked.allowed_tags = items
        self.disliked.allowed_tags = items

    def _on_user_text(self, change: Any) -> None:
        index = self._user_options.get(change["new"])
        if index is not None:
            self.state.selected_user = index

    def _on_item_text(self, change: Any) -> None:
        index = self._item_options.get(change["new"])
        if index is not None:
            self.state.selected_item = index

    def _on_selected_user(self, change: Any = None) -> None:
        u = self.state.selected_user
        if 0 <= u < len(self._user_labels) and self.user_select.value != self._user_labels[u]:
            self.user_select.value = self._user_labels[u]
        self.refresh_user()

    def _on_selected_item(self, change: Any = None) -> None:
        i = self.state.selected_item
        if 0 <= i < len(self._item_labels) and self.item_select.value != self._item_labels[i]:
            self.item_select.value = self._item_labels[i]
        self.refresh_item()

    def _on_model(self, change: Any = None) -> None:
        self.refresh_user()
        self.refresh_item()
        self._on_sandbox()

    # ---- which model ----
    def _training_this_model(self) -> bool:
        """True while the model on show is itself being trained further (Resume)."""
        s = self.state
        return s.training and s.model is not None and s.model_run == s.run_id

    def _show_model_info(self, change: Any = None) -> None:
        s = self.state
        if s.model is None:
            self.model_info.value = ""
            return
        text = f"Model of run {s.model_run} at epoch {s.model_epoch}"
        if self._training_this_model():
            text += " &middot; <b>training continues</b>: these tables refresh when it stops"
        elif s.training:
            text += f" &middot; <b>older model</b>: run {s.run_id} is training"
        self.model_info.value = f"<span style='color:#555'>{text}</span>"

    # ---- computations ----
    def _ready(self) -> bool:
        return (
            self.state.model is not None
            and bool(self.state.data)
            and not self._training_this_model()
        )

    def _show_error(self, exc: BaseException) -> None:
        self.error.value = f"<div style='color:#cf222e'>{html.escape(error_message(exc))}</div>"

    def refresh_user(self) -> None:
        s = self.state
        u = s.selected_user
        self.error.value = ""
        if not self._ready() or not (0 <= u < s.n_users):
            self.ranked_frame = self.test_frame = None
            self.metrics = {}
            hint = (
                "<i>training: the tables follow when it stops</i>"
                if self._training_this_model()
                else "<i>train a model first</i>"
                if s.model is None
                else "<i>pick a user above, or click one in the embedding plot</i>"
            )
            self.ranked_table.value = hint
            self.test_table.value = self.metrics_view.value = ""
            return
        try:
            k = int(self.k.value)
            self.ranked_frame = analysis.ranked_table(
                s.model, u, k, s.data, s.item_titles, exclude_train=self.hide_train.value
            )
            self.test_frame = analysis.test_items_table(s.model, u, s.data, s.item_titles)
            self.metrics = analysis.user_metrics(s.model, u, s.data, s.k)
        except Exception as exc:
            self._show_error(exc)
            return
        notes = analysis.bias_notes(
            s.model_config,
            float(self.ranked_frame["user bias"].iloc[0]) if len(self.ranked_frame) else 0.0,
        )
        self.ranked_table.value = frame_html(self.ranked_frame) + "".join(
            f"<div class='tre-score-note' style='color:#555;font-size:12px'>{html.escape(n)}</div>"
            for n in notes
        )
        self.test_table.value = (
            frame_html(self.test_frame, "12em")
            if not self.test_frame.empty
            else "<i>no held-out items for this user</i>"
        )
        self.metrics_view.value = (
            frame_html(
                pd.DataFrame({"metric": list(self.metrics), "value": list(self.metrics.values())})
            )
            if self.metrics
            else "<i>no test items: no metrics</i>"
        )
        s.highlighted_items = [int(i) for i in self.ranked_frame["item"]]
        self.refresh_why()

    def refresh_item(self) -> None:
        s = self.state
        i = s.selected_item
        if not self._ready() or not (0 <= i < s.n_items):
            self.similar_frame = None
            self.similar_table.value = ""
            self.why_table.value = ""
            return
        try:
            self.similar_frame = analysis.similar_items_table(
                s.model, i, int(self.k.value), s.item_titles
            )
        except Exception as exc:
            self._show_error(exc)
            return
        self.similar_table.value = frame_html(self.similar_frame, "16em")
        s.neighbour_items = [int(j) for j in self.similar_frame["item"]]
        self.refresh_why()

    def refresh_why(self) -> None:
        s = self.state
        u, i = s.selected_user, s.selected_item
        self.why_frame = None
        if not self._ready() or not (0 <= u < s.n_users and 0 <= i < s.n_items):
            self.why_table.value = "<i>pick a user and an item to see why it scores</i>"
            return
        run = s.model_config
        if not hasattr(s.model, "fit_partial"):
            self.why_table.value = (
                "<i>feature contributions need a TensorRec model; these "
                "embeddings come from another system</i>"
            )
            return
        if s.data.get("user_feature_set") == "ids" and s.data.get("item_feature_set") == "ids":
            self.why_table.value = (
                "<i>Users and items are represented by their ids alone: the score is the "
                "learned affinity of this user and this item, with no feature to credit. Pick "
                "'features' or 'both' under Data to see which features drive a score.</i>"
            )
            return
        if run.get("n_tastes", 1) != 1:
            self.why_table.value = (
                "<i>with several tastes the score is the best taste's: "
                "feature contributions are shown for one taste only</i>"
            )
            return
        exact = (
            run.get("user_representation") in analysis.LINEAR
            and run.get("item_representation") in analysis.LINEAR
        )
        from ..datasets import feature_names

        try:
            self.why_frame = analysis.feature_contributions(
                s.model,
                u,
                i,
                s.data,
                feature_names(s.dataset, "user", s.data["user_feature_set"]),
                feature_names(s.dataset, "item", s.data["item_feature_set"]),
            )
        except Exception as exc:
            self._show_error(exc)
            return
        how = (
            "exact shares of the interaction (linear towers)"
            if exact
            else "approximation: how much the score drops without each feature (occlusion; "
            "a deep tower combines features, so the parts need not add up)"
        )
        self.why_table.value = (
            f"<b>why {html.escape(s.item_titles[i])} for "
            f"{html.escape(s.user_labels[u])}</b> <span class='tre-why-how' "
            f"style='color:#555;font-size:12px'>{how}</span>" + frame_html(self.why_frame, "16em")
        )

    def _on_sandbox(self, change: Any = None) -> None:
        """Fold the sandbox user in off the UI thread (the first fold-in of a process traces
        TensorFlow functions); the latest choice wins."""
        s = self.state
        liked = [self._item_options[t] for t in self.liked.value if t in self._item_options]
        disliked = [self._item_options[t] for t in self.disliked.value if t in self._item_options]
        self._sandbox_generation += 1
        generation = self._sandbox_generation
        if not liked and not disliked:
            self.sandbox_frame = None
            self.sandbox_table.value = "<i>add items this new person likes</i>"
            with s.hold_trait_notifications():
                s.sandbox_representation = None
                s.sandbox_items = []
            return
        if not self._ready():
            self.sandbox_table.value = (
                "<i>train a model first</i>"
                if s.model is None
                else "<i>training: the sandbox follows when it stops</i>"
            )
            return
        if not hasattr(s.model, "fold_in"):
            self.sandbox_table.value = (
                "<i>The sandbox folds new users into TensorRec models; "
                "these embeddings come from another system.</i>"
            )
            return
        if s.data.get("user_features") is not None:
            self.sandbox_table.value = (
                "<i>The sandbox folds a new user in from their likes alone, which needs users "
                "represented by ids (User features = 'ids'); this model learned users from "
                "their features. Retrain with User features = 'ids' to use it.</i>"
            )
            return
        model, k, titles, n_items = s.model, int(self.k.value), s.item_titles, s.n_items
        self.sandbox_status.value = "<i>folding the new user in...</i>"
        dispatch = self.dispatcher

        def work() -> None:
            with self._sandbox_lock:
                if generation != self._sandbox_generation:
                    return  # a newer choice is waiting
                try:
                    result = analysis.sandbox(model, liked, disliked, n_items, k, titles)
                except Exception as exc:
                    dispatch.call(self._show_sandbox, generation, None, exc)
                    return
                dispatch.call(self._show_sandbox, generation, result, None)

        self._sandbox_thread = threading.Thread(
            target=work, name="tensorrec-explorer-sandbox", daemon=True
        )
        self._sandbox_thread.start()

    def _show_sandbox(
        self, generation: int, result: tuple | None, exc: BaseException | None
    ) -> None:
        """Show the sandbox user's recommendations (kernel's thread), unless a newer choice
        was made meanwhile."""
        if generation != self._sandbox_generation:
            return
        s = self.state
        self.sandbox_status.value = ""
        if exc is not None:
            self.sandbox_table.value = (
                f"<div style='color:#cf222e'>{html.escape(error_message(exc))}</div>"
            )
            return
        frame, rep = result
        self.sandbox_frame = frame
        self.sandbox_table.value = frame_html(frame)
        with s.hold_trait_notifications():
            s.sandbox_items = [int(i) for i in frame["item"]]
            s.sandbox_representation = rep

    def wait_sandbox(self, timeout: float | None = None) -> None:
        """Wait for the sandbox computation in flight and show it (tests, scripts)."""
        if self._sandbox_thread is not None:
            self._sandbox_thread.join(timeout)
        self.dispatcher.flush()

    def _on_clear(self, button: Any = None) -> None:
        self.liked.value = []
        self.disliked.value = []
