"""A TensorRec's fitted state: built aside, swapped in one step, one training at a time.

``fit`` trains a *shadow* model (same settings, fresh state) while the fitted state keeps
answering ``recommend`` / ``predict``; only a successful fit swaps the shadow's state in, under
the lock every reading method holds, so a reader sees the old state or the new one, never a mix.
A second ``fit`` / ``fit_partial`` while one runs raises
:class:`~tensorrec_explore.errors.TrainingError` (a model trains in one thread at a time).
The fitted state is one object (:class:`~tensorrec_explore.fitting.FittedState`): adopting a
shadow's fit swaps that object. ``fit_partial`` trains in place (readers see the weights move)
but a failed call puts the weights, the optimizer's state, the epoch counter and the random
generator back as they were.
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


class FittedAttribute:
    """A public fitted attribute (``network_``...) of the model, read from its fitted state.

    Parameters
    ----------
    name
        The attribute of :class:`~tensorrec_explore.fitting.FittedState` it reads.

    Reading it on an unfitted model raises AttributeError (so ``hasattr`` says False); it is
    read-only: training changes the state, never an assignment.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, model: Any, owner: type | None = None) -> Any:
        if model is None:
            return self
        state = model._fitted
        if state is None or not hasattr(state, self.name):
            raise AttributeError(
                f"{type(model).__name__} has no {self.attribute} yet: it is set by fit()."
            )
        return getattr(state, self.name)

    def __set__(self, model: Any, value: Any) -> None:
        raise AttributeError(f"{self.attribute} is read-only: it is set by training.")


class FittedStateMixin:
    """The guards of the fitted state; TensorRec calls :meth:`_init_guards` in ``__init__``.

    The fitted state is one :class:`~tensorrec_explore.fitting.FittedState` object in
    ``_fitted`` (None until fitted), replaced only under the state lock.
    """

    _fitted: Any = None

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

    def __sklearn_is_fitted__(self) -> bool:
        """Return True once a fit succeeded (scikit-learn's ``check_is_fitted`` asks this)."""
        return self._fitted is not None

    @property
    def stop_training(self) -> bool:
        """Set to True (e.g. by a callback, or from another thread) to stop after this epoch."""
        return self._stop.is_set()

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        self._stop.set() if value else self._stop.clear()

    def _attach(self, state: Any) -> None:
        """Make ``state`` the fitted state, in one step under the state lock."""
        with self._state_lock:
            self._fitted = state

    def _train(self, work: Callable[..., Any], partial: bool, *args: Any) -> Any:
        """Run ``work(model, *args)``: in place when ``partial`` (undone on failure), else on a
        shadow whose state is adopted when it succeeds. Returns self."""
        with self._training():
            if partial:
                with self._undo_on_failure():
                    work(self, *args)
                return self
            self._check_params()
            shadow = self._shadow()
            work(shadow, *args)
            self._attach(shadow._fitted)
        return self

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
        """Train in place; on an error put back the weights, Adam's state, the epoch counter and
        the random generator (or the unfitted state) as they were."""
        state = self._fitted
        if state is not None:
            variables = [*state.network.all_variables, *state.optimizer.variables]
            weights = [v.numpy() for v in variables]
            epochs_done, rng = state.epochs_done, state.rng.bit_generator.state
        try:
            yield
        except BaseException:
            with self._state_lock:
                if state is None:
                    self._fitted = None
                else:
                    for variable, value in zip(variables, weights, strict=True):
                        variable.assign(value)
                    state.epochs_done, state.item_cache = epochs_done, None
                    state.rng.bit_generator.state = rng
            raise

    def _shadow(self) -> Any:
        """Return an unfitted model with the same settings and the same stop flag."""
        shadow = object.__new__(type(self))
        shadow.__dict__.update({k: v for k, v in vars(self).items() if k != "_fitted"})
        shadow._init_guards()
        shadow._stop = self._stop
        return shadow


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
