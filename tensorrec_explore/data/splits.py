"""Train/test splits that never leak: per-user random holdout, leave-last-out, cold start.

Every function takes a CSR interaction matrix or an :class:`InteractionDataset` and returns a
:class:`Split` whose train and test share no (user, item) pair (checked on construction). A
dataset built with weights (``weight_col=...``) gives a split whose ``train_weights`` are aligned
with ``train``: ``model.fit(split.train, sample_weight=split.train_weights)``.
:func:`random_holdout` is exactly the protocol of the project's BENCHMARK.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, describe
from ..leakage import check_no_leakage
from .dataset import InteractionDataset
from .frames import check_aligned_weights
from .interactions import as_interactions, check_seed, from_triples

__all__ = [
    "Split",
    "check_no_leakage",
    "cold_start_items",
    "cold_start_users",
    "leave_last_out",
    "random_holdout",
]


@dataclass(frozen=True, eq=False)
class Split:
    """Train and test CSR float32 matrices of the same (n_users, n_items) shape.

    Unpacks as ``train, test = split``.

    Parameters
    ----------
    train, test : scipy.sparse.csr_matrix
        Disjoint interactions (no shared (user, item) pair).
    cold_users, cold_items : numpy.ndarray, optional
        Sorted indices held out entirely by a cold-start split (no train interaction).
    train_weights : scipy.sparse.csr_matrix, optional
        The weights of the train interactions (exactly their entries: the ``sample_weight``
        of ``fit``) when the split data was an :class:`InteractionDataset` with weights.

    Raises
    ------
    LeakageError
        If ``train`` and ``test`` share a (user, item) pair.
    InputError
        If their shapes differ, or ``train_weights`` are not aligned with ``train``.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    cold_users: np.ndarray | None = None
    cold_items: np.ndarray | None = None
    train_weights: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        check_no_leakage(self.train, self.test)
        if self.train_weights is not None:
            check_aligned_weights(self.train_weights, self.train)

    def __iter__(self) -> Iterator[sp.csr_matrix]:
        return iter((self.train, self.test))

    def __repr__(self) -> str:
        cold = ""
        if self.cold_users is not None:
            cold += f", {len(self.cold_users)} cold users"
        if self.cold_items is not None:
            cold += f", {len(self.cold_items)} cold items"
        return f"<Split {self.train.shape}: train {self.train.nnz}, test {self.test.nnz}{cold}>"


def _matrix(data: Any, binary: bool) -> sp.csr_matrix:
    matrix = data.interactions if isinstance(data, InteractionDataset) else as_interactions(data)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    if binary:
        matrix = (matrix > 0).astype(np.float32).tocsr()
        if matrix.nnz == 0:
            raise InputError(
                "the interactions hold no positive value to split; with binary=True only values "
                "> 0 count as positives. Pass binary=False to split signed values as they are."
            )
    return matrix


def _weights(data: Any, matrix: sp.csr_matrix) -> np.ndarray | None:
    """Return the dataset's weights of ``matrix``'s entries (in CSR order), or None."""
    weights = data.weights if isinstance(data, InteractionDataset) else None
    if weights is None:
        return None
    return check_aligned_weights(weights.multiply(matrix != 0), matrix).data


def _split_entries(
    matrix: sp.csr_matrix, test_mask: np.ndarray, weights: np.ndarray | None, **cold: Any
) -> Split:
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    train, test = (
        from_triples(rows[m], matrix.indices[m], matrix.data[m], matrix.shape)
        for m in (~test_mask, test_mask)
    )
    train_weights = None
    if weights is not None:
        keep = ~test_mask
        train_weights = from_triples(rows[keep], matrix.indices[keep], weights[keep], matrix.shape)
    return Split(train=train, test=test, train_weights=train_weights, **cold)


def _check_fraction(fraction: float, name: str) -> None:
    if not 0.0 < fraction < 1.0:
        raise InputError(f"{name} must be in (0, 1), got {describe(fraction)}.")


def random_holdout(
    data: Any,
    test_fraction: float = 0.2,
    seed: int = 42,
    *,
    min_positives: int = 5,
    binary: bool = True,
) -> Split:
    """Return the per-user random holdout of BENCHMARK.md.

    ``rng = numpy.random.default_rng(seed)``; for each user in index order with at least one
    interaction, that user's item indices (ascending) are shuffled with ``rng`` and the first
    ``floor(test_fraction * n)`` go to test when ``n >= min_positives`` (else none).

    Parameters
    ----------
    data : InteractionDataset or matrix
        The interactions (anything :func:`as_interactions` accepts).
    test_fraction : float, default 0.2
        The share of each user's interactions held out, in (0, 1).
    seed : int, default 42
        The random seed.
    min_positives : int, default 5
        Users with fewer interactions keep them all in train.
    binary : bool, default True
        Keep only positive values (> 0), as 1.0; False splits every stored value (e.g.
        ratings, or +1 / -1) as it is.

    Returns
    -------
    Split
        Train and test, checked leak-free.

    Raises
    ------
    InputError
        On a fraction outside (0, 1), a bad seed, malformed interactions, or (with
        ``binary=True``) no positive value.
    """
    _check_fraction(test_fraction, "test_fraction")
    matrix = _matrix(data, binary)
    rng = np.random.default_rng(check_seed(seed))
    test_mask = np.zeros(matrix.nnz, dtype=bool)
    for user in range(matrix.shape[0]):
        start, stop = matrix.indptr[user], matrix.indptr[user + 1]
        n = stop - start
        if n == 0:
            continue
        positions = np.arange(start, stop)  # CSR order = ascending item index
        rng.shuffle(positions)
        n_test = int(np.floor(test_fraction * n)) if n >= min_positives else 0
        test_mask[positions[:n_test]] = True
    return _split_entries(matrix, test_mask, _weights(data, matrix))


