"""Hands work from background threads to the kernel's thread: the one thread that writes state.

Workers (training, projection, the sandbox fold-in) compute off the kernel's thread, then call
:meth:`KernelDispatcher.call` with a function that applies their result to the explorer's state.
Inside a Jupyter kernel the function runs later on the kernel's thread (its tornado ``IOLoop``,
captured when the dispatcher is built), in the order the calls were made; so traitlets observers
and plotly updates never run concurrently, and never on a worker's thread. Where there is no
running kernel (scripts, plain tests), the call runs at once under one lock: observers still never
interleave, on the caller's thread.

Each call carries the *generation* it was made in; :meth:`KernelDispatcher.advance` (Reset, a new
run) starts a new generation and drops every queued call of the older ones, so no in-flight
message of a forgotten run reaches the screen. Work that is itself on the kernel's thread and must
see every queued result (e.g. ``Explorer.train(wait=True)`` inside a cell, which blocks the loop)
calls :meth:`flush`.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any


def kernel_loop() -> Any | None:
    """Return the running IPython kernel's IOLoop, or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the explorer extra installs IPython
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    return getattr(kernel, "io_loop", None)


class KernelDispatcher:
    """Runs state-writing functions on the kernel's thread, in order, dropping stale ones.

    ``loop``: an object with a thread-safe ``add_callback(fn)`` (a tornado ``IOLoop``), or
    ``"auto"`` for the current kernel's loop (None outside a kernel: calls run directly).
    The kernel's thread is the thread that builds the dispatcher. ``on_error(exc)`` receives
    what a call raised (on the kernel's thread); without it the error propagates.
    """

    def __init__(self, loop: Any = "auto", on_error: Callable[[BaseException], Any] | None = None):
        self.loop = kernel_loop() if loop == "auto" else loop
        self.on_error = on_error
        self.thread_id = threading.get_ident()
        self.generation = 0
        self._queue: collections.deque[tuple[int, Callable[[], Any]]] = collections.deque()
        self._lock = threading.RLock()  # guards the queue; serialises direct calls
        self._scheduled = False

    @property
    def on_kernel_thread(self) -> bool:
        """True when the caller is the kernel's thread (or there is no kernel loop)."""
        return self.loop is None or threading.get_ident() == self.thread_id

    def call(
        self, fn: Callable[..., Any], *args: Any, generation: int | None = None, **kwargs: Any
    ) -> None:
        """Run ``fn(*args, **kwargs)`` on the kernel's thread, unless its ``generation`` (the
        current one by default) has been left behind by :meth:`advance` before it runs."""
        generation = self.generation if generation is None else generation
        job = (generation, lambda: fn(*args, **kwargs))
        if self.loop is None:
            with self._lock:
                self._run(job)
            return
        with self._lock:
            self._queue.append(job)
            if self._scheduled:
                return
            self._scheduled = True
        if self.on_kernel_thread:
            self.flush()
        else:
            self.loop.add_callback(self.flush)

    def advance(self) -> int:
        """Start a new generation: queued calls of older ones are dropped. Returns it."""
        with self._lock:
            self.generation += 1
            self._queue = collections.deque(job for job in self._queue if job[0] >= self.generation)
            return self.generation

    def flush(self) -> None:
        """Run every queued call now (on the kernel's thread only; a no-op elsewhere)."""
        if not self.on_kernel_thread:
            return
        while True:
            with self._lock:
                if not self._queue:
                    self._scheduled = False
                    return
                job = self._queue.popleft()
            self._run(job)

    def _run(self, job: tuple[int, Callable[[], Any]]) -> None:
        generation, fn = job
        if generation < self.generation:
            return
        try:
            fn()
        except Exception as exc:
            if self.on_error is None:
                raise
            self.on_error(exc)
