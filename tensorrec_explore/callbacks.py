"""Training events: the model calls these hooks; the explorer is one subscriber among others.

Epoch ``logs`` always hold ``"loss"`` (mean data loss of the epoch), ``"regularization"``,
``"total"``, ``"elapsed"`` (seconds since the fit call began) and ``"epoch_seconds"``; epochs
on which :class:`ValidationMetrics` ran add ``"val_precision@k"``, ``"val_recall@k"``,
``"val_ndcg@k"`` and, when the loss allows it, ``"val_loss"`` (the data loss on the held-out
interactions, :mod:`tensorrec_explore.validation_loss`). A callback stops training by setting
``model.stop_training = True``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InputError, ValidationLossUnavailable


class Callback:
    """Base class: override any hook. Hooks run in the training thread, in list order."""

    def on_train_begin(self, model: Any, logs: dict) -> None:
        """Called when ``fit`` / ``fit_partial`` starts.

        Parameters
        ----------
        model : TensorRec
            The model being trained.
        logs : dict
            Holds ``"epochs"``: the number of epochs planned.
        """

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        """Called after each epoch.

        Parameters
        ----------
        model
            As in :meth:`on_train_begin`.
        epoch : int
            The epoch's number: 0 at ``fit``'s first epoch, continuing across ``fit_partial``.
        logs : dict
            The epoch's logs (see the module's docstring); a hook may add keys for the
            callbacks after it.
        """

    def on_train_end(self, model: Any, logs: dict) -> None:
        """Called when training ends, normally or stopped.

        Parameters
        ----------
        model
            As in :meth:`on_train_begin`.
        logs : dict
            Holds ``"stopped"``, True when a callback set ``model.stop_training``.
        """


class History(Callback):
    """Records every epoch's logs; ``model.history_`` is one (kept across ``fit_partial``)."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.logs: list[dict] = []

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)
        self.logs.append(dict(logs))

    def series(self, key: str) -> np.ndarray:
        """Return one log key's values over the recorded epochs.

        Parameters
        ----------
        key : str
            A logs key, e.g. ``"loss"`` or ``"val_ndcg@10"``.

        Returns
        -------
        numpy.ndarray
            float64, one value per epoch (NaN where an epoch lacks the key).
        """
        return np.array([log.get(key, math.nan) for log in self.logs], dtype=np.float64)


