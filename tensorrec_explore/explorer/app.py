"""The explorer application: the one place where panels and the controller meet.

``Explorer(dataset)`` builds the state, the dispatcher (the one way background work reaches
the state: on the kernel's thread), the controller (training), the projector (2-D embeddings)
and the panels, connects the panels' buttons to the controller, keeps the plug-in dropdowns in
sync with the registries, and displays itself as one ipywidgets tree. As soon as it is built it
loads TensorFlow and prepares UMAP in the background, so the first Train and the first UMAP
do not wait for them.
"""

from __future__ import annotations

import html
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ipywidgets as w

from ..registry import LOSSES, PREDICTIONS, REPRESENTATIONS
from .controller import Controller
from .datasets import default_dataset
from .dispatch import KernelDispatcher, kernel_loop
from .engine import engine_loaded, load_engine
from .messages import error_text
from .panels import (
    ConfigPanel,
    CurvesPanel,
    DiagramPanel,
    EmbeddingsPanel,
    InspectorPanel,
    RunsPanel,
    StatusPanel,
)
from .projector import Projector
from .state import CONFIG_TRAITS, ExplorerState

_REGISTRIES = (
    (REPRESENTATIONS, "representation_names"),
    (PREDICTIONS, "prediction_names"),
    (LOSSES, "loss_names"),
)


def _section(title: str, body: w.Widget, cls: str) -> w.VBox:
    box = w.VBox(
        [w.HTML(f"<h3 style='margin:4px 0'>{title}</h3>"), body],
        layout=w.Layout(border="1px solid #ddd", padding="6px", margin="4px"),
    )
    box.add_class(cls)
    return box


