"""The records the explorer passes between its parts: a training job, a mark on the curves, a
training snapshot, its 2-D projection and the runs table's record of a run. Frozen: a new value
replaces an old one in the state, so observers always see a change, never an edit in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class TrainingJob:
    """What a Train or Resume click hands to the run's thread.

    ``config`` is the run's configuration (the model's own on Resume), ``kwargs`` the model's
    constructor arguments; on Resume, ``model`` and ``data`` are the ones to continue with and
    ``first_epoch`` the epoch reached. ``t_click`` is the click's ``time.perf_counter()``.
    """

    run_id: int
    resume: bool
    config: dict[str, Any]
    kwargs: dict[str, Any]
    model: Any = None
    data: dict[str, Any] | None = None
    first_epoch: int = 0
    t_click: float = 0.0


@dataclass(frozen=True)
class CurveMark:
    """A vertical mark on the curves after ``epoch``: ``label`` is "stopped" or "resumed"."""

    epoch: int
    label: str


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The representations of every user and item after ``epoch`` epochs (0 = untrained).

    ``users`` is float32 ``[n_users, n_components]``, or ``[n_users, n_tastes, n_components]``
    with several tastes; ``items`` is float32 ``[n_items, n_components]``.
    """

    epoch: int
    users: np.ndarray
    items: np.ndarray

    @property
    def n_tastes(self) -> int:
        """Vectors per user (1 unless the model has several tastes)."""
        return self.users.shape[1] if self.users.ndim == 3 else 1


@dataclass(frozen=True, eq=False)
class Projection:
    """A snapshot laid out in 2-D: float32 ``users [n_users * n_tastes, 2]`` (a user's tastes
    consecutive) and ``items [n_items, 2]``, with the ``seconds`` it took."""

    users: np.ndarray
    items: np.ndarray
    seconds: float
    n_tastes: int = 1


@dataclass(frozen=True)
class RunRecord:
    """One row of the runs table: the run's id, the configuration it ran with (values actually
    used; ``epochs`` = the total reached), its final metrics (with ``"final loss"`` and
    ``"final regularisation"``), its history (log name -> values per epoch) and its seconds."""

    run: int
    config: dict[str, Any]
    metrics: dict[str, float]
    history: dict[str, list]
    seconds: float


def run_record(
    run_id: int,
    config: dict[str, Any],
    metrics: dict[str, float],
    history: dict[str, list],
    seconds: float,
    epochs: int,
    previous: RunRecord | None = None,
) -> RunRecord:
    """Return the runs table's record of a finished (or stopped) run.

    Parameters
    ----------
    run_id, config, metrics, history
        The run's id, configuration, final metrics and history (log name -> values per epoch).
    seconds
        Training time of this part of the run.
    epochs
        Epochs reached in total (stored as ``config["epochs"]``).
    previous
        The run's record before a Resume: its seconds are added to ``seconds``.

    Returns
    -------
    RunRecord
        With the last ``loss`` and ``regularization`` of ``history`` added to the metrics as
        ``"final loss"`` and ``"final regularisation"`` (NaN when absent).
    """
    last = {k: (v[-1] if v else np.nan) for k, v in history.items()}
    return RunRecord(
        run=run_id,
        config=dict(config, epochs=epochs),
        metrics={
            **metrics,
            "final loss": last.get("loss", np.nan),
            "final regularisation": last.get("regularization", np.nan),
        },
        history=history,
        seconds=seconds + (previous.seconds if previous else 0.0),
    )