def leave_last_out(
    data: Any,
    timestamps: np.ndarray | None = None,
    n_last: int = 1,
    *,
    binary: bool = True,
) -> Split:
    """Return a split whose test holds each user's ``n_last`` most recent interactions.

    Users with ``n_last`` interactions or fewer stay entirely in train. Ties in time are broken
    by the higher item index being "later".

    Parameters
    ----------
    data, binary
        As in :func:`random_holdout`.
    timestamps : numpy.ndarray, optional
        One time per stored entry of the matrix, in CSR order; an InteractionDataset's own
        ``timestamps`` when None.
    n_last : int, default 1
        How many interactions per user go to test.

    Returns
    -------
    Split
        Each user's latest interactions as test, the others as train (checked leak-free).

    Raises
    ------
    InputError
        Without timestamps, with timestamps not aligned with the entries, ``n_last < 1``,
        malformed interactions, or (with ``binary=True``) no positive value.
    """
    if isinstance(data, InteractionDataset) and timestamps is None:
        timestamps = data.timestamps
    if timestamps is None:
        raise InputError(
            "leave_last_out needs timestamps: build the dataset with timestamp_col=..., or pass "
            "timestamps aligned with the matrix's stored entries."
        )
    if n_last < 1:
        raise InputError(f"n_last must be >= 1, got {describe(n_last)}.")
    raw = data.interactions if isinstance(data, InteractionDataset) else as_interactions(data)
    timestamps = np.asarray(timestamps, dtype=np.float64)
    if timestamps.shape != (raw.nnz,):
        raise InputError(
            f"timestamps has shape {timestamps.shape}, expected ({raw.nnz},): one per stored "
            "interaction in CSR order."
        )
    if binary:
        timestamps = timestamps[raw.data > 0]
    matrix = _matrix(data, binary)
    test_mask = np.zeros(matrix.nnz, dtype=bool)
    for user in range(matrix.shape[0]):
        start, stop = matrix.indptr[user], matrix.indptr[user + 1]
        if stop - start <= n_last:
            continue
        order = np.lexsort((matrix.indices[start:stop], timestamps[start:stop]))
        test_mask[start + order[-n_last:]] = True
    return _split_entries(matrix, test_mask, _weights(data, matrix))


def _cold_split(data: Any, fraction: float, seed: int, binary: bool, axis: int) -> Split:
    _check_fraction(fraction, "fraction")
    matrix = _matrix(data, binary)
    counts = (
        np.diff(matrix.indptr)
        if axis == 0
        else np.bincount(matrix.indices, minlength=matrix.shape[1])
    )
    candidates = np.flatnonzero(counts)
    n_cold = max(1, round(fraction * len(candidates)))
    if n_cold >= len(candidates):
        raise InputError(
            f"fraction={fraction} would hold out all {len(candidates)} active "
            f"{'users' if axis == 0 else 'items'}; lower it so some remain for training."
        )
    cold = np.sort(
        np.random.default_rng(check_seed(seed)).choice(candidates, n_cold, replace=False)
    )
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    test_mask = np.isin(rows if axis == 0 else matrix.indices, cold)
    key = "cold_users" if axis == 0 else "cold_items"
    return _split_entries(matrix, test_mask, _weights(data, matrix), **{key: cold})


def cold_start_items(
    data: Any, fraction: float = 0.2, seed: int = 42, *, binary: bool = True
) -> Split:
    """Return a split holding out every interaction of a random ``fraction`` of items.

    ``round(fraction * n)`` (at least 1) of the n items with at least one interaction are drawn
    with ``default_rng(seed)``. They have no train interaction, so a model can only score them
    through item features.

    Parameters
    ----------
    data, binary
        As in :func:`random_holdout`.
    fraction : float, default 0.2
        The share of active items held out, in (0, 1).
    seed : int, default 42
        The random seed.

    Returns
    -------
    Split
        Train and test (checked leak-free); ``split.cold_items`` lists the held-out items, sorted.

    Raises
    ------
    InputError
        On a fraction outside (0, 1) or one that would hold out every active item, a bad
        seed, malformed interactions, or (with ``binary=True``) no positive value.
    """
    return _cold_split(data, fraction, seed, binary, axis=1)


def cold_start_users(
    data: Any, fraction: float = 0.2, seed: int = 42, *, binary: bool = True
) -> Split:
    """Return a split holding out every interaction of a random ``fraction`` of users.

    As :func:`cold_start_items`, over users.

    Parameters
    ----------
    data, seed, binary
        As in :func:`cold_start_items`.
    fraction : float, default 0.2
        The share of active users held out, in (0, 1).

    Returns
    -------
    Split
        ``split.cold_users`` lists the held-out users (sorted); train and test are leak-free.

    Raises
    ------
    InputError
        As :func:`cold_start_items`.
    """
    return _cold_split(data, fraction, seed, binary, axis=0)
