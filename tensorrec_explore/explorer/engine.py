"""Loading TensorFlow (with the model) once per process, from whichever thread needs it first.

The explorer imports TensorFlow in a background thread as soon as it is built, and umap-learn
imports TensorFlow too (for its parametric variant). Several threads importing TensorFlow's
package tree at once can hand one of them a half-initialised module (importlib breaks lock
cycles that way), so every background import of TensorFlow or umap goes through
:func:`load_engine`, which takes one lock: the imports happen one after the other.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time

#: The module whose import brings TensorFlow in (and with it the model).
ENGINE_MODULE = "tensorrec_explore.model"

IMPORT_LOCK = threading.Lock()


def engine_loaded() -> bool:
    """True once TensorFlow and the model are imported in this process."""
    module = sys.modules.get(ENGINE_MODULE)
    return module is not None and hasattr(module, "TensorRec")


def load_engine() -> float:
    """Import TensorFlow and the model (a no-op once done); return the seconds it took."""
    started = time.perf_counter()
    with IMPORT_LOCK:
        importlib.import_module(ENGINE_MODULE)
    return time.perf_counter() - started
