"""Normalise and validate interaction and feature inputs into CSR ``float32`` matrices.

Every entry point of the package that takes a matrix goes through :func:`as_interactions` or
:func:`as_features`, so a user gets the same clear :class:`~tensorrec_explore.errors.InputError`
whatever the input shape (scipy sparse, numpy array, pandas DataFrame of a dense matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import InputError, describe

__all__ = ["as_features", "as_interactions", "check_seed", "from_triples", "identity"]

#: Seeds are integers in ``[0, SEED_LIMIT)`` (numpy's and Keras' common ground).
SEED_LIMIT = 2**32


def check_seed(value: Any, name: str = "seed") -> int | None:
    """Check a random seed.

    Parameters
    ----------
    value : int or None
        The seed given by the user.
    name : str, default "seed"
        The argument's name, for the error message.

    Returns
    -------
    int or None
        ``value`` as a Python int in ``[0, 2**32)``, or None when it is None.

    Raises
    ------
    InputError
        If ``value`` is a bool, not an integer, or outside ``[0, 2**32)``.
    """
    if value is None:
        return None
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, np.integer))
        or not 0 <= value < SEED_LIMIT
    ):
        raise InputError(f"{name} must be None or an integer in [0, 2**32), got {describe(value)}.")
    return int(value)


def _to_sparse(value: Any, name: str) -> sp.csr_matrix:
    """Return ``value`` as a CSR float32 matrix (no validation of contents yet)."""
    if sp.issparse(value):
        matrix = sp.csr_matrix(value, dtype=np.float32)
    elif isinstance(value, pd.DataFrame):
        try:
            dense = value.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"{name}: a DataFrame must hold a numeric dense matrix (rows x columns), got "
                f"dtypes {sorted(set(map(str, value.dtypes)))}. For (user, item, value) rows use "
                "InteractionDataset.from_frame(df, user_col=..., item_col=...)."
            ) from e
        matrix = sp.csr_matrix(dense.astype(np.float32))
    else:
        try:
            dense = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"{name} must be a scipy.sparse matrix, a 2-D numpy array or a numeric DataFrame, "
                f"got {type(value).__name__} {describe(value)}."
            ) from e
        if dense.ndim != 2:
            raise InputError(
                f"{name} must be 2-D (rows x columns), got an array of shape {dense.shape}; "
                "reshape it, e.g. x.reshape(1, -1) for a single row."
            )
        matrix = sp.csr_matrix(dense.astype(np.float32))
    return matrix


def _check_finite(matrix: sp.csr_matrix, name: str) -> None:
    bad = ~np.isfinite(matrix.data)
    if bad.any():
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[bad]
        cols = matrix.indices[bad]
        examples = ", ".join(f"({r}, {c})" for r, c in list(zip(rows, cols, strict=True))[:3])
        raise InputError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s), e.g. at {examples}; "
            "drop or fill them before building the matrix (e.g. df.dropna())."
        )


def _check_shape(matrix: sp.csr_matrix, name: str, n_rows: int | None, n_cols: int | None) -> None:
    for axis, expected, what in ((0, n_rows, "rows"), (1, n_cols, "columns")):
        if expected is not None and matrix.shape[axis] != expected:
            raise InputError(
                f"{name} has shape {matrix.shape}, expected {expected} {what}; build it with the "
                "same user/item index as the interactions (e.g. from the same InteractionDataset)."
            )


def as_interactions(
    value: Any,
    name: str = "interactions",
    *,
    n_users: int | None = None,
    n_items: int | None = None,
) -> sp.csr_matrix:
    """Return ``value`` as a canonical CSR ``float32`` (n_users, n_items) interaction matrix.

    Duplicate entries are summed, explicit zeros dropped and indices sorted.

    Parameters
    ----------
    value : scipy.sparse matrix, 2-D array-like or numeric pandas.DataFrame
        The interactions, one row per user and one column per item.
    name : str, default "interactions"
        The argument's name, for error messages.
    n_users, n_items : int, optional
        The expected number of rows / columns; not checked when None.

    Returns
    -------
    scipy.sparse.csr_matrix
        A ``float32`` matrix with at least one nonzero entry.

    Raises
    ------
    InputError
        On NaN or infinite values, a non-2-D or non-numeric input, a matrix without any nonzero
        entry, or a shape that disagrees with ``n_users`` / ``n_items``.
    """
    matrix = _to_sparse(value, name)
    matrix.sum_duplicates()
    _check_finite(matrix, name)
    matrix.eliminate_zeros()
    _check_shape(matrix, name, n_users, n_items)
    if matrix.nnz == 0:
        raise InputError(
            f"{name} of shape {matrix.shape} has no nonzero entry; a model cannot learn from it. "
            "Check the filter that produced it (e.g. a rating threshold that keeps nothing)."
        )
    return matrix


def as_features(value: Any, name: str, n_rows: int) -> sp.csr_matrix | None:
    """Return a feature matrix as CSR ``float32`` with ``n_rows`` rows, or None for identity.

    Parameters
    ----------
    value : scipy.sparse matrix, 2-D array-like, numeric pandas.DataFrame or None
        One row per user (or item), one column per feature. None means "one indicator column
        per row" and is passed through, so callers never materialise an n x n identity.
    name : str
        The argument's name, for error messages.
    n_rows : int
        The number of users (or items) the matrix must have as rows.

    Returns
    -------
    scipy.sparse.csr_matrix or None
        The ``float32`` feature matrix, or None when ``value`` is None.

    Raises
    ------
    InputError
        On NaN or infinite values, a non-2-D or non-numeric input, a row count other than
        ``n_rows`` or no column at all.
    """
    if value is None:
        return None
    matrix = _to_sparse(value, name)
    matrix.sum_duplicates()
    _check_finite(matrix, name)
    matrix.eliminate_zeros()
    _check_shape(matrix, name, n_rows, None)
    if matrix.shape[1] == 0:
        raise InputError(
            f"{name} has shape {matrix.shape}: no feature column. Pass None for identity features."
        )
    return matrix


def identity(n: int) -> sp.csr_matrix:
    """Return the identity features: one indicator column per user or item.

    Parameters
    ----------
    n : int
        The number of users or items.

    Returns
    -------
    scipy.sparse.csr_matrix
        The (n, n) ``float32`` identity.
    """
    return sp.identity(n, dtype=np.float32, format="csr")


def from_triples(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Return a canonical CSR ``float32`` matrix from parallel index / value arrays.

    Parameters
    ----------
    rows, cols : numpy.ndarray
        Row (user) and column (item) indices, one per entry; the pairs must be unique (the
        callers check it).
    values : numpy.ndarray
        The entries' values, parallel to ``rows`` and ``cols``.
    shape : tuple of int
        The matrix's (n_rows, n_cols).

    Returns
    -------
    scipy.sparse.csr_matrix
        A ``float32`` matrix with sorted indices (row-major (user, item) order).
    """
    matrix = sp.csr_matrix(
        (np.asarray(values, dtype=np.float32), (np.asarray(rows), np.asarray(cols))), shape=shape
    )
    matrix.sort_indices()
    return matrix
