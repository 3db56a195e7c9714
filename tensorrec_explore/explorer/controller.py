"""Turns the state's configuration into training, off the UI thread.

``train()`` starts a fresh model in a background thread, ``stop()`` asks it to finish the epoch
in progress, ``resume()`` continues the stopped (or finished) model with ``fit_partial`` and
``reset()`` forgets the current run. Progress reaches the state through
:class:`~tensorrec_explore.explorer.training.ExplorerCallback` (throttled). Every error raised
while preparing or training is caught and written to ``state.error`` so that the status bar shows
it; tensorrec_explore's own errors are shown by their message alone.

The controller never imports a panel; TensorFlow is imported only when training starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .messages import error_text
from .state import CONFIG_TRAITS, ExplorerState
from .validation import check_config


def default_model_factory(**kwargs: Any) -> Any:
    from ..model import TensorRec  # TensorFlow starts here, at train time

    return TensorRec(**kwargs)


class Controller:
    """Runs training for an :class:`ExplorerState` over one dataset."""

    def __init__(self, state: ExplorerState, dataset: Any, *,
                 model_factory: Callable[..., Any] | None = None, push_interval: float = 0.2):
        from .datasets import check_dataset

        check_dataset(dataset)  # InputError for a matrix or anything else but a dataset
        self.state = state
        self.dataset = dataset
        self.model_factory = model_factory or default_model_factory
        self.push_interval = push_interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.timings: dict[str, float] = {}
        self._data_cache: dict[tuple, Any] = {}
        self._history: dict[str, list] | None = None
        self._snapshots: list = []
        self._lock = threading.Lock()
        state.observe(self._on_config, names=list(CONFIG_TRAITS))
        self._on_config()
        self._describe_dataset()

    def _describe_dataset(self) -> None:
        from .datasets import describe

        with self.state.hold_trait_notifications():
            for name, value in describe(self.dataset).items():
                setattr(self.state, name, value)

    # ---- configuration ----
    def _on_config(self, change: Any = None) -> None:
        problems, notes = check_config(self.state.config(), self.dataset)
        self.state.config_problems = problems
        self.state.config_notes = notes

    def data(self) -> dict[str, Any]:
        """Train / test matrices and feature matrices for the current split and feature sets."""
        s = self.state
        key = (s.split, s.user_feature_set, s.item_feature_set)
        if key not in self._data_cache:
            from . import datasets

            self._data_cache[key] = datasets.prepare(
                self.dataset, split=s.split, user_feature_set=s.user_feature_set,
                item_feature_set=s.item_feature_set)
        return self._data_cache[key]

    # ---- commands (called by the app's button handlers) ----
    def train(self) -> bool:
        """Start a fresh run in the background. Returns False (and says why) if it cannot."""
        return self._start(resume=False)

    def resume(self) -> bool:
        """Continue the current model for ``state.epochs`` more epochs with ``fit_partial``."""
        return self._start(resume=True)

    def stop(self) -> None:
        """Ask the running fit to stop after the epoch in progress."""
        if self.running:
            self.stop_event.set()
            self.state.status = "stopping"
            self.state.message = "Stopping after the current epoch..."

    def reset(self) -> None:
        """Stop any run and forget the current model, curves and snapshots (runs are kept)."""
        self.stop()
        self.join()
        s = self.state
        self._history = None
        self._snapshots = []
        with s.hold_trait_notifications():
            s.model = None
            s.data = {}
            s.model_config = {}
            s.history = {}
            s.snapshots = []
            s.projections = {}
            s.epoch = 0
            s.target_epochs = 0
            s.epochs_per_second = 0.0
            s.elapsed = 0.0
            s.error = ""
            s.error_detail = ""
            s.sandbox_representation = None
            s.sandbox_items = []
            s.highlighted_items = []
            s.status = "idle"
            s.message = "Reset: configure and press Train."
            s.model_version += 1

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the training thread; True when no training is running afterwards."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # ---- internals ----
    def _fail(self, message: str, detail: str = "") -> bool:
        with self.state.hold_trait_notifications():
            self.state.error = message
            self.state.error_detail = detail
            self.state.message = message
            self.state.status = "error"
        return False

    def _start(self, *, resume: bool) -> bool:
        s = self.state
        with self._lock:
            if self.running:
                s.message = "Training is already running; press Stop first."
                return False
            t_click = time.perf_counter()
            if s.config_problems:
                return self._fail("Cannot train: " + " ".join(s.config_problems))
            if resume and s.model is None:
                return self._fail("Nothing to resume: press Train to start a run first.")
            try:
                data = s.data if resume else self.data()
                if resume:
                    model = s.model
                else:
                    model = self.model_factory(**s.model_kwargs())
            except Exception as exc:  # noqa: BLE001 - shown on screen, never lost
                return self._fail(*error_text(exc))
            if not resume:
                self._history = None
                self._snapshots = []
                with s.hold_trait_notifications():
                    s.run_id += 1
                    s.history = {}
                    s.snapshots = []
                    s.projections = {}
                    s.epoch = 0
            self.stop_event.clear()
            self.timings = {"click": t_click}
            with s.hold_trait_notifications():
                s.error = ""
                s.error_detail = ""
                s.status = "training"
                s.target_epochs = s.epoch + s.epochs  # 0 = auto: set when training begins
                s.message = ("Resuming" if resume else "Training") + (
                    f" for {s.epochs} epochs..." if s.epochs else "...")
            config = s.config()
            if resume and s.model_config:  # the model keeps its hyperparameters
                config = {**s.model_config, "epochs": s.epochs, "k": s.k,
                          "val_every": s.val_every}
            self.thread = threading.Thread(
                target=self._run, args=(model, data, config, resume, t_click),
                name="tensorrec-explorer-train", daemon=True)
            self.thread.start()
            return True

    def _run(self, model: Any, data: dict, config: dict, resume: bool, t_click: float) -> None:
        s = self.state
        callback = None
        try:
            from .training import ExplorerCallback, empty_history

            if self._history is None:
                self._history = empty_history()
            validation = None
            if data["test"] is not None:
                from ..callbacks import ValidationMetrics

                validation = ValidationMetrics(data["test"], k=config["k"],
                                               every=config["val_every"])
            callback = ExplorerCallback(
                s, self.stop_event, k=config["k"], history=self._history,
                snapshots=self._snapshots, first_epoch=s.epoch,
                snapshot_every=s.snapshot_every,
                user_features=data["user_features"],
                item_features=data["item_features"], push_interval=self.push_interval,
                clock_start=time.perf_counter())
            fit = model.fit_partial if resume else model.fit
            t0 = time.perf_counter()
            fit(data["train"], data["user_features"], data["item_features"],
                epochs=config["epochs"] or None, callbacks=[callback], validation=validation)
            fit_seconds = time.perf_counter() - t0
            self.timings["fit_seconds"] = fit_seconds
            self.timings["callback_seconds"] = callback.seconds_inside
            self.timings["snapshot_seconds"] = callback.seconds_snapshots
            if callback.t_first_point is not None:
                self.timings["first_point"] = callback.t_first_point - t_click
            stopped = self.stop_event.is_set()
            metrics = self._final_metrics(model, data, config)
            done = callback.epoch - callback.first_epoch
            with s.hold_trait_notifications():
                s.model = model
                s.data = data
                s.model_config = config
                s.model_version += 1
                s.status = "stopped" if stopped else "finished"
                s.message = (f"{'Stopped' if stopped else 'Finished'} at epoch {callback.epoch} "
                             f"({done} epochs in {fit_seconds:.1f} s, "
                             f"{done / max(fit_seconds, 1e-9):.1f} epochs/s).")
            self._record_run(config, metrics, fit_seconds, callback.epoch)
        except Exception as exc:  # noqa: BLE001 - shown on screen, never lost
            message, detail = error_text(exc)
            if callback is not None and callback.epoch > callback.first_epoch:
                with s.hold_trait_notifications():  # what was learned can still be inspected
                    s.model = model
                    s.data = data
                    s.model_config = config
                    s.model_version += 1
            self._fail(message, detail)

    def _final_metrics(self, model: Any, data: dict, config: dict) -> dict[str, float]:
        if data["test"] is None:
            return {}
        from ..metrics import evaluate

        report = evaluate(model, data["test"], data["train"], k=config["k"])
        return {name: float(value) for name, value in report.summary.items()}

    def _record_run(self, config: dict, metrics: dict, seconds: float, epochs: int) -> None:
        s = self.state
        history = {key: list(values) for key, values in (self._history or {}).items()}
        runs = [r for r in s.runs if r["run"] != s.run_id]  # a resumed run replaces its record
        previous = next((r for r in s.runs if r["run"] == s.run_id), None)
        total_seconds = seconds + (previous["seconds"] if previous else 0.0)
        last = {k: (v[-1] if v else np.nan) for k, v in history.items()}
        record = {
            "run": s.run_id,
            "config": dict(config, epochs=epochs),
            "metrics": {**metrics, "final loss": last.get("loss", np.nan),
                        "final regularisation": last.get("regularization", np.nan)},
            "history": history,
            "seconds": total_seconds,
        }
        s.runs = runs + [record]
