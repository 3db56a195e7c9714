"""One thread writes the explorer's state, clicks answer at once, Reset drops what is in flight.

The "kernel" here is a real tornado IOLoop running in its own thread, as in ipykernel: the
explorer is built on it, every click is made on it, and every observer must run on it while
training, projections (PCA and UMAP) and the sandbox compute in their own threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import numpy as np
import pytest
import traitlets
from explorer_support import wait_for

from tensorrec_explore.explorer import Explorer
from tensorrec_explore.explorer.dispatch import KernelDispatcher
from tensorrec_explore.explorer.projector import Projector
from tensorrec_explore.explorer.records import CurveMark, Snapshot
from tensorrec_explore.explorer.state import ExplorerState


@pytest.fixture
def kernel():
    """A tornado IOLoop in its own thread, standing for the kernel's thread."""
    from tornado.ioloop import IOLoop

    ready = threading.Event()
    box: dict = {}

    def main() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        box["loop"] = IOLoop.current()
        box["thread"] = threading.get_ident()
        ready.set()
        box["loop"].start()

    thread = threading.Thread(target=main, name="fake-kernel", daemon=True)
    thread.start()
    assert ready.wait(10)
    yield box
    box["loop"].add_callback(box["loop"].stop)
    thread.join(10)


def on_kernel(kernel: dict, fn, timeout: float = 120.0):
    """Run ``fn()`` on the kernel's thread and return its result (as a comm message would)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    kernel["loop"].add_callback(run)
    return future.result(timeout)


def until(kernel: dict, predicate, timeout: float = 300.0) -> bool:
    """Poll ``predicate()`` on the kernel's thread until it holds."""
    return wait_for(lambda: on_kernel(kernel, predicate), timeout=timeout, step=0.05)


class Gate:
    """A model factory that waits for ``open()``: a slow TensorFlow import / model build."""

    def __init__(self):
        self.opened = threading.Event()
        self.entered = threading.Event()

    def __call__(self, **kwargs):
        from tensorrec_explore import TensorRec

        self.entered.set()
        assert self.opened.wait(60)
        return TensorRec(**kwargs)


@pytest.mark.slow
def test_every_observer_runs_on_the_kernel_thread(kernel, small_dataset):
    threads: list[tuple[str, int]] = []

    def build() -> Explorer:
        ex = Explorer(
            small_dataset,
            loop=kernel["loop"],
            warm_umap=False,
            preload=False,
            epochs=6,
            n_components=8,
            random_state=0,
            push_interval=0.01,
            umap_kwargs={"n_epochs": 30},
        )
        ex.state.observe(
            lambda c: threads.append((c["name"], threading.get_ident())), names=traitlets.All
        )
        p = ex.panels
        for widget in (
            p.inspector.sandbox_table,
            p.inspector.ranked_table,
            p.curves.progress,
            p.embeddings.info,
            p.status.status,
        ):
            widget.observe(
                lambda c: threads.append((c["name"], threading.get_ident())), names="value"
            )
        return ex

    ex = on_kernel(kernel, build)
    try:
        p = ex.panels
        on_kernel(kernel, p.curves.train_button.click)
        assert until(kernel, lambda: ex.state.status in ("finished", "error"))
        assert ex.state.status == "finished", ex.state.error
        # training again, while UMAP, the inspector and the sandbox all compute at once
        on_kernel(kernel, p.curves.train_button.click)
        on_kernel(kernel, lambda: setattr(ex.state, "projection_method", "umap"))
        on_kernel(kernel, lambda: setattr(ex.state, "selected_user", 3))
        on_kernel(
            kernel,
            lambda: setattr(p.inspector.liked, "value", list(p.inspector.liked.allowed_tags[:3])),
        )
        assert until(kernel, lambda: ex.state.status in ("finished", "error"))
        assert ex.state.status == "finished", ex.state.error
        assert until(kernel, lambda: any(m == "umap" for (_, m) in ex.state.projections))
        assert until(kernel, lambda: bool(ex.state.sandbox_items))
    finally:
        on_kernel(kernel, ex.close)
    names = {name for name, _ in threads}
    assert {
        "history",
        "snapshots",
        "projections",
        "model",
        "runs",
        "sandbox_items",
        "epoch",
        "target_epochs",
        "projection_status",
    } <= names
    assert {ident for _, ident in threads} == {kernel["thread"]}


