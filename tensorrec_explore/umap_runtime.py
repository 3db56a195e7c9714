"""umap-learn, imported so that its compiled code is kept on disk and its layout reports progress.

``import umap`` alone is slow, and every process's first fit compiles umap's numba functions
because umap does not ask numba to cache them (pynndescent, which umap uses for nearest
neighbours, already does). The function :func:`import_umap` loads umap with numba's ``njit`` /
``jit`` defaulting to ``cache=True`` for functions defined in umap's own modules, so the first fit
on a machine writes the compiled code to numba's cache (``__pycache__`` beside umap's sources, or
``$NUMBA_CACHE_DIR``) and later processes load it from there (the times are in
``benchmarks/README.md``, "Figures behind design choices"). Functions that numba cannot cache are
compiled as before, silently.

:func:`reporting` routes umap's per-epoch layout loop (the one it drives through tqdm) to a
callback ``progress(done, total)`` on the calling thread; the callback may raise (e.g.
:class:`Cancelled`) to abandon the fit within one layout epoch.

No TensorFlow and no widgets here; umap is imported only when :func:`import_umap` is called.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from .errors import MissingExtraError

__all__ = ["Cancelled", "import_umap", "reporting"]

_LOCK = threading.Lock()
_local = threading.local()


class Cancelled(Exception):
    """Raised by a progress callback to abandon a UMAP fit that nobody waits for any more."""


def import_umap() -> ModuleType:
    """Return the ``umap`` module, imported with on-disk caching of its compiled code and a
    progress hook on its layout loop (both set up once per process, and only if umap was not
    imported before; otherwise umap works as usual, uncached).

    Raises ``MissingExtraError`` if umap-learn is not installed.
    """
    with _LOCK:
        try:
            _cache_umap_functions(importlib.import_module("numba"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # umap's import-time deprecation chatter
                umap = importlib.import_module("umap")
                layouts = importlib.import_module("umap.layouts")
        except ImportError as error:
            raise _missing() from error
        _hook_layout_progress(layouts)
        return umap


@contextlib.contextmanager
def reporting(progress: Callable[[int, int], Any] | None) -> Iterator[None]:
    """Within the block, umap layouts run by this thread call ``progress(done, total)`` before
    each layout epoch and once at the end."""
    previous = getattr(_local, "progress", None)
    _local.progress = progress
    try:
        yield
    finally:
        _local.progress = previous


def _missing() -> MissingExtraError:
    return MissingExtraError(
        "UMAP projections need umap-learn, which is not installed; install the explorer "
        'extra: pip install "tensorrec_explore[explorer]" (or use pca_2d).'
    )


def _cache_umap_functions(numba: ModuleType) -> None:
    """Make ``numba.njit`` / ``numba.jit`` default to ``cache=True`` for umap's functions."""
    if getattr(numba.njit, "_tensorrec_caching", False):
        return
    for name in ("njit", "jit"):
        wrapper = _caching(getattr(numba, name))
        setattr(numba, name, wrapper)
    # numba warns (NumbaWarning) when a function cannot be cached; it then compiles as usual
    warnings.filterwarnings("ignore", message=r"Cannot cache compiled function")


def _caching(original: Callable[..., Any]) -> Callable[..., Any]:
    def with_cache(function: Any, kwargs: dict) -> dict:
        module = getattr(function, "__module__", "") or ""
        if (module == "umap" or module.startswith("umap.")) and "cache" not in kwargs:
            return {**kwargs, "cache": True}
        return kwargs

    def decorator(*args: Any, **kwargs: Any) -> Any:
        if args and inspect.isfunction(args[0]):  # njit(function, ...)
            return original(args[0], *args[1:], **with_cache(args[0], kwargs))

        def decorate(function: Any) -> Any:  # njit(...) used as @njit(...) or njit(sig)(f)
            return original(*args, **with_cache(function, kwargs))(function)

        return decorate

    decorator._tensorrec_caching = True  # type: ignore[attr-defined]
    decorator.__doc__ = original.__doc__
    return decorator


def _hook_layout_progress(layouts: ModuleType) -> None:
    """Replace the ``tqdm`` that umap's layout functions loop with by one that also reports to
    the thread's :func:`reporting` callback (and still draws a bar when umap asks for one)."""
    original = getattr(layouts, "tqdm", None)
    if original is None or getattr(original, "_tensorrec_progress", False):
        return

    def tqdm(iterable: Any, *args: Any, **kwargs: Any) -> Any:
        progress = getattr(_local, "progress", None)
        if progress is None:
            return original(iterable, *args, **kwargs)
        return _reported(list(iterable), progress)

    tqdm._tensorrec_progress = True  # type: ignore[attr-defined]
    layouts.tqdm = tqdm


def _reported(steps: list, progress: Callable[[int, int], Any]) -> Iterator[Any]:
    total = len(steps)
    for done, step in enumerate(steps):
        progress(done, total)
        yield step
    progress(total, total)
