"""Saving and loading TensorRec models: a folder written atomically (temp folder, then rename).

The folder holds ``config.json`` (hyperparameters and serialized plug-ins), ``weights.npz``
(every variable, in a fixed order) and ``data.npz`` (the fitted feature matrices and training
interactions). Custom representations go through Keras serialization; custom predictions and
losses are stored by import path; a class that cannot be found raises
:class:`~tensorrec_explore.errors.ModelFileError` saying what to import.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp

from .errors import ModelFileError
from .registry import import_path

FORMAT_VERSION = 1
_SCALARS = ("n_components", "biased", "n_tastes", "learning_rate", "learning_rate_schedule", "l2", "epochs", "batch_size",
            "n_sampled_items", "random_state")


def _object_path(obj: Any) -> dict[str, Any]:
    cls = type(obj)
    if "<locals>" in cls.__qualname__:
        raise ModelFileError(
            f"Cannot save {cls.__qualname__}: classes defined inside functions cannot be imported "
            "back. Define it at module level."
        )
    config = obj.get_config() if hasattr(obj, "get_config") else {}
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "config": config}


def _import_object(spec: dict[str, Any], what: str) -> Any:
    try:
        target = import_path(spec["class"])
    except (ImportError, AttributeError, ValueError) as error:
        raise ModelFileError(
            f"The saved model's {what} is {spec['class']!r}, which cannot be imported ({error}). "
            "Import the module that defines it (or define the class) before TensorRec.load()."
        ) from error
    config = spec.get("config") or {}
    return target.from_config(config) if hasattr(target, "from_config") else target(**config)


def _serialize_layer(layer: Any) -> dict[str, Any]:
    return keras.saving.serialize_keras_object(layer)


def _deserialize_layer(config: dict[str, Any], what: str) -> Any:
    try:
        return keras.saving.deserialize_keras_object(config)
    except (TypeError, ValueError, ModuleNotFoundError, AttributeError) as error:
        name = config.get("class_name") if isinstance(config, dict) else config
        raise ModelFileError(
            f"The saved model's {what} uses the class {name!r}, which Keras cannot find "
            f"({error}). Import the module defining it, decorated with "
            "@keras.saving.register_keras_serializable(), before TensorRec.load()."
        ) from error


def _sparse_arrays(prefix: str, matrix: sp.csr_matrix | None) -> dict[str, np.ndarray]:
    if matrix is None:
        return {}
    return {f"{prefix}_data": matrix.data, f"{prefix}_indices": matrix.indices,
            f"{prefix}_indptr": matrix.indptr, f"{prefix}_shape": np.array(matrix.shape)}


def _sparse_from(arrays: Any, prefix: str) -> sp.csr_matrix | None:
    if f"{prefix}_data" not in arrays:
        return None
    return sp.csr_matrix((arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"],
                          arrays[f"{prefix}_indptr"]), shape=tuple(arrays[f"{prefix}_shape"]))


def save(model: Any, path: Path) -> Path:
    """Write ``model`` to the folder ``path`` (replacing it only once the new copy is complete)."""
    network = model.network_
    config = {
        "format": FORMAT_VERSION,
        "params": {name: getattr(model, name) for name in _SCALARS},
        "user_representation": _serialize_layer(network.user_layers[0]),
        "item_representation": _serialize_layer(network.item_layer),
        "prediction": _object_path(model.prediction_),
        "loss": _object_path(model.loss_),
        "epochs_done": model.epochs_done_,
        "l2_used": model.l2_,
    }
    text = json.dumps(config, indent=2, default=_json_default)
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        (staging / "config.json").write_text(text)
        np.savez(staging / "weights.npz",
                 **{f"w{i}": v.numpy() for i, v in enumerate(network.all_variables)})
        user_matrix = None if model.user_table_.is_identity else model.user_table_.matrix
        item_matrix = None if model.item_table_.is_identity else model.item_table_.matrix
        np.savez(staging / "data.npz", **_sparse_arrays("user_features", user_matrix),
                 **_sparse_arrays("item_features", item_matrix),
                 **_sparse_arrays("train", model.train_interactions_))
        _replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise ModelFileError(f"Cannot save the parameter value {value!r} as JSON.")


def _replace(staging: Path, path: Path) -> None:
    """Move ``staging`` to ``path``; an existing ``path`` is removed only after the move."""
    if not path.exists():
        os.replace(staging, path)
        return
    backup = path.with_name(f".{path.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    os.replace(path, backup)
    os.replace(staging, path)
    shutil.rmtree(backup, ignore_errors=True)


def load(cls: type, path: Path) -> Any:
    """Return the model saved in the folder ``path``."""
    path = Path(path).expanduser()
    try:
        config = json.loads((path / "config.json").read_text())
        weights = np.load(path / "weights.npz")
        data = np.load(path / "data.npz")
    except FileNotFoundError as error:
        raise ModelFileError(
            f"No saved TensorRec model at {path} (missing {Path(error.filename).name}); save one "
            "with model.save(path)."
        ) from error
    except (ValueError, OSError) as error:
        raise ModelFileError(f"The saved model at {path} is corrupt: {error}") from error
    if config.get("format") != FORMAT_VERSION:
        raise ModelFileError(f"{path} has format {config.get('format')!r}; expected {FORMAT_VERSION}.")
    model = cls(
        **config["params"],
        user_representation=_deserialize_layer(config["user_representation"], "user representation"),
        item_representation=_deserialize_layer(config["item_representation"], "item representation"),
        prediction=_import_object(config["prediction"], "prediction"),
        loss=_import_object(config["loss"], "loss"),
    )
    train = _sparse_from(data, "train")
    model._build(train, _sparse_from(data, "user_features"), _sparse_from(data, "item_features"))
    variables = model.network_.all_variables
    if len(variables) != len(weights.files):
        raise ModelFileError(
            f"{path} holds {len(weights.files)} weights but the model has {len(variables)}; the "
            "custom representation probably changed since it was saved."
        )
    for i, variable in enumerate(variables):
        variable.assign(weights[f"w{i}"])
    model.train_interactions_ = train
    model.epochs_done_ = int(config["epochs_done"])
    model.l2_ = float(config["l2_used"])
    return model
