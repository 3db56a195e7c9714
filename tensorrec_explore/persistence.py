"""Saving and loading TensorRec models: one folder, swapped in whole, read as data only.

The folder holds ``config.json`` (hyperparameters, serialized plug-ins, counters and the sha256
of the two arrays files), ``weights.npz`` (every variable by name, and the optimizer's state) and
``data.npz`` (the fitted feature matrices and training interactions); see
:mod:`~tensorrec_explore.saved_state` for what lets ``fit_partial`` continue after ``load`` and
for format 1.

Saving writes a staging folder beside the target, reads it back (the same checks as a load, and
the same scores for a sample of users) and only then swaps it in; see
:mod:`~tensorrec_explore.model_folder` for what a save may replace, the lock and crash recovery.
Loading resolves classes by the trust rule of :mod:`~tensorrec_explore.safe_classes`; anything
wrong with the folder (missing, corrupt, truncated, foreign, another format version, a config
that does not match the weights) raises :class:`~tensorrec_explore.errors.ModelFileError` naming
the path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp

from . import model_folder, saved_state, settings
from .errors import InputError, ModelFileError
from .fitting import fitted
from .safe_classes import TrustRule

FORMAT_VERSION = 2
_ARRAY_FILES = ("weights.npz", "data.npz")
#: Users whose scores the read-back of a save compares with the model's own.
READ_BACK_USERS = 16


def _object_path(obj: Any) -> dict[str, Any]:
    cls = type(obj)
    if "<locals>" in cls.__qualname__:
        raise ModelFileError(
            f"Cannot save {cls.__qualname__}: classes defined inside functions cannot be imported "
            "back. Define it at module level."
        )
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "config": config}


def _deserialize_layer(config: Any, rule: TrustRule, path: Path, what: str) -> Any:
    rule.check_keras_config(config, path, what)
    try:
        return keras.saving.deserialize_keras_object(config, safe_mode=rule.safe_mode)
    except (TypeError, ValueError, ModuleNotFoundError, AttributeError, KeyError) as error:
        name = config.get("class_name") if isinstance(config, dict) else config
        raise ModelFileError(
            f"The model at {path}: its {what} uses the class {name!r}, which Keras cannot build "
            f"({error}). Import the module defining it, decorated with "
            "@keras.saving.register_keras_serializable(), before TensorRec.load()."
        ) from error


def _sparse_arrays(prefix: str, matrix: sp.csr_matrix | None) -> dict[str, np.ndarray]:
    if matrix is None:
        return {}
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.array(matrix.shape),
    }


def _sparse_from(arrays: dict[str, np.ndarray], prefix: str) -> sp.csr_matrix | None:
    if f"{prefix}_data" not in arrays:
        return None
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(arrays[f"{prefix}_shape"]),
    )


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _write_synced(file: Path, write: Any) -> None:
    with open(file, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _write(model: Any, staging: Path) -> None:
    state = fitted(model)
    network = state.network
    config = {
        "format": FORMAT_VERSION,
        "library": "tensorrec_explore",
        "params": {name: getattr(model, name) for name in settings.saved_scalars()},
        "user_representation": keras.saving.serialize_keras_object(network.user_layers[0]),
        "item_representation": keras.saving.serialize_keras_object(network.item_layer),
        "prediction": _object_path(state.prediction),
        "loss": _object_path(state.loss),
        **saved_state.state_config(state),
    }
    weights = saved_state.state_arrays(state)
    user_matrix = None if state.user_table.is_identity else state.user_table.matrix
    item_matrix = None if state.item_table.is_identity else state.item_table.matrix
    data = {
        **_sparse_arrays("user_features", user_matrix),
        **_sparse_arrays("item_features", item_matrix),
        **_sparse_arrays("train", state.train_interactions),
    }
    _write_synced(staging / "weights.npz", lambda f: np.savez(f, **weights))
    _write_synced(staging / "data.npz", lambda f: np.savez(f, **data))
    config["checksums"] = {name: _sha256(staging / name) for name in _ARRAY_FILES}
    text = json.dumps(config, indent=2, default=_json_default)
    _write_synced(staging / "config.json", lambda f: f.write(text.encode("utf-8")))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise ModelFileError(f"Cannot save the parameter value {value!r} as JSON.")


def _own_modules(model: Any) -> tuple[str, ...]:
    """The modules of the model's own plug-in classes (trusted when its save is read back)."""
    state = fitted(model)
    objects = (state.prediction, state.loss, *state.network.user_layers, state.network.item_layer)
    return tuple({type(obj).__module__ for obj in objects})


def _read_back(model: Any, staging: Path) -> None:
    """Raise ModelFileError unless ``staging`` loads and scores like ``model``."""
    try:
        copy = _read(type(model), staging, TrustRule(True, _own_modules(model)))
    except ModelFileError as error:
        raise ModelFileError(
            f"The model cannot be saved: its saved copy does not load back "
            f"({error}). Nothing was replaced."
        ) from error
    users = np.linspace(0, model.n_users_ - 1, min(READ_BACK_USERS, model.n_users_)).astype(int)
    if not np.allclose(
        copy.score_users(users), model.score_users(users), rtol=1e-4, atol=1e-5, equal_nan=True
    ):
        raise ModelFileError(
            "The model cannot be saved: its saved copy scores differently from the model (a "
            "custom representation whose get_config() misses a setting?). Nothing was replaced."
        )