def test_train_reacts_before_any_slow_work_and_reset_drops_the_run(small_dataset):
    gate = Gate()
    ex = Explorer(
        small_dataset, model_factory=gate, warm_umap=False, preload=False, epochs=3, n_components=8
    )
    try:
        s, curves = ex.state, ex.panels.curves
        curves.train_button.click()  # returns while the model is still being built
        assert gate.entered.wait(30)
        assert s.status == "training"
        assert curves.train_button.disabled and not curves.stop_button.disabled
        assert s.message.startswith(("Building the model", "Loading TensorFlow"))
        assert ex.panels.status.status.value.count("training") == 1
        running = ex.controller.run
        curves.reset_button.click()  # never waits for the run
        assert running.alive and running.stop_event.is_set()
        assert s.status == "idle" and not curves.train_button.disabled
        gate.opened.set()
        running.thread.join(60)
        ex.controller.join()
        # what the forgotten run sent afterwards never reached the state
        assert s.status == "idle" and s.history == {} and s.model is None
        assert s.snapshots == [] and s.runs == []
    finally:
        gate.opened.set()
        ex.close()


def test_stop_returns_at_once_and_the_run_ends_after_its_epoch(small_dataset):
    gate = Gate()
    ex = Explorer(
        small_dataset, model_factory=gate, warm_umap=False, preload=False, epochs=50, n_components=8
    )
    try:
        ex.panels.curves.train_button.click()
        assert gate.entered.wait(30)
        ex.panels.curves.stop_button.click()
        assert ex.state.status == "stopping"
        gate.opened.set()
        assert ex.controller.join(120)
        assert ex.state.status == "stopped", ex.state.error
        assert ex.state.epoch < 50
        assert ex.state.curve_marks == [CurveMark(ex.state.epoch, "stopped")]
    finally:
        gate.opened.set()
        ex.close()


@pytest.fixture
def trained(small_dataset):
    """An explorer after one finished 2-epoch run."""
    from explorer_support import train

    ex = Explorer(small_dataset, warm_umap=False, preload=False, epochs=2, n_components=8)
    try:
        train(ex)
        yield ex
    finally:
        ex.close()


def test_inspector_says_which_model_it_shows(trained):
    ex = trained
    s, inspector = ex.state, ex.panels.inspector
    s.selected_user = 1
    assert "Model of run 1 at epoch 2" in inspector.model_info.value
    before = inspector.ranked_table.value
    gate = Gate()
    ex.controller.model_factory = gate
    ex.panels.curves.train_button.click()  # a new run: the tables keep the old model
    assert gate.entered.wait(30)
    assert "older model" in inspector.model_info.value and "run 2" in inspector.model_info.value
    assert inspector.ranked_table.value == before
    gate.opened.set()
    ex.controller.join(120)
    assert "Model of run 2 at epoch 2" in inspector.model_info.value
    ex.panels.curves.resume_button.click()  # this very model trains further
    assert "training continues" in inspector.model_info.value
    s.selected_user = 2  # nothing is computed on a model under training
    assert inspector.ranked_frame is None
    ex.controller.join(120)
    assert "epoch 4" in inspector.model_info.value
    assert inspector.ranked_frame is not None and s.selected_user == 2


def test_selected_and_sandbox_marks_never_overwrite_each_other(trained):
    ex = trained
    s, inspector, emb = ex.state, ex.panels.inspector, ex.panels.embeddings
    s.selected_user = 4
    selected = list(emb.topk_trace.x)
    assert len(selected) == inspector.k.value
    inspector.liked.value = list(inspector.liked.allowed_tags[:2])
    inspector.wait_sandbox(60)
    assert len(s.sandbox_items) == inspector.k.value
    assert len(emb.sandbox_topk_trace.x) == inspector.k.value
    assert list(emb.topk_trace.x) == selected  # the selected user's rings stay
    s.selected_user = 5
    assert len(emb.sandbox_topk_trace.x) == inspector.k.value  # and the sandbox's stay
    inspector.clear_sandbox.click()
    assert s.sandbox_items == [] and len(emb.sandbox_topk_trace.x) == 0
    assert len(emb.topk_trace.x) == inspector.k.value


