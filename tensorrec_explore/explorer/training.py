"""The explorer's training subscriber: one :class:`tensorrec_explore.callbacks.Callback`.

Imported by the controller only when training starts (it imports the model's callback module,
and with it TensorFlow). It records every epoch locally and pushes a copy to the state at most
every ``push_interval`` seconds plus once at the end, so the browser keeps up and training speed
is not bound by redraws; a push also waits until the previous one has reached the state and,
given ``ready_to_push`` (the explorer's :class:`~tensorrec_explore.explorer.pace.DrawPace`),
until the browser has drawn it, so updates never queue up in front of a click (the epochs in
between go with the next push). It runs in the training thread, so every push goes through the
explorer's dispatcher to the kernel's thread (the only one that writes the state). A Stop request
(a ``threading.Event``) is honoured after the epoch in progress by setting
``model.stop_training``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..callbacks import Callback
from .pace import PATIENCE_SECONDS
from .records import Snapshot

HISTORY_KEYS = (
    "epoch",
    "loss",
    "regularization",
    "total",
    "val_epoch",
    "val_precision",
    "val_recall",
    "val_ndcg",
    "val_loss",
    "val_loss_note",
)


#: In automatic mode (``snapshot_every=0``), the share of training time snapshots may take.
SNAPSHOT_BUDGET = 0.03


def empty_history() -> dict[str, list]:
    """Return an empty history: each key of :data:`HISTORY_KEYS` with an empty list.

    ``"val_epoch"`` lists the epochs validation ran on; ``"val_precision"``, ``"val_recall"``,
    ``"val_ndcg"`` and ``"val_loss"`` hold one value per validation epoch (NaN where the logs
    lacked it); ``"val_loss_note"`` holds at most one sentence saying why the loss gives no
    validation loss.
    """
    return {key: [] for key in HISTORY_KEYS}


def history_from_logs(logs: list[dict], k: int) -> dict[str, list]:
    """Return the explorer's history of a model's own epoch logs (``model.history_.logs``).

    Parameters
    ----------
    logs : list of dict
        One dict of logs per epoch, oldest first (see :mod:`tensorrec_explore.callbacks`).
    k : int
        The cut-off whose ``val_*@k`` metrics are read.

    Returns
    -------
    dict
        As :func:`empty_history`, filled; an epoch with any ``val_`` key is a validation epoch.
    """
    history = empty_history()
    for epoch, log in enumerate(logs, start=1):
        record_epoch(history, epoch, log, k)
    return history


def record_epoch(history: dict[str, list], epoch: int, logs: dict, k: int) -> None:
    """Append one epoch's ``logs`` to ``history`` (see :func:`empty_history`).

    Parameters
    ----------
    history : dict
        The history to extend in place.
    epoch : int
        The epoch's number in the run (1 = the first).
    logs : dict
        The epoch's logs; a ``val_`` key makes it a validation epoch.
    k : int
        The cut-off whose ``val_*@k`` metrics are read.
    """
    history["epoch"].append(epoch)
    for key in ("loss", "regularization", "total"):
        history[key].append(float(logs.get(key, np.nan)))
    if any(key.startswith("val_") for key in logs):
        history["val_epoch"].append(epoch)
        for key, name in (
            ("val_precision", f"val_precision@{k}"),
            ("val_recall", f"val_recall@{k}"),
            ("val_ndcg", f"val_ndcg@{k}"),
            ("val_loss", "val_loss"),
        ):
            history[key].append(float(logs.get(name, np.nan)))


class ExplorerCallback(Callback):
    """Records epoch logs and embedding snapshots, throttles pushes to ``state``, honours Stop.

    ``snapshot_every``: epochs between snapshots, or 0 for automatic (a snapshot whenever the
    previous one cost at most ``SNAPSHOT_BUDGET`` of the training time since, plus the last
    epoch), so snapshots never slow training noticeably whatever the data size. ``validation``:
    the run's :class:`~tensorrec_explore.callbacks.ValidationMetrics` (or None); when its loss
    gives no validation loss, its ``loss_unavailable`` goes to the history's
    ``"val_loss_note"``. ``ready_to_push``: called (in the training thread) before a push;
    False holds it back until a later epoch (never the last push).
    """

    def __init__(
        self,
        state: Any,
        stop_event: threading.Event,
        *,
        k: int,
        history: dict,
        snapshots: list[Snapshot],
        first_epoch: int,
        snapshot_every: int,
        user_features: Any,
        item_features: Any,
        push_interval: float = 0.2,
        clock_start: float | None = None,
        dispatcher: Any = None,
        generation: int | None = None,
        validation: Any = None,
        ready_to_push: Callable[[], bool] | None = None,
    ):
        self.state = state
        self.validation = validation  # its loss_unavailable is shown once
        self.dispatcher = dispatcher
        self.generation = generation
        self.stop_event = stop_event
        self.k = k
        self.history = history
        self.snapshots = snapshots
        self.epoch = first_epoch  # epochs completed before this fit call
        self.first_epoch = first_epoch
        self.snapshot_every = snapshot_every
        self.user_features = user_features
        self.item_features = item_features
        self.push_interval = push_interval
        self.ready_to_push = ready_to_push
        self._unapplied: float | None = None  # when a push not yet applied to the state left
        self.t_begin = clock_start if clock_start is not None else time.perf_counter()
        self.t_first_point: float | None = None
        self._last_push = -np.inf
        self._snapshots_dirty = False
        self._last_snapshot = -np.inf
        #: Wall time spent in this callback (recording, snapshots, pushes): the UI's cost.
        self.seconds_inside = 0.0
        self.seconds_snapshots = 0.0
        self._snapshot_cost = 0.0

    # ---- Callback API ----
    def on_train_begin(self, model: Any, logs: dict) -> None:
        # The model resolves "auto" epochs (0 in the form) into its recipe's number.
        self._apply(_set_target, self.state, self.first_epoch + int(logs["epochs"]))
        if not self.snapshots:  # the untrained space, so the slider starts at epoch 0
            self._snapshot(model)
            self._snapshot_cost = 0.0  # the first call also traces the graph: not its cost

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        t0 = time.perf_counter()
        try:
            self._on_epoch_end(model, logs)
        finally:
            self.seconds_inside += time.perf_counter() - t0

    def _on_epoch_end(self, model: Any, logs: dict) -> None:
        self.epoch += 1
        record_epoch(self.history, self.epoch, logs, self.k)
        note = getattr(self.validation, "loss_unavailable", None)
        if note and not self.history["val_loss_note"]:  # said once per run
            self.history["val_loss_note"].append(note)
        if self._snapshot_due():
            self._snapshot(model)
        if self.stop_event.is_set():
            model.stop_training = True
        now = time.perf_counter()
        if now - self._last_push >= self.push_interval and self._may_push(now):
            self.push(now)

    def on_train_end(self, model: Any, logs: dict) -> None:
        try:
            if self.snapshots and self.snapshots[-1].epoch != self.epoch:
                self._snapshot(model)
        finally:  # also runs after an error in fit: the curves keep what was learned
            self.push(time.perf_counter())

    # ---- helpers ----
    def _may_push(self, now: float) -> bool:
        """False while the previous push waits for the kernel's thread (for ``PATIENCE_SECONDS``
        at most) or ``ready_to_push`` says the browser has not drawn it yet."""
        if self._unapplied is not None and now - self._unapplied < PATIENCE_SECONDS:
            return False
        return self.ready_to_push is None or self.ready_to_push()

    def _snapshot_due(self) -> bool:
        if self.snapshot_every:
            return self.epoch % self.snapshot_every == 0
        # auto: snapshots may cost at most SNAPSHOT_BUDGET of the training time
        return time.perf_counter() - self._last_snapshot >= self._snapshot_cost / SNAPSHOT_BUDGET

    def _snapshot(self, model: Any) -> None:
        t0 = time.perf_counter()
        users = np.asarray(model.user_representations(self.user_features), dtype=np.float32)
        items = np.asarray(model.item_representations(self.item_features), dtype=np.float32)
        self.snapshots.append(Snapshot(self.epoch, users, items))
        self._snapshots_dirty = True
        self._last_snapshot = time.perf_counter()
        self._snapshot_cost = self._last_snapshot - t0
        self.seconds_snapshots += self._snapshot_cost

    def push(self, now: float) -> None:
        """Send a copy of what was recorded to the state (one notification per trait)."""
        self._last_push = now
        done = self.epoch - self.first_epoch
        elapsed = now - self.t_begin
        update = {
            "history": {key: list(values) for key, values in self.history.items()},
            "epoch": self.epoch,
            "elapsed": elapsed,
            "epochs_per_second": done / elapsed if elapsed > 0 else 0.0,
        }
        if self._snapshots_dirty:
            update["snapshots"] = list(self.snapshots)
            self._snapshots_dirty = False
        if self.dispatcher is not None:
            self._unapplied = now
        self._apply(self._deliver, update)
        if self.t_first_point is None and self.history["epoch"]:
            self.t_first_point = now

    def _deliver(self, update: dict) -> None:
        """Apply a push to the state (on the kernel's thread)."""
        self._unapplied = None
        _update(self.state, update)

    def _apply(self, fn: Any, *args: Any) -> None:
        if self.dispatcher is None:
            fn(*args)
        else:
            self.dispatcher.call(fn, *args, generation=self.generation)


def _set_target(state: Any, target: int) -> None:
    state.target_epochs = target


def _update(state: Any, values: dict) -> None:
    with state.hold_trait_notifications():
        for name, value in values.items():
            setattr(state, name, value)
