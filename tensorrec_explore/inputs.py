"""Validation of what users pass to the model: hyperparameters, interactions, features, ids, ``k``.

Matrices go through the data layer's :mod:`~tensorrec_explore.data.interactions` checks. Every
check raises :class:`~tensorrec_explore.errors.InputError` naming the argument, what was
received and how to fix it, before any TensorFlow code runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .data.interactions import as_features, as_interactions
from .defaults import FULL_SOFTMAX_LIMIT, LEARNING_RATE_SCHEDULES
from .errors import InputError, TrainingError


def check_hyperparameters(params: dict[str, Any]) -> None:
    """Check the numeric / named settings of ``TensorRec.get_params()`` (plug-ins apart)."""
    for name in ("n_components", "n_tastes"):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise InputError(f"{name} must be a positive integer, got {value!r}.")
    for name in ("epochs", "batch_size", "n_sampled_items"):
        value = params[name]
        if value is not None and (not isinstance(value, (int, np.integer)) or value <= 0):
            raise InputError(f"{name} must be a positive integer or None, got {value!r}.")
    rate = params["learning_rate"]
    if rate is not None and (not isinstance(rate, (int, float, np.number))
                             or not np.isfinite(rate) or rate <= 0):
        raise InputError(f"learning_rate must be positive or None, got {rate!r}.")
    if params["learning_rate_schedule"] not in (None, *LEARNING_RATE_SCHEDULES):
        raise InputError(f"learning_rate_schedule must be None or one of {LEARNING_RATE_SCHEDULES}, "
                         f"got {params['learning_rate_schedule']!r}.")
    l2 = params["l2"]
    if l2 is not None and (not np.isfinite(l2) or l2 < 0):
        raise InputError(f"l2 must be >= 0, got {l2!r}.")


def check_loss_fits_data(loss: Any, name: str, interactions: sp.csr_matrix) -> None:
    """Raise when ``loss`` (called ``name``) cannot learn from ``interactions`` (CSR)."""
    positives = int((interactions.data > 0).sum())
    if loss.inputs in ("dense", "sampled") and positives == 0 and not loss.needs_negatives:
        raise TrainingError(
            f"The {name} loss ranks liked items above others, but the interactions hold no "
            "positive value. Convert your data (e.g. ratings >= 4 -> 1) or use loss='rmse'."
        )
    if loss.needs_negatives and not (interactions.data <= 0).any():
        raise TrainingError(
            f"The {name} loss needs disliked (negative) interactions among the observed ones, "
            "and there are none. Use 'separation_dense' for implicit data."
        )
    n_items = interactions.shape[1]
    if loss.inputs == "dense" and n_items > FULL_SOFTMAX_LIMIT * 4:
        raise InputError(
            f"The {name} loss scores every item per step, too costly for {n_items} items; use a "
            "sampled loss (wmrb, bpr, warp, logistic) or softmax with n_sampled_items."
        )


def check_interactions_shape(matrix: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    """Return ``matrix`` (the ``exclude`` argument) as CSR, checking it has ``shape``."""
    csr = sp.csr_matrix(matrix)
    if csr.shape != shape:
        raise InputError(f"exclude has shape {csr.shape}; expected {shape} (users x items).")
    return csr


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
