"""Projects embedding snapshots to 2-D off the kernel's thread: PCA at once, UMAP when asked.

One worker thread serves three kinds of job: a PCA projection of every new snapshot (fast, done
first; while training only the newest, at most once a second, the rest when training ends), a
UMAP projection of the frame on screen when the embeddings panel shows UMAP, and the UMAP
warm-up. Users (each taste vector) and items are projected together, so a user lands near the
items they score highly. Each UMAP frame starts from the previous UMAP layout (or this epoch's
PCA layout), and every frame is aligned (orthogonal Procrustes) to its neighbour so points do
not jump between epochs.

UMAP's first fit in a process imports umap and loads (or, the first time on a machine, compiles)
its numba code: :meth:`Projector.warm_up` does that on a small random set as soon as the explorer
is built, and :mod:`tensorrec_explore.umap_runtime` keeps the compiled code on disk for the next
kernel. While a UMAP frame is computed, ``state.projection_status`` says what it is doing and for
how long (updated twice a second); a request for another frame, or Reset, cancels the one in
progress within one layout epoch.

The worker never writes the state: results and status lines go through the explorer's
dispatcher to the kernel's thread, tagged with the dispatcher's generation when the job started
(so Reset drops them).
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

import numpy as np

from ..umap_runtime import Cancelled, import_umap
from .dispatch import KernelDispatcher
from .engine import IMPORT_LOCK, load_engine
from .messages import error_message
from .records import Projection, Snapshot
from .state import ExplorerState


def stack(snapshot: Snapshot) -> tuple[np.ndarray, int]:
    """Joint matrix ``[users (each taste) ; items]`` and the number of user rows."""
    users = np.asarray(snapshot.users, dtype=np.float32)
    users = users.reshape(-1, users.shape[-1])
    return np.vstack([users, np.asarray(snapshot.items, dtype=np.float32)]), len(users)


class StatusTicker:
    """Writes ``"<what>: <phase>, <elapsed> s"`` to the state's ``trait`` every ``interval``
    seconds (through the dispatcher) until stopped."""

    def __init__(
        self,
        projector: Projector,
        what: str,
        generation: int,
        trait: str = "projection_status",
        interval: float = 0.5,
    ):
        self.projector = projector
        self.what = what
        self.trait = trait
        self.generation = generation
        self.interval = interval
        self.phase = "starting"
        self.started = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._tick, name="tensorrec-explorer-ticker", daemon=True
        )
        self._thread.start()

    def text(self) -> str:
        return f"{self.what}: {self.phase}, {time.perf_counter() - self.started:.0f} s"

    def _tick(self) -> None:
        while not self._done.wait(self.interval):
            self.projector.set_status(self.text(), self.generation, self.trait)

    def stop(self) -> None:
        """Stop ticking; no line of this ticker is sent after this returns."""
        self._done.set()
        self._thread.join()


class Projector:
    """Background projection service writing ``state.projections`` and
    ``state.projection_status`` (through ``dispatcher``).

    ``warm_umap``: True (compile UMAP in the background at once), ``"idle"`` (once the first
    run has finished) or False.
    """

    def __init__(
        self,
        state: ExplorerState,
        *,
        warm_umap: str | bool = True,
        umap_kwargs: dict | None = None,
        live_interval: float = 1.0,
        dispatcher: KernelDispatcher | None = None,
    ):
        self.state = state
        self.dispatcher = dispatcher or KernelDispatcher(loop=None)
        self.live_interval = live_interval
        self._last_live = -np.inf
        self.warm_umap = warm_umap
        self.umap_kwargs = dict(umap_kwargs or {})
        self.timings: dict[str, list[float]] = {"pca": [], "umap": [], "umap_warmup": []}
        self._pca_jobs: collections.deque = collections.deque()
        self._umap_job: Snapshot | None = None
        self._running_umap: Snapshot | None = None
        self._cancel = threading.Event()
        self._warm_wanted = False
        self._warmed = False
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._work, name="tensorrec-explorer-projector", daemon=True
        )
        self._thread.start()
        state.observe(self._on_snapshots, names=["snapshots"])
        state.observe(self._on_request, names=["projection_method", "frame_epoch"])
        state.observe(self._on_status, names=["status"])
        if warm_umap is True:
            self.warm_up()
        self._on_snapshots()

    # ---- requests (kernel's thread) ----
    def _snapshot(self, epoch: int) -> Snapshot | None:
        snaps = self.state.snapshots
        if not snaps:
            return None
        if epoch < 0:
            return snaps[-1]
        return next((s for s in snaps if s.epoch == epoch), None)

    def _on_snapshots(self, change: Any = None) -> None:
        snapshots = self.state.snapshots
        with self._cond:
            if not snapshots:  # Reset or a new run: forget every queued or running job
                self._pca_jobs.clear()
                self._umap_job = None
                self._cancel.set()
                return
            done = {e for (e, m) in self.state.projections if m == "pca"}
            queued = {id(s) for s in self._pca_jobs}
            for snap in snapshots:
                if snap.epoch not in done and id(snap) not in queued:
                    self._pca_jobs.append(snap)
            self._cond.notify()
        self._on_request()

    def _on_request(self, change: Any = None) -> None:
        s = self.state
        if s.projection_method != "umap":
            return
        snap = self._snapshot(s.frame_epoch)
        if snap is None or (snap.epoch, "umap") in s.projections:
            return
        with self._cond:
            running = self._running_umap
            if running is snap or self._umap_job is snap:
                return
            if running is not None:  # the newest request wins
                self._cancel.set()
            self._umap_job = snap
            self._cond.notify()
        wait = " (compiling UMAP, first time in this kernel)" if not self._warmed else ""
        s.projection_status = f"UMAP of epoch {snap.epoch}: queued{wait}; PCA shown meanwhile"

    def _on_status(self, change: Any) -> None:
        with self._cond:  # deferred projections may run now
            self._cond.notify()
        if change["new"] in ("finished", "stopped"):
            if self.warm_umap == "idle" and not self._warmed:
                self.warm_up()
            self._on_request()

    def warm_up(self) -> None:
        """Import UMAP and load or compile its numba code in the background."""
        with self._cond:
            self._warm_wanted = True
            self._cond.notify()

    def wait_idle(self, timeout: float = 600.0) -> bool:
        """Block until no job is queued or running (tests and measurements); then apply what
        the worker sent, when called on the kernel's thread."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._cond:
                idle = not (self._pca_jobs or self._umap_job or self._warm_wanted or self._busy)
            if idle:
                self.dispatcher.flush()
                return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cancel.set()
            self._cond.notify()

    def set_status(self, text: str, generation: int, trait: str = "projection_status") -> None:
        """Show ``text`` in the state's ``trait`` (from any thread)."""
        self.dispatcher.call(setattr, self.state, trait, text, generation=generation)

    # ---- worker ----
    def _next_job(self) -> tuple[str | None, Any]:
        """Pick the next job (called with the lock held): ``(kind, job)``, or ``(None, wait)``.

        While training, only the newest snapshot is projected, at most every ``live_interval``
        seconds, so projections take little CPU from training; the older ones (for the epoch
        slider) are projected once training ends.
        """
        if self._closed:
            return "close", None
        training = self.state.training
        if self._pca_jobs:
            wait = self._last_live + self.live_interval - time.perf_counter()
            if not training or wait <= 0:
                if training:
                    self._last_live = time.perf_counter()
                return "pca", self._pca_jobs.pop()  # newest first: the frame on screen
        else:
            wait = None
        if self._umap_job is not None:
            job, self._umap_job = self._umap_job, None
            self._running_umap = job
            self._cancel.clear()
            return "umap", job
        if self._warm_wanted:
            self._warm_wanted = False
            return "warmup", None
        return None, wait

    def _work(self) -> None:
        while True:
            with self._cond:
                method, job = self._next_job()
                while method is None:
                    self._cond.wait(job)
                    method, job = self._next_job()
                if method == "close":
                    return
                self._busy = True
            generation = self.dispatcher.generation
            try:
                if method == "warmup":
                    self._warm(generation)
                else:
                    self._project(job, method, generation)
            except Cancelled:
                pass  # a newer request (or Reset) superseded it; its own status follows
            except Exception as exc:
                self.set_status(
                    f"{method.upper()} projection failed: {error_message(exc)}", generation
                )
            finally:
                with self._cond:
                    self._busy = False
                    self._running_umap = None

    def _warm(self, generation: int) -> None:
        from ..projection import warm_up_umap

        ticker = StatusTicker(self, "UMAP", generation, trait="umap_status")
        ticker.phase = "getting ready in the background (compiled once per machine)"
        try:
            load_engine()  # umap imports TensorFlow: never two such imports at once
            with IMPORT_LOCK:
                import_umap()
            seconds = warm_up_umap(random_state=self.umap_kwargs.get("random_state"))
        finally:
            ticker.stop()
        self._warmed = True
        self.timings["umap_warmup"].append(seconds)
        self.set_status(f"UMAP ready (prepared in {seconds:.0f} s)", generation, "umap_status")

    def _neighbour(self, epoch: int, method: str) -> np.ndarray | None:
        frames = {e: v for (e, m), v in self.state.projections.items() if m == method}
        if not frames:
            return None
        nearest = min(frames, key=lambda e: (abs(e - epoch), -e))
        return np.vstack([frames[nearest].users, frames[nearest].items])

    def _umap(
        self, X: np.ndarray, epoch: int, previous: np.ndarray | None, generation: int
    ) -> np.ndarray:
        from ..projection import umap_2d

        init = previous
        if init is None:
            pca = self.state.projections.get((epoch, "pca"))
            init = None if pca is None else np.vstack([pca.users, pca.items])
        kwargs = dict(self.umap_kwargs)
        if init is not None:  # starting from a layout, ~100 epochs are enough
            kwargs.setdefault("n_epochs", 100)
        ticker = StatusTicker(self, f"UMAP of epoch {epoch} ({len(X):,} points)", generation)
        ticker.phase = (
            "loading UMAP's compiled code"
            if self._warmed
            else "compiling UMAP (once per machine; later kernels load it from disk)"
        )

        def progress(done: int, total: int) -> None:
            if self._cancel.is_set():
                raise Cancelled
            ticker.phase = f"layout epoch {done} / {total}"

        try:
            Y = umap_2d(X, init=init, progress=progress, **kwargs)
        finally:
            ticker.stop()
        self._warmed = True
        return Y

    def _project(self, snap: Snapshot, method: str, generation: int) -> None:
        from ..projection import align, pca_2d

        X, n_user_rows = stack(snap)
        epoch = snap.epoch
        previous = self._neighbour(epoch, method)
        t0 = time.perf_counter()
        Y = pca_2d(X) if method == "pca" else self._umap(X, epoch, previous, generation)
        if previous is not None and previous.shape == Y.shape:
            Y = align(Y, previous)
        seconds = time.perf_counter() - t0
        self.timings[method].append(seconds)
        Y = np.asarray(Y, dtype=np.float32)
        frame = Projection(Y[:n_user_rows], Y[n_user_rows:], seconds, snap.n_tastes)
        self.dispatcher.call(self._publish, snap, method, frame, generation=generation)

    def _publish(self, snap: Snapshot, method: str, frame: Projection) -> None:
        """Add a computed frame to the state (kernel's thread)."""
        s = self.state
        if not any(x is snap for x in s.snapshots):
            return  # the run was reset or replaced meanwhile
        epoch = snap.epoch
        s.projections = {**s.projections, (epoch, method): frame}
        s.projection_status = (
            f"{method.upper()} of epoch {epoch}: {frame.seconds:.2f} s "
            f"({len(frame.users) + len(frame.items):,} points)"
        )
        if method == "umap":
            self._on_request()  # a newer frame may have been asked for meanwhile