@pytest.mark.slow
def test_umap_shows_progress_and_a_new_request_cancels_the_old_one():
    rng = np.random.default_rng(0)
    state = ExplorerState()
    lines: list[str] = []
    state.observe(lambda c: lines.append(c["new"]), names=["projection_status"])
    snapshots = [
        Snapshot(
            epoch=e,
            users=rng.standard_normal((1500, 8)).astype(np.float32),
            items=rng.standard_normal((1500, 8)).astype(np.float32),
        )
        for e in (1, 2)
    ]
    projector = Projector(state, warm_umap=False, umap_kwargs={"n_epochs": 3000})
    try:
        state.snapshots = snapshots
        assert projector.wait_idle(60)  # the PCA frames
        state.frame_epoch = 1
        state.projection_method = "umap"
        assert wait_for(lambda: any("layout epoch" in line for line in lines), timeout=600)
        projector.umap_kwargs["n_epochs"] = 20
        state.frame_epoch = 2  # the newer request wins
        assert wait_for(lambda: (2, "umap") in state.projections, timeout=600)
        assert projector.wait_idle(600)
        assert (1, "umap") not in state.projections  # cancelled within a layout epoch
        assert len(projector.timings["umap"]) == 1
        progress = [line for line in lines if "epoch 1" in line and "layout epoch" in line]
        assert progress and all(line.rstrip().endswith(" s") for line in progress)
    finally:
        projector.close()


def test_reset_clears_projection_status_and_queued_frames(trained):
    ex = trained
    s = ex.state
    s.projection_status = "UMAP of epoch 2: queued"
    ex.panels.curves.reset_button.click()
    assert s.projection_status == "" and s.projections == {} and s.snapshots == []
    assert "UMAP" not in ex.panels.embeddings.info.value


class FakeLoop:
    """Collects callbacks like an IOLoop that is busy until :meth:`run` is called."""

    def __init__(self):
        self.callbacks: list = []

    def add_callback(self, fn) -> None:
        self.callbacks.append(fn)

    def run(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for fn in callbacks:
            fn()


def test_dispatcher_keeps_order_and_drops_older_generations():
    loop = FakeLoop()
    dispatcher = KernelDispatcher(loop)
    seen: list = []

    def worker(values) -> None:
        for value in values:
            dispatcher.call(seen.append, value)

    thread = threading.Thread(target=worker, args=(range(5),))
    thread.start()
    thread.join()
    assert seen == []  # nothing ran on the worker's thread
    loop.run()
    assert seen == [0, 1, 2, 3, 4]
    old = dispatcher.generation
    thread = threading.Thread(target=worker, args=(range(5, 8),))
    thread.start()
    thread.join()
    dispatcher.advance()  # e.g. Reset: what is queued is dropped
    dispatcher.call(seen.append, "late", generation=old)  # and what arrives later too
    loop.run()
    assert seen == [0, 1, 2, 3, 4]
    dispatcher.call(seen.append, "now")  # on the kernel's thread: at once, in order
    assert seen[-1] == "now"


def test_dispatcher_without_a_loop_runs_calls_at_once_and_reports_errors():
    errors: list = []
    dispatcher = KernelDispatcher(loop=None, on_error=errors.append)
    seen: list = []
    dispatcher.call(seen.append, 1)
    dispatcher.call(lambda: 1 / 0)
    assert seen == [1] and isinstance(errors[0], ZeroDivisionError)


def test_flush_applies_queued_results_on_the_kernel_thread_only():
    loop = FakeLoop()
    dispatcher = KernelDispatcher(loop)
    seen: list = []
    thread = threading.Thread(target=lambda: dispatcher.call(seen.append, 1))
    thread.start()
    thread.join()
    other = threading.Thread(target=dispatcher.flush)  # a worker cannot apply results
    other.start()
    other.join()
    assert seen == []
    dispatcher.flush()  # e.g. Explorer.train(wait=True) inside a cell
    assert seen == [1]
