"""tensorrec_explore: TensorRec on TensorFlow 2, with an interactive Jupyter explorer.

Importing this package is cheap: TensorFlow loads only when a model class is first touched
(``tensorrec_explore.TensorRec``), and the widget stack only inside ``tensorrec_explore.explorer``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    DataNotFoundError,
    InputError,
    LeakageError,
    ModelFileError,
    NotFittedError,
    TensorRecError,
    TrainingError,
    UnknownPluginError,
)
from .quiet import install as _quiet_tensorflow
from .registry import (
    LOSSES,
    PREDICTIONS,
    REPRESENTATIONS,
    register_loss,
    register_prediction,
    register_representation,
)

__version__ = "0.1.0"

_quiet_tensorflow()  # TensorFlow's start-up lines stay out of notebooks and logs (quiet.py)

_LAZY = {
    "TensorRec": "tensorrec_explore.model",
    "History": "tensorrec_explore.callbacks",
    "Callback": "tensorrec_explore.callbacks",
    "EarlyStopping": "tensorrec_explore.callbacks",
    "evaluate": "tensorrec_explore.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tensorrec_explore' has no attribute {name!r}")


__all__ = [
    "LOSSES",
    "PREDICTIONS",
    "REPRESENTATIONS",
    "Callback",
    "DataNotFoundError",
    "EarlyStopping",
    "History",
    "InputError",
    "LeakageError",
    "ModelFileError",
    "NotFittedError",
    "TensorRec",
    "TensorRecError",
    "TrainingError",
    "UnknownPluginError",
    "evaluate",
    "register_loss",
    "register_prediction",
    "register_representation",
]
