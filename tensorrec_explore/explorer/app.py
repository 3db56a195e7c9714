"""The explorer application: the one place where panels and the controller meet.

``Explorer(dataset)`` builds the state, the dispatcher (the one way background work reaches
the state: on the kernel's thread), the controller (training), the projector (2-D embeddings)
and the panels, connects the panels' buttons to the controller, keeps the plug-in dropdowns in
sync with the registries, and displays itself as one ipywidgets tree. As soon as a front end
shows it (not while the page is still loading) it loads TensorFlow and prepares UMAP in the
background, so the first Train and the first UMAP do not wait for them.
"""

from __future__ import annotations

import html
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
from .engine import engine_loaded, load_in_background
from .messages import error_text
from .pace import DrawPace
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
from .state import ExplorerState

#: Seconds after it is built before the explorer's background work (TensorFlow's import, UMAP's
#: preparation) starts anyway when no front end has reported showing it: one that counts no
#: widget views, or an explorer not displayed yet.
SHOWN_FALLBACK_SECONDS = 15.0

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
    """Train a TensorRec model in the kernel, watch it learn, look at its embeddings.

    One ipywidgets application: configure, train, project, inspect users and compare runs.
    Display it as a cell's last expression.

    Parameters
    ----------
    dataset : InteractionDataset, optional
        The data; the built-in synthetic dataset when None.
    model : TensorRec, optional
        A model fitted elsewhere (in a script, on a cluster, loaded from disk) to show in every
        panel without training, with its settings and history; ``split`` then defaults to
        ``"none"``, since its training split is unknown.
    model_factory : callable, optional
        ``model_factory(**settings)`` builds each run's model; ``TensorRec`` when None.
    warm_umap : {True, "idle", False}, default True
        Prepare UMAP in the background once the explorer is shown, once the first run has
        finished, or never.
    push_interval : float, default 0.2
        Seconds between two pushes of the live curves to the browser while training (at most;
        a push also waits until the browser has drawn the previous one).
    umap_kwargs : dict, optional
        Passed to :func:`~tensorrec_explore.projection.umap_2d`.
    preload : bool, default True
        Import TensorFlow in the background once the explorer is shown (a front end showed its
        widgets, or ``SHOWN_FALLBACK_SECONDS`` passed; at once without a kernel loop).
    loop : event loop, "auto" or None, default "auto"
        The loop whose thread owns the state: the running kernel's for "auto"; None for none
        (calls from workers then apply at once, under a lock).
    **config
        The starting configuration: any name of ``ExplorerState``'s configuration traits or
        ``snapshot_every``, e.g. ``loss="bpr", n_components=32, epochs=30``.

    Attributes
    ----------
    widget : ipywidgets.Widget
        The root widget.
    state : ExplorerState
        The traitlets state every panel reads and writes.
    controller : Controller
        Training: ``train`` / ``stop`` / ``resume`` / ``reset`` / ``join``.
    projector : Projector
        The 2-D projections of the embeddings.
    panels : types.SimpleNamespace
        ``status``, ``config``, ``curves``, ``diagram``, ``embeddings``, ``inspector``,
        ``runs``.
    dispatcher : KernelDispatcher
        How background work reaches the state (on the kernel's thread).

    Raises
    ------
    InputError
        On an unknown configuration name or a value its setting cannot hold (e.g.
        ``n_components=0``).
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
        if model is not None and hasattr(model, "get_params"):
            state.set_model_kwargs(model.get_params())
        if model is not None and "split" not in config:
            config["split"] = "none"  # the split it was trained on is unknown: no test leaks
        state.configure(config)
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
            embeddings=EmbeddingsPanel(state, loop=self.dispatcher.loop),
            inspector=InspectorPanel(state, dispatcher=self.dispatcher),
            runs=RunsPanel(state),
        )
        curves = self.panels.curves
        self.controller.ready_to_push = DrawPace(
            curves.loss_figure, also=(curves.val_figure, self.panels.embeddings.figure)
        ).ready
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
        # background work starts once a front end shows the widgets: while the page loads,
        # the browser needs the CPU that TensorFlow's import and UMAP's preparation would take
        jobs = []
        if preload and not engine_loaded():
            jobs.append(self._preload())
        if warm_umap is True:
            jobs.append(self.projector.warm_up)
        self._pending_background: list[Callable[[], None]] = jobs
        if jobs:
            self._when_shown(self._start_background)

    def _preload(self) -> Callable[[], None]:
        """Say in the status bar that TensorFlow loads in the background; return the function
        that starts its import in a background thread."""
        state, dispatch = self.state, self.dispatcher
        loading = "Loading TensorFlow in the background; you can configure meanwhile."
        state.message = loading

        def ready(seconds: float) -> None:
            self.controller.refresh_config()  # "auto" values can be named now
            if state.message == loading:
                state.message = f"Ready (TensorFlow loaded in {seconds:.0f} s): press Train."

        def start() -> None:
            load_in_background(
                lambda seconds: dispatch.call(ready, seconds),
                lambda exc: dispatch.call(self._show_error, exc),
            )

        return start

    def _start_background(self) -> None:
        """Start the background work not started yet (once; never after :meth:`close`)."""
        jobs, self._pending_background = self._pending_background, []
        for job in jobs:
            job()

    def _when_shown(self, start: Callable[[], None]) -> None:
        """Run ``start`` on the kernel's thread when a front end first shows the explorer.

        Shown means the root widget's first view (ipywidgets' ``_view_count``, counted by
        JupyterLab, Notebook 7 and Voila). A front end that counts no views, or an explorer not
        displayed, starts after :data:`SHOWN_FALLBACK_SECONDS`; without a kernel loop (scripts,
        tests), ``start`` runs at once.
        """
        loop = self.dispatcher.loop
        if loop is None or not hasattr(loop, "call_later"):
            start()
            return

        waiting = True

        def on_view(change: dict) -> None:
            if change["new"]:
                begin()

        def begin() -> None:
            nonlocal waiting
            if waiting:
                waiting = False
                self.widget.unobserve(on_view, names="_view_count")
                start()

        self.widget.observe(on_view, names="_view_count")
        loop.call_later(SHOWN_FALLBACK_SECONDS, begin)

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
            ],
            _view_count=0,  # front ends count its views: see _when_shown
        )
        root.add_class("tre-explorer")
        return root

    @classmethod
    def lesson(cls, name: str, **kwargs: Any) -> Explorer:
        """Return an explorer set up for a tutorial's lesson, its runs training one after another.

        What to look at is in the status bar and in ``.lesson_text``.

        Parameters
        ----------
        name : {"deep-towers", "losses", "explicit-dislikes", "tastes"}
            ``"deep-towers"``: a linear vs a ReLU item tower on features no single column of
            which is informative; ``"losses"``: bpr, wmrb and softmax on the same data;
            ``"explicit-dislikes"``: trained on likes only vs on likes and dislikes (where
            held-out dislikes rank); ``"tastes"``: one vs two taste vectors per user, for users
            with two taste clusters.
        **kwargs
            Those of :class:`Explorer`; they override the lesson's settings.

        Returns
        -------
        Explorer
            The explorer, its first run already started.

        Raises
        ------
        InputError
            For an unknown lesson (the message lists them).
        """
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
        """Return an explorer showing embeddings of any other system (LightFM, TFRS, ALS, ...).

        Projection, nearest neighbours and the inspector work; the panels that need a
        TensorRec model (Resume, the sandbox, feature contributions) say so.

        Parameters
        ----------
        dataset : InteractionDataset
            The data the vectors were learned from.
        user_vectors, item_vectors : array-like
            ``[n_users, d]`` and ``[n_items, d]``, in the dataset's index order.
        user_biases, item_biases : array-like, optional
            ``[n_users]`` and ``[n_items]``, added to the scores.
        prediction : {"dot", "cosine", "euclidean"}, default "dot"
            How a user vector and an item vector make a score.
        **kwargs
            Those of :class:`Explorer` (e.g. ``split="random_holdout"`` to see the held-out
            items of the BENCHMARK.md split).

        Returns
        -------
        Explorer
            The explorer, showing the vectors as a trained model.

        Raises
        ------
        InputError
            On vectors or biases of the wrong shape, non-finite values, or an unknown
            ``prediction``.
        """
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
        """Press Train: start a fresh run in the background.

        Parameters
        ----------
        wait : bool, default False
            Block until the run ends (and apply what it sent to the state).

        Returns
        -------
        bool
            True when a run started; False when it could not (the status bar says why).
        """
        started = self.controller.train()
        if wait:
            self.controller.join()
        return started

    def runs_frame(self) -> Any:
        """Return the finished runs as a table.

        Returns
        -------
        pandas.DataFrame
            A copy: one row per run, its final metrics, seconds and the settings it used
            (resolved values, not "auto").
        """
        return self.panels.runs.frame.copy()

    def close(self) -> None:
        """Stop training and the projector, stop following the registries, close the widgets.

        Waits at most 30 s for a running training thread.
        """
        self._pending_background = []
        self.controller.close(timeout=30)
        self.projector.close()
        for registry, listener in self._listeners:
            registry.unobserve(listener)
        self._listeners = []
        _close_tree(self.widget)


#: The tensorrec-explore labextension's script: it gives anywidget modules (plotly's large
#: FigureWidget) two minutes to load instead of anywidget's 2 s, so the curves draw on a busy
#: machine, and runs a module several figures share once instead of once per figure.
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
    """In a notebook, run the labextension's script as an output.

    For installs where the extension is not in Jupyter's path (``pip install -e`` installs no
    data files). It must run before the figures' widget models are created, so the explorer
    does this first; it is a no-op where the extension (or the Voila template) already applied
    it, and outside a kernel.
    """
    if kernel_loop() is None or not LOAD_LIMIT_SCRIPT.is_file():
        return
    from IPython.display import Javascript, display

    display(Javascript(LOAD_LIMIT_SCRIPT.read_text(encoding="utf-8")))


def show_in_notebook(html_text: str, explorer: Explorer | None = None) -> None:
    """Display ``html_text`` and then ``explorer`` (if given) in the running notebook's output.

    Parameters
    ----------
    html_text : str
        HTML shown first.
    explorer : Explorer, optional
        Shown after it.
    """
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
