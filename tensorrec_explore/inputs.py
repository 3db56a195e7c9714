"""Validation of what users pass to the model: interactions, features, user ids and ``k``.

Matrices go through the data layer's :mod:`~tensorrec_explore.data.interactions` checks. Every
check raises :class:`~tensorrec_explore.errors.InputError` naming the argument, what was
received and how to fix it, before any TensorFlow code runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .data.interactions import as_features, as_interactions
from .errors import InputError


def check_interactions(interactions: Any, name: str = "interactions") -> sp.csr_matrix:
    """Return validated interactions as sorted CSR: non-empty, finite, 2-D."""
    csr = as_interactions(interactions, name)
    csr.sort_indices()
    return csr


def check_features(
    features: Any, n_rows: int, name: str, n_columns: int | None = None
) -> sp.csr_matrix | None:
    """Return features as CSR, or None for identity features (None or an identity matrix)."""
    csr = as_features(features, name, n_rows)
    if csr is None:
        return None
    if n_columns is not None and csr.shape[1] != n_columns:
        raise InputError(
            f"{name} has {csr.shape[1]} columns but the model was fitted with {n_columns}; "
            "build new rows with the same feature encoding as in fit."
        )
    csr.sort_indices()
    return None if is_identity(csr) else csr


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
