"""Validation of what users pass to the model: interactions, features, user ids and ``k``.

Every check raises :class:`~tensorrec_explore.errors.InputError` naming the argument, what was
received and how to fix it, before any TensorFlow code runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InputError


def as_csr(matrix: Any, name: str) -> sp.csr_matrix:
    """Return ``matrix`` (scipy sparse, numpy array or DataFrame) as a float32 CSR matrix."""
    if hasattr(matrix, "to_numpy") and not sp.issparse(matrix):
        matrix = matrix.to_numpy()
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix, dtype=np.float32)
    else:
        try:
            array = np.asarray(matrix, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise InputError(
                f"{name} must be a 2-D numeric matrix (scipy.sparse or numpy), got "
                f"{type(matrix).__name__}."
            ) from error
        if array.ndim != 2:
            raise InputError(f"{name} must be 2-D, got an array of shape {array.shape}.")
        csr = sp.csr_matrix(array)
    if not np.all(np.isfinite(csr.data)):
        bad = np.flatnonzero(~np.isfinite(csr.data))[:5]
        rows = np.searchsorted(csr.indptr, bad, side="right") - 1
        raise InputError(
            f"{name} contains NaN or infinite values (first in rows {rows.tolist()}); "
            "drop or fill them before fitting."
        )
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def check_interactions(interactions: Any, name: str = "interactions") -> sp.csr_matrix:
    """Return validated interactions as CSR: non-empty, finite, with at least one row and column."""
    csr = as_csr(interactions, name)
    if csr.shape[0] == 0 or csr.shape[1] == 0 or csr.nnz == 0:
        raise InputError(
            f"{name} is empty (shape {csr.shape}, {csr.nnz} non-zero values); a model needs at "
            "least one observed interaction."
        )
    return csr


def check_features(
    features: Any, n_rows: int, name: str, n_columns: int | None = None
) -> sp.csr_matrix | None:
    """Return features as CSR, or None for identity features (None or an identity matrix)."""
    if features is None:
        return None
    csr = as_csr(features, name)
    if csr.shape[0] != n_rows:
        raise InputError(
            f"{name} has {csr.shape[0]} rows but the interactions have {n_rows}; pass one "
            f"feature row per {'user' if 'user' in name else 'item'}."
        )
    if n_columns is not None and csr.shape[1] != n_columns:
        raise InputError(
            f"{name} has {csr.shape[1]} columns but the model was fitted with {n_columns}."
        )
    if is_identity(csr):
        return None
    return csr


def is_identity(csr: sp.csr_matrix) -> bool:
    """True when ``csr`` is a square identity matrix."""
    n = csr.shape[0]
    return (
        csr.shape[1] == n and csr.nnz == n
        and np.array_equal(csr.indices, np.arange(n)) and np.all(csr.data == 1.0)
        and np.array_equal(csr.indptr, np.arange(n + 1))
    )


def check_ids(ids: Any, n: int, name: str) -> np.ndarray:
    """Return ``ids`` as an int64 array, checking every id lies in ``[0, n)``."""
    array = np.atleast_1d(np.asarray(ids))
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"{name} must be integer indices, got dtype {array.dtype}.")
    array = array.astype(np.int64).ravel()
    bad = array[(array < 0) | (array >= n)]
    if bad.size:
        raise InputError(
            f"{name} has ids out of range [0, {n}): {bad[:5].tolist()}. Map raw ids to indices "
            "with the dataset's user_index()/item_index()."
        )
    return array


def check_k(k: Any, n_items: int) -> int:
    """Return ``k`` as an int in ``[1, n_items]``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise InputError(f"k must be a positive integer, got {k!r}.")
    if k > n_items:
        raise InputError(f"k={k} is larger than the catalogue ({n_items} items).")
    return int(k)
