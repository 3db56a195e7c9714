"""What a model folder keeps of a fitted state besides its settings: weights, Adam, counters.

Format 2 stores every network weight under a stable name
(:meth:`~tensorrec_explore.network.TwoTower.named_variables`, e.g. ``item_tower/0_kernel``),
Adam's variables as ``optimizer/<index>_<name>`` (step count, moments), and in ``config.json``
the epoch counter, the L2 weight used and the random generator's state, so ``fit_partial`` after
``load`` continues exactly where training stopped, and the training history (``history_``: each
epoch's numeric logs, validation loss and metrics included; optional when reading). Format 1
(numbered ``w<i>`` weights, no optimizer, no generator) still loads, with a DeprecationWarning:
its training continues with a fresh Adam and generator.
"""

from __future__ import annotations

import numbers
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError

#: Prefix of the optimizer's arrays in ``weights.npz``.
OPTIMIZER = "optimizer/"
#: ``config.json`` keys written here (format 2 requires them all).
CONFIG_KEYS = ("epochs_done", "l2_used", "rng_state")


def state_config(state: Any) -> dict[str, Any]:
    """Return the JSON-ready counters of ``state``: epochs done, L2 used, generator state, and
    its training history (each epoch's numeric logs)."""
    history = state.history
    return {
        "epochs_done": state.epochs_done,
        "l2_used": state.l2,
        "rng_state": state.rng.bit_generator.state,
        "history": {
            "epochs": [int(epoch) for epoch in history.epochs],
            "logs": [
                {key: float(value) for key, value in log.items() if _is_number(value)}
                for log in history.logs
            ],
        },
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _restore_history(state: Any, saved: Any, path: Path) -> None:
    """Put a saved training history (optional: older folders have none) into ``state``."""
    try:
        epochs = [int(epoch) for epoch in saved["epochs"]]
        logs = [{str(key): float(value) for key, value in log.items()} for log in saved["logs"]]
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        raise ModelFileError(
            f"The model at {path}: its training history is invalid ({error})."
        ) from error
    if len(epochs) != len(logs):
        raise ModelFileError(
            f"The model at {path}: its training history is invalid: {len(epochs)} epochs but "
            f"{len(logs)} logs (config.json was edited or truncated)."
        )
    state.history.epochs, state.history.logs = epochs, logs


def state_arrays(state: Any) -> dict[str, np.ndarray]:
    """Return every weight of ``state``'s network by name, then Adam's variables in order."""
    arrays = {name: v.numpy() for name, v in state.network.named_variables().items()}
    for index, variable in enumerate(state.optimizer.variables):
        arrays[f"{OPTIMIZER}{index}_{_short(variable)}"] = variable.numpy()
    return arrays


def restore(state: Any, config: dict[str, Any], arrays: dict[str, np.ndarray], path: Path) -> None:
    """Put the saved weights, optimizer and counters into a freshly built ``state``.

    Raises
    ------
    ModelFileError
        When a weight is missing, unexpected, of another shape or not finite, or the
        optimizer or generator state does not fit the model (the message names ``path``).
    """
    network = state.network
    if config["format"] == 1:
        warnings.warn(
            f"The model at {path} was saved in format 1 (no optimizer state): fit_partial will "
            "continue with a fresh Adam. Save it again to store the current format.",
            DeprecationWarning,
            stacklevel=6,  # restore < _assemble < _read < load < TensorRec.load < caller
        )
        expected = {f"w{i}": v for i, v in enumerate(network.all_variables)}
    else:
        expected = network.named_variables()
    weights = {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER)}
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"The model at {path} holds weights {unexpected[:3]} its configuration does not "
            f"build, and lacks {missing[:3]}; config.json and weights.npz do not belong "
            "together (or a custom representation changed since it was saved)."
        )
    for name, variable in expected.items():
        _assign(variable, weights[name], name, path, np.floating)
    optimizer = sorted(
        (int(k[len(OPTIMIZER) :].split("_", 1)[0]), k) for k in arrays if k.startswith(OPTIMIZER)
    )
    if optimizer:
        _restore_optimizer(state, [(key, arrays[key]) for _, key in optimizer], path)
    state.epochs_done, state.l2 = int(config["epochs_done"]), float(config["l2_used"])
    if "history" in config:
        _restore_history(state, config["history"], path)
    if "rng_state" in config:
        try:
            state.rng.bit_generator.state = config["rng_state"]
        except (TypeError, ValueError, KeyError) as error:
            raise ModelFileError(
                f"The model at {path}: its random generator state is invalid ({error})."
            ) from error


def _restore_optimizer(state: Any, saved: list[tuple[str, np.ndarray]], path: Path) -> None:
    optimizer = state.optimizer
    if len(saved) != len(optimizer.variables):  # saved after training: build Adam's slots
        optimizer.build(state.network.trainable_variables)
    if len(saved) != len(optimizer.variables):
        raise ModelFileError(
            f"The model at {path} holds {len(saved)} optimizer arrays but its configuration "
            f"builds {len(optimizer.variables)}; config.json and weights.npz do not belong "
            "together."
        )
    for (name, array), variable in zip(saved, optimizer.variables, strict=True):
        _assign(variable, array, name, path, np.number)


def _assign(variable: Any, array: np.ndarray, name: str, path: Path, kind: type) -> None:
    if tuple(array.shape) != tuple(variable.shape):
        raise ModelFileError(
            f"The model at {path}: weight {name} has shape {array.shape} but the configuration "
            f"needs {tuple(variable.shape)}; config.json and weights.npz do not belong together."
        )
    if not np.issubdtype(array.dtype, kind) or not np.isfinite(array).all():
        raise ModelFileError(f"The model at {path}: weight {name} is not finite numbers.")
    variable.assign(array)


def _short(variable: Any) -> str:
    """The variable's own name, without its layer path."""
    return str(variable.name).rsplit("/", 1)[-1].replace(":", "_")
