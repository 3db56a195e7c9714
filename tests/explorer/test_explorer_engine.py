"""The background import of TensorFlow never races a notebook cell's own ``import keras``."""

from __future__ import annotations

import sys
import threading
import types

from IPython.core.events import EventManager, available_events

from tensorrec_explore.explorer import engine


def test_the_next_cell_waits_for_the_background_import(monkeypatch, tmp_path) -> None:
    release = threading.Event()
    gate = types.ModuleType("engine_test_gate")
    gate.release = release
    monkeypatch.setitem(sys.modules, "engine_test_gate", gate)
    (tmp_path / "slow_engine.py").write_text(
        "import engine_test_gate\nengine_test_gate.release.wait(30)\nTensorRec = object\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(engine, "ENGINE_MODULE", "slow_engine")
    monkeypatch.setattr(engine, "_LOAD_STARTED", threading.Event())
    monkeypatch.setattr(engine, "_LOAD_DONE", threading.Event())
    shell = types.SimpleNamespace()
    shell.events = EventManager(shell, available_events)
    loaded: list[float] = []
    engine.load_in_background(loaded.append, lambda exc: None, shell=shell)

    cell_ran = threading.Event()

    def kernel_runs_a_cell() -> None:
        shell.events.trigger("pre_run_cell", None)
        cell_ran.set()

    kernel = threading.Thread(target=kernel_runs_a_cell)
    kernel.start()
    assert not cell_ran.wait(0.5), "the cell ran while TensorFlow was being imported"
    release.set()
    assert cell_ran.wait(30) and loaded and engine.engine_loaded()
    kernel.join()
    assert not shell.events.callbacks["pre_run_cell"]  # the hook removed itself
    monkeypatch.delitem(sys.modules, "slow_engine")
