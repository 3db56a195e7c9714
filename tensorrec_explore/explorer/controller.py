"""Turns the state's configuration into training, off the kernel's thread.

``train()`` starts a fresh model in a background thread, ``stop()`` asks it to finish the epoch
in progress, ``resume()`` continues the stopped (or finished) model with ``fit_partial`` and
``reset()`` forgets the current run. All four return at once: the click's reaction (button
disabled, "loading TensorFlow..." / "building the model...") is on screen before any slow work,
which happens in the run's thread (TensorFlow's import, the data split, the model, the fit).

The run's thread never writes the state: every result goes through the
:class:`~tensorrec_explore.explorer.dispatch.KernelDispatcher`, tagged with the generation the
run started in, so Reset (which starts a new generation) drops whatever a forgotten run still
sends. Progress reaches the state through
:class:`~tensorrec_explore.explorer.training.ExplorerCallback` (throttled). Every error raised
while preparing or training is shown in the status bar; tensorrec_explore's own errors by their
message alone.

The controller never imports a panel; TensorFlow is imported only in background threads.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .auto import auto_values
from .dispatch import KernelDispatcher
from .engine import engine_loaded, load_engine
from .messages import error_text
from .records import CurveMark, Snapshot, TrainingJob, run_record
from .run import LIVE_RUNS, Run, default_model_factory, resolved_settings
from .state import CONFIG_TRAITS, ExplorerState
from .validation import check_fields


class Controller:
    """Runs training for an :class:`ExplorerState` over one dataset."""

    def __init__(
        self,
        state: ExplorerState,
        dataset: Any,
        *,
        model_factory: Callable[..., Any] | None = None,
        push_interval: float = 0.2,
        dispatcher: KernelDispatcher | None = None,
    ):
        from .datasets import check_dataset

        check_dataset(dataset)  # InputError for a matrix or anything else but a dataset
        self.state = state
        self.dataset = dataset
        self.model_factory = model_factory or default_model_factory
        self.push_interval = push_interval
        #: Called by training before each push of its progress; False holds it back (the
        #: explorer sets it to its DrawPace: the browser has not drawn the last push yet).
        self.ready_to_push: Callable[[], bool] | None = None
        self.dispatcher = dispatcher or KernelDispatcher(loop=None)
        self.run: Run | None = None
        self._runs: weakref.WeakSet[Run] = weakref.WeakSet()  # incl. runs left by Reset
        self.timings: dict[str, float] = {}
        self._data_cache: dict[tuple, Any] = {}
        self._data_lock = threading.Lock()
        self._history: dict[str, list] | None = None
        self._snapshots: list[Snapshot] = []
        self._describe_dataset()  # first: the "auto" values depend on the catalogue's size
        state.observe(self._on_config, names=list(CONFIG_TRAITS))
        self._on_config()

    def _describe_dataset(self) -> None:
        from .datasets import describe

        with self.state.hold_trait_notifications():
            for name, value in describe(self.dataset).items():
                setattr(self.state, name, value)

    # ---- configuration ----
    def refresh_config(self) -> None:
        """Re-check the form now (e.g. once TensorFlow is loaded)."""
        self._on_config()

    def _on_config(self, change: Any = None) -> None:
        """Re-check the form (and what its "auto" values stand for) after any change."""
        config = self.state.config()
        fields, notes = check_fields(config, self.dataset)
        with self.state.hold_trait_notifications():
            self.state.config_problem_fields = fields
            self.state.config_problems = list(dict.fromkeys(fields.values()))
            self.state.config_notes = notes
            self.state.auto_values = auto_values(config, self.state.n_items)

    def data(
        self,
        split: str | None = None,
        user_feature_set: str | None = None,
        item_feature_set: str | None = None,
        learn_dislikes: bool | None = None,
    ) -> dict[str, Any]:
        """Train / test matrices and feature matrices for a split, feature sets and whether
        dislikes are learnt (the state's current ones by default; see ``datasets.prepare``);
        computed once per combination, from any thread."""
        s = self.state
        key = (
            split or s.split,
            user_feature_set or s.user_feature_set,
            item_feature_set or s.item_feature_set,
            s.learn_dislikes if learn_dislikes is None else learn_dislikes,
        )
        with self._data_lock:
            if key not in self._data_cache:
                from . import datasets

                self._data_cache[key] = datasets.prepare(
                    self.dataset,
                    split=key[0],
                    user_feature_set=key[1],
                    item_feature_set=key[2],
                    learn_dislikes=key[3],
                )
            return self._data_cache[key]

    # ---- commands (called by the app's button handlers, on the kernel's thread) ----
    def train(self) -> bool:
        """Start a fresh run in the background. Returns False (and says why) if it cannot."""
        return self._start(resume=False)

    def resume(self) -> bool:
        """Continue the current model for ``state.epochs`` more epochs with ``fit_partial``."""
        return self._start(resume=True)

    def stop(self) -> None:
        """Ask the running fit to stop after the epoch in progress (returns at once)."""
        if self.running:
            self.run.stop_event.set()
            self.state.status = "stopping"
            self.state.message = "Stopping after the current epoch..."

    def reset(self) -> None:
        """Forget the current model, curves, snapshots and every message still in flight (runs
        are kept). Returns at once: a run still finishing its epoch is told to stop, and what it
        sends afterwards is dropped."""
        if self.run is not None:
            self.run.stop_event.set()
        self.run = None
        self.dispatcher.advance()
        s = self.state
        self._history = None
        self._snapshots = []
        with s.hold_trait_notifications():  # the status line first: it is what people watch
            s.status = "idle"
            s.message = "Reset: configure and press Train."
        with s.hold_trait_notifications():
            s.model = None
            s.data = {}
            s.model_config = {}
            s.model_run = 0
            s.model_epoch = 0
            s.history = {}
            s.curve_marks = []
            s.snapshots = []
            s.projections = {}
            s.projection_status = ""
            s.epoch = 0
            s.target_epochs = 0
            s.epochs_per_second = 0.0
            s.elapsed = 0.0
            s.error = ""
            s.error_detail = ""
            s.sandbox_representation = None
            s.sandbox_items = []
            s.highlighted_items = []
            s.neighbour_items = []
            s.model_version += 1

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the training thread, then apply what it sent (on the kernel's thread);
        True when no training is running afterwards."""
        run = self.run
        if run is not None and run.thread is not None:
            run.thread.join(timeout)
        self.dispatcher.flush()
        return not self.running

    @property
    def running(self) -> bool:
        return self.run is not None and self.run.alive

    def close(self, timeout: float = 30.0) -> None:
        """Stop every run this controller started and wait for them (at most ``timeout``)."""
        deadline = time.perf_counter() + timeout
        for run in list(self._runs):
            run.stop_event.set()
            if run.thread is not None:
                run.thread.join(max(deadline - time.perf_counter(), 0.0))

    def adopt(self, model: Any, label: str) -> None:
        """Show ``model``, fitted elsewhere, in every panel without training (kernel's thread):
        its embeddings as one snapshot, its own training history where it kept one, its
        metrics on the current split. ``label`` says where it comes from."""
        from ..errors import InputError
        from .training import history_from_logs

        s = self.state
        shape = (getattr(model, "n_users_", None), getattr(model, "n_items_", None))
        if shape != (s.n_users, s.n_items):
            raise InputError(
                f"the model scores {shape[0]} users x {shape[1]} items but the dataset has "
                f"{s.n_users} x {s.n_items}; show it with the dataset it was trained on."
            )
        data = self.data()
        logs = getattr(getattr(model, "history_", None), "logs", None) or []
        epoch = len(logs)
        snapshot = Snapshot(
            epoch=epoch,
            users=np.asarray(model.user_representations(), dtype=np.float32),
            items=np.asarray(model.item_representations(), dtype=np.float32),
        )
        params = model.get_params() if hasattr(model, "get_params") else {}
        config = {
            **s.config(),
            **{k: v for k, v in params.items() if k in CONFIG_TRAITS},
            "source": label,
        }
        metrics = self._final_metrics(model, data, config)
        history = history_from_logs(logs, s.k)
        self.dispatcher.advance()
        with s.hold_trait_notifications():
            s.run_id += 1
            s.history = history
            s.curve_marks = []
            s.snapshots = [snapshot]
            s.projections = {}
            s.epoch = s.target_epochs = epoch
        self._finish(
            model,
            data,
            config,
            s.run_id,
            epoch,
            "finished",
            f"Showing {label} (run {s.run_id}): nothing was trained here.",
        )
        self._record_run(s.run_id, config, metrics, history, 0.0, epoch)

    # ---- internals ----
    def _fail(self, message: str, detail: str = "") -> bool:
        with self.state.hold_trait_notifications():
            self.state.error = message
            self.state.error_detail = detail
            self.state.message = message
            self.state.status = "error"
        return False

    def _say(self, run: Run, message: str) -> None:
        """Show ``message`` in the status bar (from the run's thread)."""
        self.dispatcher.call(setattr, self.state, "message", message, generation=run.generation)

    def _start(self, *, resume: bool) -> bool:
        s = self.state
        if self.running:
            s.message = "Training is already running; press Stop first."
            return False
        t_click = time.perf_counter()
        if s.config_problems:
            return self._fail("Cannot train: " + " ".join(s.config_problems))
        if resume and s.model is None:
            return self._fail("Nothing to resume: press Train to start a run first.")
        if resume and not hasattr(s.model, "fit_partial"):
            return self._fail(
                "These embeddings come from another system: Resume trains "
                "TensorRec models only; press Train to train one on this data."
            )
        run = Run(generation=self.dispatcher.generation)
        if not resume:
            self._history = None
            self._snapshots = []
        self.timings = {"click": t_click}
        config = s.config()
        if resume and s.model_config:  # the model keeps its hyperparameters
            config = {**s.model_config, "epochs": s.epochs, "k": s.k, "val_every": s.val_every}
        kwargs = s.model_kwargs()
        first_epoch = s.epoch if resume else 0
        with s.hold_trait_notifications():
            if resume:
                s.curve_marks = [*s.curve_marks, CurveMark(s.epoch, "resumed")]
            else:
                s.run_id += 1
                s.curve_marks = []
                s.history = {}
                s.snapshots = []
                s.projections = {}
                s.epoch = 0
            job = TrainingJob(
                run_id=s.run_id,
                resume=resume,
                config=config,
                kwargs=kwargs,
                model=s.model if resume else None,
                data=s.data if resume else None,
                first_epoch=first_epoch,
                t_click=t_click,
            )
            s.error = ""
            s.error_detail = ""
            s.status = "training"
            s.target_epochs = s.epoch + s.epochs  # 0 = auto: set when training begins
            s.message = (
                "Resuming..."
                if resume
                else "Building the model..."
                if engine_loaded()
                else "Loading TensorFlow (the first run of a kernel waits for it)..."
            )
        run.thread = threading.Thread(
            target=self._run, args=(run, job), name="tensorrec-explorer-train", daemon=True
        )
        self.run = run
        self._runs.add(run)
        LIVE_RUNS.add(run)
        run.thread.start()
        return True

    def _prepare(self, run: Run, job: TrainingJob) -> tuple[Any, dict]:
        """The model and data of a run (in the run's thread): TensorFlow, split, model."""
        if job.resume:
            return job.model, job.data
        if not engine_loaded():
            self.timings["engine_seconds"] = load_engine()
            self._say(run, "Building the model...")
        config = job.config
        data = self.data(
            config["split"],
            config["user_feature_set"],
            config["item_feature_set"],
            config["learn_dislikes"],
        )
        return self.model_factory(**job.kwargs), data

    def _run(self, run: Run, job: TrainingJob) -> None:
        s = self.state
        dispatch = self.dispatcher
        callback = model = data = None
        config, resume = job.config, job.resume
        try:
            model, data = self._prepare(run, job)
            from .training import ExplorerCallback, empty_history

            if self._history is None:
                self._history = empty_history()
            validation = None
            if data["test"] is not None:
                from ..callbacks import ValidationMetrics

                validation = ValidationMetrics(
                    data["test"], k=config["k"], every=config["val_every"]
                )
            callback = ExplorerCallback(
                s,
                run.stop_event,
                k=config["k"],
                history=self._history,
                snapshots=self._snapshots,
                first_epoch=job.first_epoch,
                snapshot_every=s.snapshot_every,
                user_features=data["user_features"],
                item_features=data["item_features"],
                push_interval=self.push_interval,
                clock_start=time.perf_counter(),
                dispatcher=dispatch,
                generation=run.generation,
                validation=validation,
                ready_to_push=self.ready_to_push,
            )
            self._say(run, ("Resuming" if resume else "Training") + "...")
            fit = model.fit_partial if resume else model.fit
            t0 = time.perf_counter()
            fit(
                data["train"],
                data["user_features"],
                data["item_features"],
                epochs=config["epochs"] or None,
                callbacks=[callback],
                validation=validation,
                sample_weight=data["train_weights"],  # the dataset's weights, or None
            )
            fit_seconds = time.perf_counter() - t0
            self.timings["fit_seconds"] = fit_seconds
            self.timings["callback_seconds"] = callback.seconds_inside
            self.timings["snapshot_seconds"] = callback.seconds_snapshots
            if callback.t_first_point is not None:
                self.timings["first_point"] = callback.t_first_point - job.t_click
            stopped = run.stop_event.is_set()
            config = {**config, **resolved_settings(model)}
            metrics = self._final_metrics(model, data, config)
            done = callback.epoch - callback.first_epoch
            message = (
                f"{'Stopped' if stopped else 'Finished'} at epoch {callback.epoch} "
                f"({done} epochs in {fit_seconds:.1f} s, "
                f"{done / max(fit_seconds, 1e-9):.1f} epochs/s)."
            )
            history = {key: list(values) for key, values in self._history.items()}
            run.done = True
            dispatch.call(
                self._finish,
                model,
                data,
                config,
                job.run_id,
                callback.epoch,
                "stopped" if stopped else "finished",
                message,
                generation=run.generation,
            )
            dispatch.call(
                self._record_run,
                job.run_id,
                config,
                metrics,
                history,
                fit_seconds,
                callback.epoch,
                generation=run.generation,
            )
        except Exception as exc:
            message, detail = error_text(exc)
            if callback is not None and callback.epoch > callback.first_epoch:
                # what was learned can still be inspected
                dispatch.call(
                    self._finish,
                    model,
                    data,
                    config,
                    job.run_id,
                    callback.epoch,
                    None,
                    None,
                    generation=run.generation,
                )
            dispatch.call(self._fail, message, detail, generation=run.generation)

    def _finish(
        self,
        model: Any,
        data: dict,
        config: dict,
        run_id: int,
        epoch: int,
        status: str | None,
        message: str | None,
    ) -> None:
        """Publish the trained model (on the kernel's thread)."""
        s = self.state
        with s.hold_trait_notifications():
            s.model = model
            s.data = data
            s.model_config = config
            s.model_run = run_id
            s.model_epoch = epoch
            s.model_version += 1
            if status is not None:
                s.status = status
                s.message = message
            if status == "stopped":
                s.curve_marks = [*s.curve_marks, CurveMark(epoch, "stopped")]

    def _final_metrics(self, model: Any, data: dict, config: dict) -> dict[str, float]:
        if data["test"] is None:
            return {}
        from ..metrics import evaluate
        from .analysis import held_out_dislike_auc

        report = evaluate(model, data["test"], data["train"], k=config["k"])
        metrics = {name: float(value) for name, value in report.summary.items()}
        if data.get("test_dislikes") is not None and data["test_dislikes"].nnz:
            metrics["dislike auc"] = held_out_dislike_auc(model, data)
        return metrics

    def _record_run(
        self, run_id: int, config: dict, metrics: dict, history: dict, seconds: float, epochs: int
    ) -> None:
        """Add (or, after Resume, replace) the run's record in ``state.runs``."""
        s = self.state
        previous = next((r for r in s.runs if r.run == run_id), None)
        record = run_record(run_id, config, metrics, history, seconds, epochs, previous)
        s.runs = [r for r in s.runs if r.run != run_id] + [record]