class Explorer:
    """Train a TensorRec model in the kernel, watch it learn, look at its embeddings, inspect
    users and compare runs — one ipywidgets application.

    ``dataset``: an ``InteractionDataset`` (None: the built-in synthetic dataset). ``model``: a
    TensorRec model fitted elsewhere (in a script, on a cluster, loaded from disk) to show in
    every panel without training (its form settings and history too; ``split`` defaults to
    "none" since its training split is unknown). Keyword
    arguments set the starting configuration (any name of ``ExplorerState``'s configuration,
    e.g. ``loss="bpr", n_components=32, epochs=30``). ``warm_umap``: ``True`` (prepare UMAP in
    the background at once), ``"idle"`` (once the first run has finished) or ``False``.
    ``preload``: import TensorFlow in the background at once (default True). ``loop``: the
    event loop whose thread owns the state (default: the running kernel's; None = none, calls
    from workers then apply at once, under a lock).

    The parts are public: ``.widget`` (the root widget), ``.state`` (the traitlets state),
    ``.controller`` (train / stop / resume / reset / join), ``.projector``, ``.panels`` and
    ``.dispatcher``.
    """

    def __init__(
        self,
        dataset: Any = None,
        *,
        model: Any = None,
        model_factory: Callable[..., Any] | None = None,
        warm_umap: str | bool = True,
        push_interval: float = 0.2,
        umap_kwargs: dict | None = None,
        preload: bool = True,
        loop: Any = "auto",
        **config: Any,
    ):
        if loop == "auto":
            raise_widget_load_limit()  # before any figure's widget model exists
        self.dataset = default_dataset() if dataset is None else dataset
        self.state = state = ExplorerState()
        self.dispatcher = KernelDispatcher(loop, on_error=self._show_error)
        self.lesson_text = ""  # what to look at, when opened with Explorer.lesson
        self.lesson_runner: Any = None
        self._listeners: list[tuple[Any, Callable]] = []
        for registry, trait in _REGISTRIES:
            setattr(state, trait, registry.names())
            listener = _weak_listener(self, registry, trait)
            registry.observe(listener)
            self._listeners.append((registry, listener))
        unknown = sorted(set(config) - set(CONFIG_TRAITS) - {"snapshot_every"})
        if unknown:
            from ..errors import InputError

            raise InputError(
                f"Explorer got unknown configuration name(s) {unknown}; valid names are: "
                f"{', '.join((*CONFIG_TRAITS, 'snapshot_every'))}."
            )
        if model is not None and hasattr(model, "get_params"):
            state.set_model_kwargs(model.get_params())
        if model is not None and "split" not in config:
            config["split"] = "none"  # the split it was trained on is unknown: no test leaks
        for name, value in config.items():
            setattr(state, name, value)
        self.controller = Controller(
            state,
            self.dataset,
            model_factory=model_factory,
            push_interval=push_interval,
            dispatcher=self.dispatcher,
        )
        self.projector = Projector(
            state,
            warm_umap="idle" if warm_umap == "idle" else False,
            umap_kwargs=umap_kwargs,
            dispatcher=self.dispatcher,
        )
        self.panels = SimpleNamespace(
            status=StatusPanel(state),
            config=ConfigPanel(state),
            curves=CurvesPanel(state),
            diagram=DiagramPanel(state),
            embeddings=EmbeddingsPanel(state),
            inspector=InspectorPanel(state, dispatcher=self.dispatcher),
            runs=RunsPanel(state),
        )
        curves = self.panels.curves
        self._connect(curves.train_button, self.controller.train)
        self._connect(curves.stop_button, self.controller.stop)
        self._connect(curves.resume_button, self.controller.resume)
        self._connect(curves.reset_button, self.controller.reset)
        self.widget = self._layout()
        if model is not None:
            try:
                self.controller.adopt(
                    model,
                    "a model trained elsewhere"
                    if hasattr(model, "fit_partial")
                    else "embeddings from another system",
                )
            except BaseException:
                self.close()
                raise
        # background work starts once the widgets exist, so it never slows building them
        if preload and not engine_loaded():
            self._preload()
        if warm_umap is True:
            self.projector.warm_up()

    def _preload(self) -> None:
        """Import TensorFlow in a background thread, saying so in the status bar."""
        state, dispatch = self.state, self.dispatcher
        loading = "Loading TensorFlow in the background; you can configure meanwhile."
        state.message = loading

        def ready(seconds: float) -> None:
            self.controller.refresh_config()  # "auto" values can be named now
            if state.message == loading:
                state.message = f"Ready (TensorFlow loaded in {seconds:.0f} s): press Train."

        def work() -> None:
            try:
                seconds = load_engine()
            except Exception as exc:
                dispatch.call(self._show_error, exc)
                return
            dispatch.call(ready, seconds)

        threading.Thread(target=work, name="tensorrec-explorer-preload", daemon=True).start()

    def _show_error(self, exc: BaseException) -> None:
        """Show an error raised by background work (on the kernel's thread)."""
        message, detail = error_text(exc)
        state = self.state
        with state.hold_trait_notifications():
            state.error, state.error_detail, state.status = message, detail, "error"

    def _connect(self, button: w.Button, command: Callable[[], Any]) -> None:
        def on_click(_button: Any) -> None:
            try:
                command()
            except Exception as exc:
                self._show_error(exc)

        button.on_click(on_click)

    def _layout(self) -> w.Widget:
        p = self.panels
        s = self.state
        title = w.HTML(
            f"<h2 style='margin:4px 0'>TensorRec explorer</h2><div>{html.escape(s.dataset_name)}"
            f": {s.n_users:,} users &times; {s.n_items:,} items, "
            f"{self.dataset.interactions.nnz:,} interactions</div>"
        )
        flow = w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start")
        root = w.VBox(
            [
                title,
                p.status.widget,
                # from 1,400 px wide: the form beside the model it describes, then the curves
                # beside the embeddings, then the inspector beside the runs
                w.HBox(
                    [
                        _section("Configure", p.config.widget, "tre-config-section"),
                        _section("The model", p.diagram.widget, "tre-diagram-section"),
                    ],
                    layout=flow,
                ),
                w.HBox(
                    [
                        _section("Train", p.curves.widget, "tre-train-section"),
                        _section("Embeddings", p.embeddings.widget, "tre-embeddings-section"),
                    ],
                    layout=flow,
                ),
                w.HBox(
                    [
                        _section("Inspect a user", p.inspector.widget, "tre-inspector-section"),
                        _section("Compare runs", p.runs.widget, "tre-runs-section"),
                    ],
                    layout=flow,
                ),
            ]
        )
        root.add_class("tre-explorer")
        return root

    @classmethod
    def lesson(cls, name: str, **kwargs: Any) -> Explorer:
        """An explorer set up for a tutorial's lesson, its runs training one after the other:
        ``"deep-towers"`` (a linear vs a ReLU item tower on features no single column of which
        is informative) or ``"losses"`` (bpr, wmrb and softmax on the same data). What to look
        at is in the status bar and in ``.lesson_text``. Other keyword arguments are those of
        :class:`Explorer`."""
        from .lessons import LessonRunner, get_lesson

        lesson = get_lesson(name)
        explorer = cls(lesson.dataset(), **{**lesson.settings, **kwargs})
        explorer.lesson_text = f"{lesson.title}. {lesson.look_at} (Tutorial: {lesson.tutorial})"
        explorer.lesson_runner = LessonRunner(explorer, lesson)
        explorer.panels.status.lesson.value = (
            f"<div class='tre-lesson' style='background:#ddf4ff;padding:4px 8px'><b>Lesson: "
            f"{html.escape(lesson.title)}.</b> {html.escape(lesson.look_at)}</div>"
        )
        explorer.lesson_runner.start()
        return explorer

    @classmethod
    def from_vectors(
        cls,
        dataset: Any,
        user_vectors: Any,
        item_vectors: Any,
        *,
        user_biases: Any = None,
        item_biases: Any = None,
        prediction: str = "dot",
        **kwargs: Any,
    ) -> Explorer:
        """Show embeddings of any other system (LightFM, TFRS, ALS, ...): ``user_vectors``
        ``[n_users, d]`` and ``item_vectors`` ``[n_items, d]`` in the dataset's index order,
        scored with ``prediction`` ("dot", "cosine" or "euclidean") plus optional biases.
        Projection, nearest neighbours and the inspector work; the panels that need a
        TensorRec model (Resume, the sandbox, feature contributions) say so. Other keyword
        arguments are those of :class:`Explorer` (e.g. ``split="random_holdout"`` to see the
        held-out items of the BENCHMARK.md split)."""
        from .vectors import VectorModel

        model = VectorModel(
            user_vectors,
            item_vectors,
            user_biases=user_biases,
            item_biases=item_biases,
            prediction=prediction,
        )
        return cls(dataset, model=model, **kwargs)

    # ---- display ----
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _on_registered(self, registry: Any, trait: str) -> None:
        setattr(self.state, trait, registry.names())

    # ---- conveniences ----
    def train(self, wait: bool = False) -> bool:
        """Press Train (and, with ``wait=True``, block until the run ends)."""
        started = self.controller.train()
        if wait:
            self.controller.join()
        return started

    def runs_frame(self) -> Any:
        """The finished runs as a pandas DataFrame: one row per run, its final metrics, seconds
        and the settings it used (resolved values, not "auto")."""
        return self.panels.runs.frame.copy()

    def close(self) -> None:
        """Stop training and the projector, stop following the registries, close widgets."""
        self.controller.close(timeout=30)
        self.projector.close()
        for registry, listener in self._listeners:
            registry.unobserve(listener)
        self._listeners = []
        _close_tree(self.widget)


