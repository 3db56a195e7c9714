"""Loading TensorFlow (with the model) once per process, from whichever thread needs it first.

The explorer imports TensorFlow in a background thread as soon as it is built, and umap-learn
imports TensorFlow too (for its parametric variant). Several threads importing TensorFlow's
package tree at once can hand one of them a half-initialised module (importlib breaks lock
cycles that way), so every background import of TensorFlow or umap goes through
:func:`load_engine`, which takes one lock: the imports happen one after the other.

A notebook cell importing ``keras`` or ``tensorflow`` while the background import runs would
race it the same way, and a cell's import cannot take that lock. So
:func:`hold_cells_until_loaded` makes the kernel's next cell wait (IPython's ``pre_run_cell``
event, which runs holding no import lock) until the background import has finished.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

#: The module whose import brings TensorFlow in (and with it the model).
ENGINE_MODULE = "tensorrec_explore.model"

IMPORT_LOCK = threading.Lock()
#: Set when the first :func:`load_engine` starts / ends (successfully or not).
_LOAD_STARTED = threading.Event()
_LOAD_DONE = threading.Event()
#: How long a cell waits for the background import at most (then it runs anyway).
CELL_WAIT_SECONDS = 600


def engine_loaded() -> bool:
    """True once TensorFlow and the model are imported in this process."""
    module = sys.modules.get(ENGINE_MODULE)
    return module is not None and hasattr(module, "TensorRec")


def load_engine() -> float:
    """Import TensorFlow and the model (a no-op once done); return the seconds it took."""
    started = time.perf_counter()
    _LOAD_STARTED.set()
    try:
        with IMPORT_LOCK:
            importlib.import_module(ENGINE_MODULE)
    finally:
        _LOAD_DONE.set()
    return time.perf_counter() - started


def wait_for_engine(*_event_args: Any) -> None:
    """Block until a started background import of TensorFlow has finished (else return)."""
    if _LOAD_STARTED.is_set() and not _LOAD_DONE.is_set():
        _LOAD_DONE.wait(CELL_WAIT_SECONDS)


def load_in_background(
    on_loaded: Callable[[float], None],
    on_error: Callable[[BaseException], None],
    shell: Any = None,
) -> threading.Thread:
    """Import TensorFlow in a daemon thread; meanwhile the IPython kernel's cells wait for it.

    A notebook cell importing ``keras`` or ``tensorflow`` during the import would race it, and a
    cell's import cannot take :data:`IMPORT_LOCK`; IPython's ``pre_run_cell`` event runs in the
    kernel's thread holding no import lock, so the next cells wait there instead.

    Parameters
    ----------
    on_loaded : callable
        Called in the thread with the seconds the import took.
    on_error : callable
        Called in the thread with the import's exception.
    shell : IPython shell, optional
        Whose cells wait (default: the running one, if any).

    Returns
    -------
    threading.Thread
        The started thread.
    """
    _LOAD_STARTED.set()
    hold_cells_until_loaded(shell)

    def work() -> None:
        try:
            seconds = load_engine()
        except Exception as exc:
            on_error(exc)
            return
        on_loaded(seconds)

    thread = threading.Thread(target=work, name="tensorrec-explorer-preload", daemon=True)
    thread.start()
    return thread


def hold_cells_until_loaded(shell: Any = None) -> None:
    """Make the IPython kernel's cells wait for a started background import of TensorFlow.

    Parameters
    ----------
    shell : IPython shell, optional
        The shell whose ``pre_run_cell`` event to hook (default: the running one; outside
        IPython nothing happens). The hook removes itself once TensorFlow is loaded.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or engine_loaded():
        return

    def before_cell(*args: Any) -> None:
        wait_for_engine()
        if _LOAD_DONE.is_set():
            shell.events.unregister("pre_run_cell", before_cell)

    shell.events.register("pre_run_cell", before_cell)