class ValidationMetrics(Callback):
    """Adds validation precision / recall / NDCG @k and the validation loss to the logs every
    ``every`` epochs.

    The keys are ``"val_precision@k"``, ``"val_recall@k"`` and ``"val_ndcg@k"`` (the model's
    training interactions are excluded from the ranking), and ``"val_loss"``: the model's data
    loss, without regularisation, on the held-out interactions, with the training interactions
    not masked so that it compares with the training ``"loss"``, and sampled items drawn from
    the fixed ``seed`` so that it compares between epochs
    (:func:`tensorrec_explore.validation_loss.validation_loss` defines it exactly). When the
    loss cannot give it (e.g. a loss comparing likes with dislikes and no held-out dislike, or a
    custom loss whose ``call`` fails on the held-out batches) no ``"val_loss"`` is logged and
    ``loss_unavailable`` says why.

    Parameters
    ----------
    test : scipy.sparse matrix or numpy.ndarray
        (n_users, n_items) held-out interactions: values > 0 are the positives the metrics
        rank; the validation loss also reads dislikes (< 0).
    k : int, default 10
        The cut-off of the metrics.
    every : int, default 1
        Evaluate after every ``every``-th epoch.
    with_loss : bool, default True
        Also log ``"val_loss"`` (when the loss allows it).
    seed : int, default 0
        Seed of the validation loss's sampled items.

    Attributes
    ----------
    loss_unavailable : str or None
        "validation loss not available for <loss>: <why>" once the loss proved it cannot give
        one (then it is not tried again), else None.

    Raises
    ------
    InputError
        If ``test`` is not a sparse matrix or an array, or ``k`` / ``every`` is not positive.
    """

    def __init__(
        self, test: Any, k: int = 10, every: int = 1, with_loss: bool = True, seed: int = 0
    ) -> None:
        if not sp.issparse(test) and not isinstance(test, np.ndarray):
            raise InputError(
                f"validation must be a sparse (n_users, n_items) matrix of held-out positives, "
                f"got {type(test).__name__}."
            )
        if int(k) <= 0 or int(every) <= 0:
            raise InputError(f"k and every must be positive, got k={k!r}, every={every!r}.")
        self.test = sp.csr_matrix(test)
        self.k = int(k)
        self.every = int(every)
        self.with_loss = bool(with_loss)
        self.seed = int(seed)
        self.loss_unavailable: str | None = None

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        if (epoch + 1) % self.every:
            return
        from .metrics import evaluate

        report = evaluate(model, self.test, train=model.train_interactions_, k=self.k)
        for name in ("precision", "recall", "ndcg"):
            logs[f"val_{name}@{self.k}"] = float(report.summary[f"{name}@{self.k}"])
        if self.with_loss and self.loss_unavailable is None:
            from .validation_loss import validation_loss

            try:
                logs["val_loss"] = validation_loss(model, self.test, self.seed)
            except ValidationLossUnavailable as error:
                self.loss_unavailable = str(error)


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` checks.

    Epochs without the key (validation skipped) are ignored.

    Parameters
    ----------
    monitor : str, default "loss"
        A logs key. Keys containing ``loss`` (``"loss"``, ``"val_loss"``) and keys not starting
        with ``val_`` (``"total"``...) are minimised; the other ``val_`` keys (metrics such as
        ``"val_ndcg@10"``) are maximised.
    patience : int, default 3
        How many checks without improvement stop training.
    min_delta : float, default 0.0
        The smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str = "loss", patience: int = 3, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best = math.inf
        self.waited = 0
        #: True when a higher value of ``monitor`` is better.
        self.maximised = monitor.startswith("val_") and "loss" not in monitor

    def on_train_begin(self, model: Any, logs: dict) -> None:
        self.best, self.waited = math.inf, 0

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        if self.monitor not in logs:
            return
        value = -logs[self.monitor] if self.maximised else logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            model.stop_training = True


class ProgressBar(Callback):
    """A ``tqdm.auto`` bar over epochs showing the loss and the latest validation metrics."""

    def __init__(self) -> None:
        self.bar: Any = None

    def on_train_begin(self, model: Any, logs: dict) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=logs.get("epochs"), unit="epoch", desc="TensorRec")

    def on_epoch_end(self, model: Any, epoch: int, logs: dict) -> None:
        shown = {
            key: f"{value:.4g}"
            for key, value in logs.items()
            if key == "loss" or key.startswith("val_")
        }
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, model: Any, logs: dict) -> None:
        if self.bar is not None:
            self.bar.close()


def callback_chain(model: Any, callbacks: Any, verbose: bool, validation: Any) -> list[Callback]:
    """Return the callbacks of one training call, in the order they run.

    Parameters
    ----------
    model : TensorRec
        The model being trained (its ``history_``, ``n_users_`` and ``n_items_`` are read).
    callbacks : list of Callback or None
        The user's callbacks.
    verbose : bool
        Add a :class:`ProgressBar`.
    validation : ValidationMetrics, matrix or None
        Held-out positives (wrapped in a :class:`ValidationMetrics`), or the callback itself.

    Returns
    -------
    list of Callback
        Validation, ``model.history_``, the user's callbacks, then the progress bar.

    Raises
    ------
    InputError
        If ``validation`` is malformed or its shape differs from the model's.
    """
    chain: list[Callback] = []
    if validation is not None:
        chain.append(
            validation
            if isinstance(validation, ValidationMetrics)
            else ValidationMetrics(validation)
        )
        if chain[-1].test.shape != (model.n_users_, model.n_items_):
            raise InputError(
                f"validation has shape {chain[-1].test.shape} but the interactions have "
                f"{(model.n_users_, model.n_items_)}."
            )
    chain.append(model.history_)
    chain.extend(callbacks or [])
    if verbose:
        chain.append(ProgressBar())
    return chain
