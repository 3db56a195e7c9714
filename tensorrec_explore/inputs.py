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
from .defaults import FULL_SOFTMAX_LIMIT
from .errors import InputError, TrainingError, describe
from .settings import STRUCTURAL, is_int


def check_count(value: Any, name: str, *, optional: bool = False) -> None:
    """Raise InputError unless ``value`` is a positive integer (or None when ``optional``)."""
    if optional and value is None:
        return
    if not is_int(value) or value <= 0:
        expected = "a positive integer or None" if optional else "a positive integer"
        raise InputError(
            f"{name} must be {expected} (not a bool, float or string), got {describe(value)}."
        )


def same_setting(a: Any, b: Any) -> bool:
    """True when two values of a setting are the same (plug-in objects: the same object)."""
    if a is b:
        return True
    plain = (str, int, float, bool, np.integer, np.floating, np.bool_)
    return isinstance(a, plain) and isinstance(b, plain) and type(a) is type(b) and a == b


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
    """Return ``matrix`` (the ``exclude`` argument) as canonical CSR, checking it has ``shape``."""
    try:
        csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    except (TypeError, ValueError) as error:
        raise InputError(
            f"exclude must be a 2-D matrix of shape {shape} (users x items), got "
            f"{describe(matrix)}."
        ) from error
    if csr.shape != tuple(shape):
        raise InputError(f"exclude has shape {csr.shape}; expected {tuple(shape)} (users x items).")
    csr.sum_duplicates()
    csr.eliminate_zeros()
    return csr


def check_interactions(interactions: Any, name: str = "interactions") -> sp.csr_matrix:
    """Return validated interactions as sorted CSR: non-empty, finite, 2-D."""
    csr = as_interactions(interactions, name)
    csr.sort_indices()
    return csr


def check_sample_weight(sample_weight: Any, interactions: sp.csr_matrix) -> sp.csr_matrix | None:
    """Return ``sample_weight`` as CSR float32 with exactly the entries of ``interactions``.

    LightFM's semantics: one weight per interaction (a scipy.sparse matrix, a 2-D array or a
    numeric DataFrame of the interactions' shape), None = every weight 1.

    Parameters
    ----------
    sample_weight : matrix or None
        The weights given to ``fit`` / ``fit_partial``.
    interactions : scipy.sparse.csr_matrix
        The validated interactions (canonical CSR, from :func:`check_interactions`).

    Returns
    -------
    scipy.sparse.csr_matrix or None
        The weights, stored in the same order as ``interactions.data``; None when not given.

    Raises
    ------
    InputError
        When ``sample_weight`` is not a matrix, has another shape, holds NaN / infinite or
        negative values, weights a pair that is not an interaction, or leaves an interaction
        without a weight > 0.
    """
    if sample_weight is None:
        return None
    n_users, n_items = interactions.shape
    csr = as_interactions(sample_weight, "sample_weight", n_users=n_users, n_items=n_items)
    csr.sort_indices()
    if (csr.data < 0).any():
        raise InputError(
            f"sample_weight holds {int((csr.data < 0).sum())} negative value(s) (smallest "
            f"{csr.data.min():g}); weights must be > 0. Express a dislike as a negative "
            "interaction value, not a negative weight."
        )
    same = np.array_equal(csr.indptr, interactions.indptr) and np.array_equal(
        csr.indices, interactions.indices
    )
    if not same:
        difference = csr.astype(bool).astype(np.int8) - interactions.astype(bool).astype(np.int8)
        extra, missing = difference > 0, difference < 0
        problem, pairs = (
            ("weights pairs that are not interactions", extra)
            if extra.nnz
            else ("has no weight (or a zero weight) for interactions", missing)
        )
        rows, cols = pairs.nonzero()
        example = [(int(r), int(c)) for r, c in zip(rows[:3], cols[:3], strict=True)]
        raise InputError(
            f"sample_weight {problem}: {pairs.nnz} pair(s), e.g. {example}. It needs one weight "
            "> 0 exactly where interactions has an entry (build both from the same rows, e.g. "
            "InteractionDataset(..., weight_col=...).weights, or a split's train_weights); drop "
            "an interaction to ignore it."
        )
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
        csr.shape[1] == n
        and csr.nnz == n
        and np.array_equal(csr.indices, np.arange(n))
        and np.all(csr.data == 1.0)
        and np.array_equal(csr.indptr, np.arange(n + 1))
    )


def check_ids(ids: Any, n: int, name: str) -> np.ndarray:
    """Return ``ids`` as an int64 array, checking every id lies in ``[0, n)``."""
    try:
        array = np.atleast_1d(np.asarray(ids))
    except (TypeError, ValueError):
        raise InputError(
            f"{name} must be a flat list or array of integer indices, got {describe(ids)}."
        ) from None
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


def check_same_features(model: Any, user_features: Any, item_features: Any) -> None:
    """Raise InputError unless the features equal those ``model`` was fitted with (fit_partial)."""
    for given, table, name in (
        (user_features, model.user_table_, "user_features"),
        (item_features, model.item_table_, "item_features"),
    ):
        same = (
            (given is None)
            if table.is_identity
            else (
                given is not None
                and given.shape == table.matrix.shape
                and (given != table.matrix).nnz == 0
            )
        )
        if not same:
            raise InputError(
                f"fit_partial must use the same {name} as fit; call fit() to start over."
            )


def check_structure_unchanged(model: Any) -> None:
    """Raise InputError when a :data:`STRUCTURAL` setting changed since ``model`` was built."""
    changed = [
        name
        for name in STRUCTURAL
        if not same_setting(getattr(model, name), model.built_settings_[name])
    ]
    if changed:
        raise InputError(
            f"{', '.join(changed)} changed since the model was built (set_params); "
            "fit_partial cannot apply that: call fit() to start over."
        )