def save(model: Any, path: Path) -> Path:
    """Write ``model`` to the folder ``path`` and return its absolute path.

    ``path`` may be new, an empty folder or a previous model; anything else raises
    ModelFileError before anything is written. The new model replaces the old one only once it
    has been written, synced and read back.
    """
    path = path.expanduser().absolute()
    model_folder.check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with model_folder.locked(path):
        model_folder.recover(path)
        model_folder.check_target(path)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            _write(model, staging)
            _read_back(model, staging)
            model_folder.swap_in(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return path


def load(
    cls: type, path: Path, *, safe_mode: bool = True, allowed_modules: tuple[str, ...] = ()
) -> Any:
    """Return the model saved in the folder ``path`` (see the module docstring)."""
    path = Path(path).expanduser()
    rule = TrustRule(bool(safe_mode), tuple(allowed_modules))
    with model_folder.locked(path, required=False):
        with contextlib.suppress(OSError):  # e.g. a read-only folder: nothing to recover there
            model_folder.recover(path)
        return _read(cls, path, rule)


def _read_arrays(path: Path, name: str, checksums: dict[str, str]) -> dict[str, np.ndarray]:
    file = path / name
    expected = checksums.get(name)
    if expected is not None and _sha256(file) != expected:
        raise ModelFileError(
            f"The model at {path} is corrupt: {name} does not match the "
            "checksum recorded in config.json. Save the model again."
        )
    with np.load(file, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def _read_config(path: Path) -> dict[str, Any]:
    if path.exists() and not path.is_dir():
        raise ModelFileError(f"{path} is a file, not a saved TensorRec model folder.")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if not isinstance(config, dict) or "format" not in config:
        raise ModelFileError(f"{path}/config.json is not a TensorRec model's configuration.")
    version = config["format"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{path}: format {version!r} is not a TensorRec model format.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was saved in format {version} by a newer tensorrec_explore; this version "
            f"reads formats 1 to {FORMAT_VERSION}. Upgrade tensorrec_explore to load it."
        )
    if version < 1:
        raise ModelFileError(f"{path}: format {version} is older than any released format.")
    missing = [
        key
        for key in (
            "params",
            "user_representation",
            "item_representation",
            "prediction",
            "loss",
            *(saved_state.CONFIG_KEYS if version >= 2 else saved_state.CONFIG_KEYS[:2]),
        )
        if key not in config
    ]
    if missing or not isinstance(config["params"], dict):
        raise ModelFileError(
            f"{path}/config.json lacks {missing or ['params']}; it is incomplete "
            "or was not written by TensorRec.save()."
        )
    return config


def _read(cls: type, path: Path, rule: TrustRule) -> Any:
    try:
        config = _read_config(path)
        checksums = config.get("checksums") if isinstance(config.get("checksums"), dict) else {}
        weights = _read_arrays(path, "weights.npz", checksums)
        data = _read_arrays(path, "data.npz", checksums)
    except FileNotFoundError as error:
        raise ModelFileError(
            f"No saved TensorRec model at {path} (missing {Path(error.filename).name}); save one "
            "with model.save(path)."
        ) from error
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError, KeyError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"The model at {path} is corrupt or truncated: {error}") from error
    return _assemble(cls, path, rule, config, weights, data)


def _assemble(
    cls: type,
    path: Path,
    rule: TrustRule,
    config: dict[str, Any],
    weights: dict[str, np.ndarray],
    data: dict[str, np.ndarray],
) -> Any:
    from .fitting import start
    from .losses import Loss
    from .predictions import Prediction

    parts = {
        "user_representation": _deserialize_layer(
            config["user_representation"], rule, path, "user representation"
        ),
        "item_representation": _deserialize_layer(
            config["item_representation"], rule, path, "item representation"
        ),
        "prediction": rule.resolve(config["prediction"], Prediction, path, "prediction"),
        "loss": rule.resolve(config["loss"], Loss, path, "loss"),
    }
    try:
        model = cls(**config["params"], **parts)
        model._check_params()
        train = _sparse_from(data, "train")
        if train is None:
            raise ModelFileError(f"The model at {path} has no training matrix in data.npz.")
        state = start(
            model, train, _sparse_from(data, "user_features"), _sparse_from(data, "item_features")
        )
    except (InputError, TypeError, ValueError, KeyError) as error:
        raise ModelFileError(
            f"The model at {path} has an invalid configuration: {error}"
        ) from error
    try:
        saved_state.restore(state, config, weights, path)
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"The model at {path} has an invalid configuration: {error}"
        ) from error
    width = model.item_representations().shape[-1]
    if model.n_components is not None and width != model.n_components:
        raise ModelFileError(
            f"The model at {path}: its representations have width {width} but config.json says "
            f"n_components={model.n_components}; config.json and weights.npz do not belong "
            "together."
        )
    return model
