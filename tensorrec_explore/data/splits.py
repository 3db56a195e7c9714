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

    ``cold_users`` / ``cold_items``: sorted indices held out entirely (cold-start splits; they
    have no train interaction), else None. ``train_weights``: the weights of the train
    interactions (CSR with exactly their entries: the ``sample_weight`` of ``fit``) when the
    split data was an :class:`InteractionDataset` with weights, else None. Unpacks as
    ``train, test = split``.
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
    positive, that user's positive item indices (ascending) are shuffled with ``rng`` and the
    first ``floor(test_fraction * n)`` go to test when ``n >= min_positives`` (else none).
    Positives are values > 0; train/test are 0/1. With ``binary=False`` every stored value
    (e.g. ratings, or +1/-1) is split the same way and kept as is.
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

    ``timestamps`` align with the stored entries of the matrix in CSR order (an
    InteractionDataset provides its own). Users with ``n_last`` interactions or fewer stay
    entirely in train. Ties in time are broken by the higher item index being "later".
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

    ``round(fraction * n)`` of the n items with at least one interaction are drawn with
    ``default_rng(seed)``; ``split.cold_items`` lists them (sorted). They have no train
    interaction, so a model can only score them through item features.
    """
    return _cold_split(data, fraction, seed, binary, axis=1)


def cold_start_users(
    data: Any, fraction: float = 0.2, seed: int = 42, *, binary: bool = True
) -> Split:
    """Return a split holding out every interaction of a random ``fraction`` of users.

    As :func:`cold_start_items`, over users; ``split.cold_users`` lists them (sorted).
    """
    return _cold_split(data, fraction, seed, binary, axis=0)