#: The tensorrec-explore labextension's script: it raises anywidget's module-load limit (2 s) to
#: two minutes, so plotly's 5 MB FigureWidget module loads and the curves draw on a busy machine.
LOAD_LIMIT_SCRIPT = (
    Path(__file__).parents[1]
    / "app"
    / "jupyter"
    / "labextensions"
    / "tensorrec-explore"
    / "static"
    / "remoteEntry.js"
)


def raise_widget_load_limit() -> None:
    """In a notebook, run the labextension's script as an output, for installs where the
    extension is not in Jupyter's path (``pip install -e`` installs no data files). It must run
    before the figures' widget models are created, so the explorer does this first; it is a
    no-op where the extension (or the Voila template) already applied it, and outside a kernel.
    """
    if kernel_loop() is None or not LOAD_LIMIT_SCRIPT.is_file():
        return
    from IPython.display import Javascript, display

    display(Javascript(LOAD_LIMIT_SCRIPT.read_text(encoding="utf-8")))


def show_in_notebook(html_text: str, explorer: Explorer | None = None) -> None:
    """Display ``html_text`` and then ``explorer`` (if given) in the running notebook's output."""
    from IPython.display import HTML, display

    display(HTML(html_text))
    if explorer is not None:
        display(explorer)


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def _weak_listener(explorer: Explorer, registry: Any, trait: str) -> Callable[[str], None]:
    ref = weakref.ref(explorer)

    def listener(name: str) -> None:
        target = ref()
        if target is None:
            registry.unobserve(listener)
        else:
            target._on_registered(registry, trait)

    return listener
