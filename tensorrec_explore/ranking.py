"""The one ranking engine: top-k of a score block and the rank of every item (numpy only).

Every ranking in the package goes through here (``TensorRec.recommend`` / ``predict_rank`` /
``similar_items``, :mod:`tensorrec_explore.metrics`, the explorer's inspector), so they share
one rule:

* higher score first, ties to the lower item index;
* an *excluded* item (a stored entry of the ``exclude`` matrix) ranks below every other item,
  even one scored ``-inf``, and is never returned by :func:`top_k_rows`: a row with fewer than
  ``k`` eligible items ends with ids :data:`PAD_ID` and scores NaN.

Scores must not contain NaN (:class:`~tensorrec_explore.errors.InputError` otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from .errors import InputError

__all__ = [
    "BLOCK",
    "PAD_ID",
    "mask_rows",
    "rank_rows",
    "row_blocks",
    "top_k_others",
    "top_k_rows",
]

#: The id that pads a top-k row when fewer than k items are eligible (its score is NaN).
PAD_ID = -1
#: Largest score block (floats) ranked at once: 2^24 floats, 64 MB of float32.
BLOCK = 1 << 24
#: Scores partitioned at once inside a block (keeps the partition's int64 index array small).
_CHUNK = 1 << 18


def row_blocks(n_rows: int, n_items: int, rows_per_block: int | None = None) -> Iterator[slice]:
    """Yield consecutive slices covering ``range(n_rows)``.

    Parameters
    ----------
    n_rows, n_items
        The shape of the whole score matrix.
    rows_per_block
        Rows per slice; by default as many as keep a block within :data:`BLOCK` floats.

    Returns
    -------
    Iterator[slice]
        Slices of at most ``rows_per_block`` rows, in order.
    """
    size = rows_per_block or max(1, BLOCK // max(n_items, 1))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def mask_rows(block: np.ndarray, exclude: sp.csr_matrix, value: float) -> None:
    """Set ``block`` to ``value`` in place wherever ``exclude`` (rows aligned) stores an entry.

    Parameters
    ----------
    block : ndarray [rows, n_items]
        A writeable float array.
    exclude : scipy.sparse.csr_matrix [rows, n_items]
        Canonical CSR; its stored entries, whatever their value, are the positions set.
    value : float
        What to write (NaN marks an excluded item for :func:`top_k_rows`' exact path).
    """
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    block[rows, exclude.indices] = value


def top_k_rows(
    block: np.ndarray, k: int, exclude: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` best items of each row of ``block``, best first.

    Parameters
    ----------
    block : ndarray [rows, n_items]
        Float scores without NaN. When ``exclude`` is given the block is used as scratch space
        (its excluded entries are overwritten), so it must be writeable and owned by the caller.
    k : int
        Items per row, ``1 <= k <= n_items`` (the caller checks).
    exclude : scipy.sparse.csr_matrix [rows, n_items], optional
        Canonical CSR whose stored entries are never returned.

    Returns
    -------
    indices : ndarray of int64 [rows, k]
        Item indices, higher score first, ties to the lower index; :data:`PAD_ID` where a row has
        fewer than ``k`` eligible items.
    scores : ndarray [rows, k]
        Their scores (``block``'s dtype), NaN where the index is :data:`PAD_ID`.

    Raises
    ------
    InputError
        If ``block`` contains NaN.
    """
    n_rows, n_items = block.shape
    if exclude is not None:
        mask_rows(block, exclude, -np.inf)
    cols = np.empty((n_rows, k), np.int64)
    redo = np.empty(n_rows, bool)
    for rows in row_blocks(n_rows, n_items, max(1, _CHUNK // n_items)):
        cols[rows], redo[rows] = _candidates(block[rows], k)
    if redo.any():
        exact = block[redo]  # a copy
        if exclude is not None:
            mask_rows(exact, exclude[np.flatnonzero(redo)], np.nan)
        cols[redo] = _exact_top_k(exact, k)
    cols.sort(axis=1)  # ascending index, so the stable sort below gives ties to the lower one
    vals = np.take_along_axis(block, cols, axis=1)
    if exclude is not None and redo.any():
        vals[redo] = np.take_along_axis(exact, cols[redo], axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")  # NaN (padding) last
    cols = np.take_along_axis(cols, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    padded = np.isnan(vals)
    cols[padded] = PAD_ID
    return cols, vals


def top_k_others(
    similarities: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the top ``k`` of each row ``i`` of ``similarities`` leaving out column ``ids[i]``.

    Parameters
    ----------
    similarities : ndarray [len(ids), n_items]
        Writeable scores of each of ``ids`` against every item (used as scratch space).
    ids : ndarray of int [len(ids)]
        The item each row belongs to, never returned in its own row.
    k : int
        Items per row, ``1 <= k < n_items`` (the caller checks).

    Returns
    -------
    indices : ndarray of int64 [len(ids), k]
    scores : ndarray [len(ids), k]
        As :func:`top_k_rows`: best first, ties to the lower index.
    """
    itself = sp.csr_matrix(
        (np.ones(len(ids), bool), np.asarray(ids), np.arange(len(ids) + 1)),
        shape=similarities.shape,
    )
    return top_k_rows(similarities, k, itself)


def _candidates(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns (unordered) of the top ``k`` of each row, and which rows need the exact path.

    An ascending partition around the (k+1)-th best score leaves k candidates in the last k
    columns. They are the answer unless the k-th score ties the (k+1)-th: the lower index must
    win, and at -inf excluded items (masked as -inf) would compete with real ones.
    """
    n_items = block.shape[1]
    if k == n_items:
        _check_no_nan(np.isnan(block).any(axis=1))
        cols = np.broadcast_to(np.arange(n_items), block.shape).copy()
        return cols, np.isneginf(block).any(axis=1)
    order = np.argpartition(block, n_items - k - 1, axis=1)
    cols = order[:, n_items - k :].copy()
    vals = np.take_along_axis(block, cols, axis=1)
    pivot = np.take_along_axis(block, order[:, n_items - k - 1, None], axis=1)[:, 0]
    # a NaN sorts above everything, so it is among the candidates or is the pivot
    _check_no_nan(np.isnan(vals).any(axis=1) | np.isnan(pivot))
    return cols, vals.min(axis=1) == pivot


def _exact_top_k(block: np.ndarray, k: int) -> np.ndarray:
    """Columns (unordered) of the top ``k`` of each row, NaN = excluded, ties to lower index.

    A row with fewer than ``k`` non-NaN entries gets all of them, then its lowest NaN columns.
    """
    n_rows = block.shape[0]
    excluded = np.isnan(block)
    negated = np.negative(block)
    negated.partition(k - 1, axis=1)  # NaN sorts last, so excluded items come after real ones
    kth = -negated[:, k - 1, None]
    del negated
    # Rows with fewer than k candidates: every candidate is above the threshold, and the
    # "threshold tie" group is the excluded items.
    short = np.isnan(kth[:, 0])
    above = block > kth
    above[short] = ~excluded[short]
    tied = block == kth
    tied[short] = excluded[short]
    missing = k - above.sum(axis=1, dtype=np.int64)
    tied &= np.cumsum(tied, axis=1, dtype=np.int32) <= missing[:, None]
    above |= tied
    return np.nonzero(above)[1].reshape(n_rows, k)


def rank_rows(scores: np.ndarray, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Return the rank (1 = best) of every item in each row of ``scores``.

    Parameters
    ----------
    scores : ndarray [rows, n_items]
        Float scores without NaN; used as scratch space when ``exclude`` is given.
    exclude : scipy.sparse.csr_matrix [rows, n_items], optional
        Canonical CSR; its stored entries rank last (below even ``-inf`` scores), among
        themselves by index.

    Returns
    -------
    ndarray of int32 [rows, n_items]
        Ranks, higher score first and ties to the lower index; each row is a permutation of
        ``1..n_items``.

    Raises
    ------
    InputError
        If ``scores`` contains NaN.
    """
    _check_no_nan(np.isnan(scores).any(axis=1))
    if exclude is not None:
        mask_rows(scores, exclude, np.nan)
    order = np.argsort(-scores, axis=1, kind="stable")  # NaN (excluded) last
    ranks = np.empty_like(order, dtype=np.int32)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[1] + 1, dtype=np.int32), axis=1)
    return ranks


def _check_no_nan(nan_rows: np.ndarray) -> None:
    """Raise InputError naming the rows flagged in the boolean ``nan_rows``, if any."""
    if nan_rows.any():
        raise InputError(
            f"scores contain NaN for {int(nan_rows.sum())} row(s), e.g. rows "
            f"{np.flatnonzero(nan_rows)[:10].tolist()}; the model has probably diverged: lower "
            "the learning rate or add regularisation, and check the features for NaN."
        )
