"""One training run of the explorer: its thread, stop request and generation.

Every run of the process is remembered weakly so that interpreter exit can stop it first (a
TensorFlow thread killed mid-step at exit aborts the process with a C++ error).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..settings import SETTINGS

#: Every run of this process (see the module docstring).
LIVE_RUNS: weakref.WeakSet[Run] = weakref.WeakSet()


@atexit.register
def _stop_live_runs(timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    for run in list(LIVE_RUNS):
        run.stop_event.set()
        if run.alive:
            run.thread.join(max(deadline - time.perf_counter(), 0.0))


def resolved_settings(model: Any) -> dict[str, Any]:
    """The values a model actually trained with where the form said "auto" (its ``*_``
    attributes of the settings declared ``resolved``; not epochs: a run records the epochs it
    reached)."""
    names = [s.name for s in SETTINGS if s.resolved and s.name != "epochs"]
    return {
        name: getattr(model, name + "_")
        for name in names
        if getattr(model, name + "_", None) is not None
    }


def default_model_factory(**kwargs: Any) -> Any:
    from ..model import TensorRec  # TensorFlow starts here, in the run's thread

    return TensorRec(**kwargs)


@dataclass(eq=False)
class Run:
    """One training thread: its stop request and the dispatcher generation it reports in."""

    generation: int
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    #: True once the run has sent its final results (its thread is only returning).
    done: bool = False

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive() and not self.done
