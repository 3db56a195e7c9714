"""Projects embedding snapshots to 2-D off the UI thread: PCA at once, UMAP when asked.

One worker thread serves two kinds of job: a PCA projection of every new snapshot (fast, done
first; while training only the newest, at most once a second, the rest when training ends) and a UMAP projection of the frame on screen when the embeddings panel shows UMAP
(latest request wins, so scrubbing never queues a backlog). Users (each taste vector) and items
are projected together, so a user lands near the items they score highly. Each UMAP frame starts
from the previous UMAP layout (or this epoch's PCA layout), and every frame is aligned
(orthogonal Procrustes) to its neighbour so points do not jump between epochs.

UMAP's first fit in a process compiles numba code (tens of seconds): :meth:`Projector.warm_up`
pays that cost on a small random set in the background (by default once the first run has
finished, when the CPU is otherwise idle).
"""

from __future__ import annotations

import collections
import threading
import time
import traceback
from typing import Any

import numpy as np

from .state import ExplorerState


def stack(snapshot: dict) -> tuple[np.ndarray, int]:
    """Joint matrix ``[users (each taste) ; items]`` and the number of user rows."""
    users = np.asarray(snapshot["users"], dtype=np.float32)
    users = users.reshape(-1, users.shape[-1])
    return np.vstack([users, np.asarray(snapshot["items"], dtype=np.float32)]), len(users)


class Projector:
    """Background projection service writing ``state.projections`` and
    ``state.projection_status``."""

    def __init__(self, state: ExplorerState, *, warm_umap: str | bool = "idle",
                 umap_kwargs: dict | None = None, live_interval: float = 1.0):
        self.state = state
        self.live_interval = live_interval
        self._last_live = -np.inf
        self.warm_umap = warm_umap
        self.umap_kwargs = dict(umap_kwargs or {})
        self.timings: dict[str, list[float]] = {"pca": [], "umap": [], "umap_warmup": []}
        self._pca_jobs: collections.deque = collections.deque()
        self._umap_job: dict | None = None
        self._warm_wanted = False
        self._warmed = False
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._work, name="tensorrec-explorer-projector",
                                        daemon=True)
        self._thread.start()
        state.observe(self._on_snapshots, names=["snapshots"])
        state.observe(self._on_request, names=["projection_method", "frame_epoch"])
        state.observe(self._on_status, names=["status"])
        if warm_umap is True:
            self.warm_up()
        self._on_snapshots()

    # ---- requests ----
    def _snapshot(self, epoch: int) -> dict | None:
        snaps = self.state.snapshots
        if not snaps:
            return None
        if epoch < 0:
            return snaps[-1]
        return next((s for s in snaps if s["epoch"] == epoch), None)

    def _on_snapshots(self, change: Any = None) -> None:
        done = {e for (e, m) in self.state.projections if m == "pca"}
        with self._cond:
            queued = {id(s) for s in self._pca_jobs}
            for snap in self.state.snapshots:
                if snap["epoch"] not in done and id(snap) not in queued:
                    self._pca_jobs.append(snap)
            self._cond.notify()
        self._on_request()

    def _on_request(self, change: Any = None) -> None:
        s = self.state
        if s.projection_method != "umap":
            return
        snap = self._snapshot(s.frame_epoch)
        if snap is None or (snap["epoch"], "umap") in s.projections:
            return
        with self._cond:
            self._umap_job = snap
            self._cond.notify()
        s.projection_status = f"UMAP: computing epoch {snap['epoch']} (PCA shown meanwhile)..."

    def _on_status(self, change: Any) -> None:
        with self._cond:  # deferred projections may run now
            self._cond.notify()
        if change["new"] in ("finished", "stopped"):
            if self.warm_umap == "idle" and not self._warmed:
                self.warm_up()
            self._on_request()

    def warm_up(self) -> None:
        """Compile UMAP's numba code in the background on a small random set."""
        with self._cond:
            self._warm_wanted = True
            self._cond.notify()

    def wait_idle(self, timeout: float = 600.0) -> bool:
        """Block until no job is queued or running (tests and measurements)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self._cond:
                if not (self._pca_jobs or self._umap_job or self._warm_wanted or self._busy):
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    # ---- worker ----
    def _next_job(self) -> tuple[str | None, Any]:
        """Pick the next job (called with the lock held): ``(kind, job)``, or ``(None, wait)``.

        While training, only the newest snapshot is projected, at most every ``live_interval``
        seconds, so projections take little CPU from training; the older ones (for the epoch
        slider) are projected once training ends. UMAP warm-up waits for an idle CPU too.
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
            return "umap", job
        if self._warm_wanted and not training:
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
            try:
                if method == "warmup":
                    self._warm()
                else:
                    self._project(job, method)
            except Exception as exc:  # noqa: BLE001 - shown on screen, never lost
                self.state.projection_status = (
                    f"{method.upper()} projection failed: {type(exc).__name__}: {exc}")
                self.last_error = traceback.format_exc()
            finally:
                with self._cond:
                    self._busy = False

    def _warm(self) -> None:
        from ..projection import warm_up_umap

        seconds = warm_up_umap(random_state=self.umap_kwargs.get("random_state"))
        self._warmed = True
        self.timings["umap_warmup"].append(seconds)

    def _neighbour(self, epoch: int, method: str) -> np.ndarray | None:
        frames = {e: v for (e, m), v in self.state.projections.items() if m == method}
        if not frames:
            return None
        nearest = min(frames, key=lambda e: (abs(e - epoch), -e))
        return np.vstack([frames[nearest]["users"], frames[nearest]["items"]])

    def _project(self, snap: dict, method: str) -> None:
        from ..projection import align, pca_2d

        X, n_user_rows = stack(snap)
        epoch = snap["epoch"]
        previous = self._neighbour(epoch, method)
        t0 = time.perf_counter()
        if method == "pca":
            Y = pca_2d(X)
        else:
            from ..projection import umap_2d

            init = previous
            if init is None:
                pca = self.state.projections.get((epoch, "pca"))
                init = None if pca is None else np.vstack([pca["users"], pca["items"]])
            kwargs = dict(self.umap_kwargs)
            if init is not None:  # starting from a layout, ~100 epochs are enough
                kwargs.setdefault("n_epochs", 100)
            Y = umap_2d(X, init=init, **kwargs)
            self._warmed = True
        if previous is not None and previous.shape == Y.shape:
            Y = align(Y, previous)
        seconds = time.perf_counter() - t0
        self.timings[method].append(seconds)
        if not any(s is snap for s in self.state.snapshots):
            return  # the run was reset or replaced meanwhile
        Y = np.asarray(Y, dtype=np.float32)
        frame = {"users": Y[:n_user_rows], "items": Y[n_user_rows:], "seconds": seconds,
                 "n_tastes": snap["users"].shape[1] if snap["users"].ndim == 3 else 1}
        s = self.state
        s.projections = {**s.projections, (epoch, method): frame}
        s.projection_status = f"{method.upper()} of epoch {epoch}: {seconds:.2f} s " \
                              f"({len(Y)} points)"
        if method == "umap":
            self._on_request()  # a newer frame may have been asked for meanwhile
