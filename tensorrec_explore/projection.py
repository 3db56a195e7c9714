"""2-D projections of embeddings for plots: PCA (numpy SVD) and UMAP, aligned across frames.

PCA is instant and deterministic: show it first. UMAP (``umap-learn``, the ``explorer`` extra) is
imported only inside :func:`umap_2d` and :func:`warm_up_umap`; ``import umap`` itself is slow (it
imports TensorFlow) and a process's first fit compiles numba code (times: ``benchmarks/README.md``,
"Figures behind design choices (explorer and data)"), so keep it off the UI path: call
:func:`warm_up_umap` from a background thread, and start each new frame from the previous layout
(``init=``) before :func:`align`-ing it to that layout.

Every function takes one point per row, ``[n, d]``. Multi-taste user representations
``[n, tastes, d]`` must be flattened by the caller: ``X.reshape(-1, X.shape[-1])`` gives one point
per (user, taste), rows ordered user 0 taste 0, user 0 taste 1, ...; or pick one taste ``X[:, t]``.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import InputError, describe
from .umap_runtime import import_umap, reporting

__all__ = ["Projection", "align", "exact_knn", "pca_2d", "project", "umap_2d", "warm_up_umap"]

_UMAP_MIN_POINTS = 4  # UMAP's spectral initialisation needs more points than 2 + 1
#: Up to this many points, nearest neighbours are exact (numpy, in blocks): faster than
#: pynndescent at this size, and it spares the process pynndescent's compile (minutes on a busy
#: 2-core machine, not cacheable on disk because its functions take a distance function).
EXACT_KNN_MAX_POINTS = 20_000
_WARM_UP_LOCK = threading.Lock()


@dataclass(frozen=True)
class Projection:
    """One 2-D frame of a set of points, as :func:`project` returns it.

    Parameters
    ----------
    coords : numpy.ndarray
        float32 ``[n, 2]``.
    method : str
        What made it: ``"pca"`` or ``"umap"``.
    seconds : float
        The wall-clock time it took, alignment included.
    """

    coords: np.ndarray
    method: str
    seconds: float


def pca_2d(X: np.ndarray) -> np.ndarray:
    """Return the first two principal-component scores of the rows of ``X``.

    Computed by SVD of the centred data's small Gram matrix (``d x d``, or ``n x n`` when there
    are fewer points than dimensions), much cheaper than a thin SVD of the data itself on a busy
    multi-threaded BLAS (``benchmarks/README.md``, "Figures behind design choices (explorer and
    data)"). Signs are deterministic: each component's largest absolute loading is positive. A
    column beyond the data's rank (e.g. for fewer than 3 points) is zero up to rounding.

    Parameters
    ----------
    X : array-like
        ``[n, d]``, one point per row.

    Returns
    -------
    numpy.ndarray
        float32 ``[n, 2]``.

    Raises
    ------
    InputError
        If ``X`` is not a 2-D array of finite real numbers (a 3-D multi-taste array is
        refused with the reshape to use).
    """
    data = _as_points(X, "X")
    n, d = data.shape
    coords = np.zeros((n, 2))
    rank = min(2, n, d)
    if rank == 0:
        return coords.astype(np.float32)
    centred = data - data.mean(axis=0)
    if d <= n:
        _, _, vt = np.linalg.svd(centred.T @ centred, hermitian=True)
        coords[:, :rank] = centred @ vt[:rank].T
    else:
        u, squares, _ = np.linalg.svd(centred @ centred.T, hermitian=True)
        coords[:, :rank] = u[:, :rank] * np.sqrt(squares[:rank])
    loadings = coords[:, :rank].T @ centred
    signs = np.sign(loadings[np.arange(rank), np.argmax(np.abs(loadings), axis=1)])
    signs[signs == 0] = 1.0
    coords[:, :rank] *= signs
    return coords.astype(np.float32)


def umap_2d(
    X: np.ndarray,
    init: np.ndarray | None = None,
    n_neighbors: int = 15,
    n_epochs: int | None = None,
    random_state: int | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> np.ndarray:
    """Return a UMAP layout of the rows of ``X``, float32 ``[n, 2]``, in UMAP's own scale.

    ``init``: a previous ``[n, 2]`` layout of the same points (any scale) to start from, so the
    new frame stays close to it; pass the result through :func:`align` to match its frame
    exactly. Without it UMAP's spectral initialisation is used. ``n_neighbors`` is capped at
    n - 1; ``n_epochs=None`` is UMAP's default (500 epochs below 10k points; ~100 is enough
    from a previous layout). ``random_state``: an int makes the layout reproducible but runs on
    one thread. Fewer than 4 points: returns :func:`pca_2d`. Nearest neighbours are exact
    (:func:`exact_knn`) up to ``EXACT_KNN_MAX_POINTS`` points and pynndescent's approximation
    beyond (UMAP's own exact path is a slow Python loop); ``low_memory=True``.
    ``progress(done, total)`` is called before each layout epoch from this thread; an exception
    it raises (e.g. ``umap_runtime.Cancelled``) abandons the fit. umap's compiled code is cached
    on disk (see :mod:`tensorrec_explore.umap_runtime`).

    Raises ``MissingExtraError`` if umap-learn is not installed.
    """
    data = _as_points(X, "X")
    n = data.shape[0]
    start = None if init is None else _scaled_init(init, n, random_state)
    _check_count("n_neighbors", n_neighbors, minimum=2)
    if n_epochs is not None:
        _check_count("n_epochs", n_epochs, minimum=1)
    if n < _UMAP_MIN_POINTS:
        return pca_2d(data)
    umap = import_umap()
    neighbours = int(min(n_neighbors, n - 1))
    knn = (None, None, None)
    if n <= EXACT_KNN_MAX_POINTS:
        knn = exact_knn(data, neighbours)
    model = umap.UMAP(
        n_components=2,
        n_neighbors=neighbours,
        n_epochs=n_epochs,
        init="spectral" if start is None else start,
        random_state=random_state,
        n_jobs=1 if random_state is not None else -1,  # umap forces 1 (with a warning) if seeded
        low_memory=True,
        force_approximation_algorithm=True,
        precomputed_knn=knn,
    )
    with reporting(progress), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "no search index: transform unavailable"
        layout = model.fit_transform(data.astype(np.float32))
    return np.asarray(layout, dtype=np.float32)


def exact_knn(X: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's ``k`` nearest rows of ``X`` (itself first) by euclidean distance.

    Computed in blocks of ``block`` rows, so memory stays ``O(block x n)``.

    Parameters
    ----------
    X : array-like
        ``[n, d]``, one point per row.
    k : int
        Neighbours per row, itself included; at most ``n``.
    block : int, default 1024
        Rows per block.

    Returns
    -------
    indices : numpy.ndarray
        int64 ``[n, k]``, nearest first.
    distances : numpy.ndarray
        float32 ``[n, k]``, aligned with ``indices``.
    """
    data = np.asarray(X, dtype=np.float32)
    n = len(data)
    squares = np.einsum("ij,ij->i", data, data)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        d2 = squares[rows, None] + squares[None, :] - 2.0 * (data[rows] @ data.T)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = -1.0  # itself first
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(d2, nearest, axis=1)
        order = np.argsort(part, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(nearest, order, axis=1)
        distances[rows] = np.sqrt(np.maximum(np.take_along_axis(part, order, axis=1), 0.0))
    return indices, distances


def align(new: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Return ``new`` moved onto ``previous`` (same points, same row order).

    Orthogonal Procrustes with uniform scale and translation: the rotation/reflection ``R``,
    scale ``s`` and shift ``t`` minimising ``||s * new @ R + t - previous||``. Distances within
    the layout keep their ratios, so an animation from ``previous`` to the result moves only
    what really changed. A layout whose points all coincide lands on ``previous``'s centroid.

    Parameters
    ----------
    new, previous : array-like
        Two ``[n, 2]`` layouts of the same points, in the same row order.

    Returns
    -------
    numpy.ndarray
        float32 ``[n, 2]``: ``new`` rotated (or reflected), scaled and shifted.

    Raises
    ------
    InputError
        If the shapes differ, or either is not a 2-D array of finite real numbers.
    """
    moving = _as_points(new, "new")
    fixed = _as_points(previous, "previous")
    if moving.shape != fixed.shape:
        raise InputError(
            f"new has shape {moving.shape} but previous has shape {fixed.shape}; align needs two "
            "layouts of the same points in the same row order."
        )
    if moving.shape[0] == 0:
        return moving.astype(np.float32)
    moving_centre, fixed_centre = moving.mean(axis=0), fixed.mean(axis=0)
    a, b = moving - moving_centre, fixed - fixed_centre
    spread = float((a**2).sum())
    if spread == 0.0:
        return np.broadcast_to(fixed_centre, moving.shape).astype(np.float32)
    u, s, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    scale = s.sum() / spread
    return (scale * a @ rotation + fixed_centre).astype(np.float32)


def project(
    X: np.ndarray,
    method: Literal["pca", "umap"] = "pca",
    previous: np.ndarray | None = None,
    *,
    n_neighbors: int = 15,
    n_epochs: int | None = None,
    random_state: int | None = None,
) -> Projection:
    """Project ``X`` with ``method`` and, given the ``previous`` frame, align to it.

    Parameters
    ----------
    X : array-like
        ``[n, d]``, one point per row.
    method : {"pca", "umap"}, default "pca"
        :func:`pca_2d` or :func:`umap_2d`.
    previous : numpy.ndarray, optional
        The previous ``[n, 2]`` frame of the same points: the result is aligned to it, and
        for ``"umap"`` it is also the initial layout.
    n_neighbors, n_epochs, random_state
        As in :func:`umap_2d`; ignored by ``"pca"``.

    Returns
    -------
    Projection
        The frame, timed over the whole call.

    Raises
    ------
    InputError
        On an unknown ``method``, bad points or UMAP settings, or a ``previous`` of another
        shape.
    MissingExtraError
        For ``"umap"`` when umap-learn is not installed.
    """
    started = time.perf_counter()
    if method == "pca":
        coords = pca_2d(X)
    elif method == "umap":
        coords = umap_2d(
            X, init=previous, n_neighbors=n_neighbors, n_epochs=n_epochs, random_state=random_state
        )
    else:
        raise InputError(f"method must be 'pca' or 'umap'; got {describe(method)}.")
    if previous is not None:
        coords = align(coords, previous)
    return Projection(coords=coords, method=method, seconds=time.perf_counter() - started)


def warm_up_umap(random_state: int | None = None) -> float:
    """Import umap and compile its numba code with a tiny fit.

    Meant for a background thread at start-up, so the first real :func:`umap_2d` call is fast.
    Concurrent calls wait for each other; a later call returns quickly once the code is
    compiled.

    Parameters
    ----------
    random_state : int, optional
        Pass the same kind (None or an int) as the later calls: seeded and unseeded fits use
        separately compiled (serial / parallel) code.

    Returns
    -------
    float
        The seconds it took.

    Raises
    ------
    MissingExtraError
        If umap-learn is not installed.
    """
    with _WARM_UP_LOCK:
        started = time.perf_counter()
        points = np.random.default_rng(0).standard_normal((64, 8))
        umap_2d(points, n_neighbors=5, n_epochs=20, random_state=random_state)
        return time.perf_counter() - started


def _as_points(X: np.ndarray, name: str) -> np.ndarray:
    """``X`` as a float64 ``[n, d]`` array with finite values, or an InputError saying why not."""
    array = np.asarray(X)
    if array.ndim == 3:
        raise InputError(
            f"{name} has shape {array.shape}: one [tastes, d] block per point (multi-taste "
            "representations?). Flatten it to one point per (user, taste) with "
            f"{name}.reshape(-1, {name}.shape[-1]), or project one taste with {name}[:, t]."
        )
    if array.ndim != 2:
        raise InputError(f"{name} must be a 2-D array [n_points, n_dims]; got shape {array.shape}.")
    if array.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers; got dtype {array.dtype}.")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        raise InputError(
            f"{name} has {int(bad.sum())} row(s) with NaN or infinite values, e.g. rows "
            f"{np.flatnonzero(bad)[:10].tolist()}; a model that diverged gives NaN embeddings: "
            "lower the learning rate, or drop those rows before projecting."
        )
    return array


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}; got {describe(value)}.")


def _scaled_init(init: np.ndarray, n: int, random_state: int | None) -> np.ndarray:
    """A previous layout in UMAP's own initial scale: centred, max |coordinate| = 10, plus
    1e-4 noise (as UMAP does for its own initialisations) so duplicate points and flat axes
    do not break UMAP's per-axis min-max rescaling."""
    layout = _as_points(init, "init")
    if layout.shape != (n, 2):
        raise InputError(
            f"init has shape {layout.shape}; expected ({n}, 2): a previous 2-D layout of the "
            "same points in the same order."
        )
    layout = layout - layout.mean(axis=0)
    extent = np.abs(layout).max(initial=0.0)
    if extent > 0:
        layout *= 10.0 / extent
    noise = np.random.default_rng(random_state).normal(scale=1e-4, size=layout.shape)
    return (layout + noise).astype(np.float32)
