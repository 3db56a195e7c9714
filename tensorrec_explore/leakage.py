"""The one leak check shared by the splits and the metrics (numpy / scipy only)."""

from __future__ import annotations

from typing import Any

import scipy.sparse as sp

from .errors import InputError, LeakageError


def check_no_leakage(train: Any, test: Any) -> None:
    """Check that ``train`` and ``test`` share no stored (user, item) pair.

    Parameters
    ----------
    train, test : scipy.sparse matrix or array-like
        Interaction matrices of the same shape.

    Raises
    ------
    LeakageError
        If they share a pair (the message shows up to three).
    InputError
        If their shapes differ.
    """
    train, test = sp.csr_matrix(train), sp.csr_matrix(test)
    if train.shape != test.shape:
        raise InputError(
            f"train has shape {train.shape} but test has shape {test.shape}; both must index "
            "the same users and items."
        )
    overlap = (train != 0).multiply(test != 0).tocoo()
    if overlap.nnz:
        pairs = list(zip(overlap.row[:3].tolist(), overlap.col[:3].tolist(), strict=True))
        raise LeakageError(
            f"train and test share {overlap.nnz} (user, item) pair(s), e.g. {pairs}; metrics "
            "would be inflated. Build them with a split function (e.g. random_holdout) or remove "
            "the test pairs from train: train = train - train.multiply(test != 0)."
        )
