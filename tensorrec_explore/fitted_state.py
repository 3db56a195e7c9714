"""A TensorRec's fitted state: built aside, swapped in one step, one training at a time.

``fit`` trains a *shadow* model (same settings, fresh state) while the fitted state keeps
answering ``recommend`` / ``predict``; only a successful fit swaps the shadow's state in, under
the lock every reading method holds, so a reader sees the old state or the new one, never a mix.
A second ``fit`` / ``fit_partial`` while one runs raises
:class:`~tensorrec_explore.errors.TrainingError` (a model trains in one thread at a time).
``fit_partial`` trains in place (readers see the weights move) but a failed call puts the
weights back as they were (the optimizer's moments are not restored).
After the last update, :func:`check_finite` makes sure weights and a sample of scores are finite.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from .errors import TrainingError

#: Private attributes that belong to the fitted state (besides the public ones ending in ``_``).
_PRIVATE_STATE = ("_rng", "_item_cache", "_trainer", "_trainer_key", "_fold_in", "_stream")
#: Learning rates outside this range are warned about (Adam steps that diverge or barely move).
SAFE_RATES = (1e-5, 1.0)
#: Users whose scores are checked for finiteness after training.
CHECKED_USERS = 64

F = TypeVar("F", bound=Callable[..., Any])


def reading(method: F) -> F:
    """Decorate a method that reads the fitted state: it never sees a half-swapped state."""

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._state_lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class FittedStateMixin:
    """The guards of the fitted state; TensorRec calls :meth:`_init_guards` in ``__init__``."""

    def _init_guards(self) -> None:
        self._fit_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._stop = threading.Event()

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave the locks out (each copy gets its own)."""
        return {
            k: v for k, v in vars(self).items() if k not in ("_fit_lock", "_state_lock", "_stop")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_guards()

    @property
    def stop_training(self) -> bool:
        """Set to True (e.g. by a callback, or from another thread) to stop after this epoch."""
        return self._stop.is_set()

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self._stop.set() if value else self._stop.clear()

    @contextlib.contextmanager
    def _training(self) -> Iterator[None]:
        if not self._fit_lock.acquire(blocking=False):
            raise TrainingError(
                "This model is already training (fit or fit_partial running in another thread); "
                "wait for it to finish, stop it with model.stop_training = True, or train "
                "another TensorRec."
            )
        try:
            yield
        finally:
            self._fit_lock.release()

    @contextlib.contextmanager
    def _undo_on_failure(self) -> Iterator[None]:
        """Train in place; on an error put back the weights and Adam's state (or the unfitted
        state) as they were."""
        fitted = hasattr(self, "network_")
        variables = list(self.network_.all_variables) if fitted else []
        optimizer = getattr(self, "optimizer_", None)
        if fitted and optimizer is not None:
            variables += list(optimizer.variables)
        weights = [v.numpy() for v in variables]
        epochs_done = getattr(self, "epochs_done_", 0)
        try:
            yield
        except BaseException:
            with self._state_lock:
                if not fitted:
                    for name in self._fitted_names():
                        delattr(self, name)
                else:
                    for variable, value in zip(variables, weights, strict=True):
                        variable.assign(value)
                    self.epochs_done_, self._item_cache = epochs_done, None
            raise

    def _fitted_names(self) -> list[str]:
        return [
            name
            for name in vars(self)
            if (name.endswith("_") and not name.startswith("__")) or name in _PRIVATE_STATE
        ]

    def _shadow(self) -> Any:
        """Return an unfitted model with the same settings and the same stop flag."""
        shadow = object.__new__(type(self))
        shadow.__dict__.update(
            {k: v for k, v in vars(self).items() if k not in self._fitted_names()}
        )
        shadow._init_guards()
        shadow._stop = self._stop
        return shadow

    def _adopt(self, shadow: Any) -> None:
        """Swap ``shadow``'s fitted state in, in one step under the state lock."""
        state = {name: vars(shadow)[name] for name in shadow._fitted_names()}
        with self._state_lock:
            for name in self._fitted_names():
                if name not in state:
                    delattr(self, name)
            self.__dict__.update(state)


def warn_extreme_rate(rate: float) -> None:
    """Warn when Adam's ``rate`` is likely to diverge or to barely move the weights."""
    low, high = SAFE_RATES
    if rate > high:
        warnings.warn(
            f"learning_rate={rate:g} is extreme: Adam steps above {high:g} usually "
            "diverge. Try 0.01-0.2.",
            UserWarning,
            stacklevel=4,
        )
    elif rate < low:
        warnings.warn(
            f"learning_rate={rate:g} is tiny: the weights will barely move. Try 0.01-0.2.",
            UserWarning,
            stacklevel=4,
        )


def check_losses(model: Any, data: float, reg: float) -> None:
    """Raise TrainingError when an epoch's mean ``data`` loss or ``reg`` is not finite."""
    if not (np.isfinite(data) and np.isfinite(reg)):
        raise TrainingError(
            f"Training diverged (loss={data}, regularization={reg}) at epoch "
            f"{model.epochs_done_}; lower the learning_rate (now {model.learning_rate_})."
        )


def check_finite(model: Any) -> None:
    """Raise TrainingError when ``model``'s weights or a sample of its scores are not finite."""
    bad = [v.name for v in model.network_.all_variables if not np.isfinite(v.numpy()).all()]
    users = np.linspace(0, model.n_users_ - 1, min(CHECKED_USERS, model.n_users_)).astype(int)
    if not bad and np.isfinite(model.score_users(users)).all():
        return
    where = f"weights {bad[:3]}" if bad else "scores"
    raise TrainingError(
        f"Training diverged: non-finite {where} after epoch {model.epochs_done_}. Lower the "
        f"learning_rate (now {model.learning_rate_:g}) or raise l2. A failed fit keeps the "
        "previous fitted state."
    )
