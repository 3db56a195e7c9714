"""Ranking metrics over one batched ranking engine (numpy and scipy only; never TensorFlow).

Definitions are those of ``BENCHMARK.md``:

* a *positive* is a stored entry with a value > 0 (test or train);
* each user's train positives are excluded from the ranking: they rank below every scored item
  (even one scored ``-inf``) and are never a hit;
* per-user metrics are computed for, and averaged over, the users with at least one test
  positive, in ascending user order (``MetricReport.users``);
* top-k ties: higher score first, then lower item index.

A *scorer* is a dense ``ndarray [n_users, n_items]``, a callable ``scorer(users) -> ndarray
[len(users), n_items]``, or any object with ``score_users(users)`` (a fitted ``TensorRec``).
Users are scored in batches whose score block holds at most ~64 MB of float32, so memory stays
bounded whatever the number of users.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias

import numpy as np
import scipy.sparse as sp

from .errors import InputError, LeakageError, describe
from .leakage import check_no_leakage
from .ranking import BLOCK, PAD_ID, mask_rows, top_k_rows

if TYPE_CHECKING:
    import pandas

__all__ = [
    "MetricReport",
    "Scorer",
    "auc_score",
    "catalog_coverage",
    "evaluate",
    "hit_rate_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "top_k",
]


class _SupportsScoreUsers(Protocol):
    def score_users(self, users: np.ndarray) -> np.ndarray: ...


Scorer: TypeAlias = "np.ndarray | Callable[[np.ndarray], np.ndarray] | _SupportsScoreUsers"


@dataclass(frozen=True)
class MetricReport:
    """Result of :func:`evaluate`.

    Parameters
    ----------
    users : numpy.ndarray
        int64 indices of the evaluated users (those with >= 1 test positive), ascending.
    per_user : dict of str to numpy.ndarray
        Metric name -> float64 array aligned with ``users`` (``"precision@10"``,
        ``"recall@10"``, ``"ndcg@10"``, ``"auc"``, ``"mrr"``, ``"hit_rate@10"``, named with
        ``k``). ``"auc"`` is NaN for a user whose every candidate item is a test positive.
    summary : dict of str to float
        Metric name -> mean over ``users`` (NaN AUCs skipped), plus ``"coverage@10"``.
    k : int
        The cut-off.
    """

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    summary: dict[str, float]
    k: int

    def to_frame(self) -> pandas.DataFrame:
        """Return the per-user metrics as a DataFrame (imports pandas).

        Returns
        -------
        pandas.DataFrame
            One column per metric, indexed by user index (named ``"user"``).
        """
        import pandas as pd

        return pd.DataFrame(self.per_user, index=pd.Index(self.users, name="user"))


# ----------------------------------------------------------------------------- public functions


def evaluate(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> MetricReport:
    """Score every user with a test positive and compute all metrics at ``k`` in one pass.

    Parameters
    ----------
    scorer : numpy.ndarray, callable or fitted TensorRec
        A dense ``[n_users, n_items]`` score matrix, ``scorer(users) -> [len(users), n_items]``,
        or an object with ``score_users(users)`` (see the module's docstring).
    test : scipy sparse matrix or numpy.ndarray
        (n_users, n_items) held-out interactions; values > 0 are the positives.
    train : scipy sparse matrix or numpy.ndarray, optional
        (n_users, n_items) training interactions; their positives are excluded from the ranking.
    k : int, default 10
        The cut-off of the top-k metrics.
    batch_size : int, optional
        Users per scoring batch; by default as many as keep one score block bounded.

    Returns
    -------
    MetricReport
        Per-user precision, recall, NDCG and hit rate at ``k``, AUC and reciprocal rank, their
        means, and the catalogue coverage at ``k``.

    Raises
    ------
    InputError
        On bad shapes or ``k``, a test matrix without positives, or NaN scores.
    LeakageError
        When train and test share (user, item) pairs, or ``scorer`` is a model whose kept
        training interactions (``train_interactions_``) include test pairs.
    """
    users, values, coverage = _run(
        scorer, test, train, k, batch_size, ranked=True, auc=True, mrr=True
    )
    per_user = {
        name: values[name]
        for name in (f"precision@{k}", f"recall@{k}", f"ndcg@{k}", "auc", "mrr", f"hit_rate@{k}")
    }
    summary = {name: _mean(v) for name, v in per_user.items()}
    summary[f"coverage@{k}"] = coverage
    return MetricReport(users=users, per_user=per_user, summary=summary, k=k)


def precision_at_k(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return the precision at ``k`` of each evaluated user.

    Parameters
    ----------
    scorer, test, train, batch_size
        As in :func:`evaluate` (the errors too).
    k : int, default 10
        The cut-off: hits in the top ``k``, divided by ``k``.

    Returns
    -------
    numpy.ndarray
        float64 precisions, one per evaluated user (ascending user index).
    """
    return _run(scorer, test, train, k, batch_size, ranked=True)[1][f"precision@{k}"]


def recall_at_k(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return each evaluated user's recall at ``k``: the share of their test positives found.

    Parameters
    ----------
    scorer, test, train, batch_size
        As in :func:`evaluate` (the errors too).
    k : int, default 10
        The cut-off: hits in the top ``k``, divided by the user's number of test positives.

    Returns
    -------
    numpy.ndarray
        float64, in ascending user index order.
    """
    return _run(scorer, test, train, k, batch_size, ranked=True)[1][f"recall@{k}"]


def ndcg_at_k(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return the normalised discounted cumulative gain at ``k`` (NDCG) of each evaluated user.

    Parameters
    ----------
    scorer, test, train, batch_size
        As in :func:`evaluate` (the errors too).
    k : int, default 10
        The cut-off of DCG@k, divided by the ideal DCG of min(k, n_test) hits.

    Returns
    -------
    numpy.ndarray
        One float64 per evaluated user, ascending by user index.
    """
    return _run(scorer, test, train, k, batch_size, ranked=True)[1][f"ndcg@{k}"]


def hit_rate_at_k(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return 1.0 for each evaluated user whose top ``k`` holds a test positive, else 0.0.

    Parameters
    ----------
    scorer, test, train, batch_size
        As in :func:`evaluate` (the errors too).
    k : int, default 10
        The cut-off.

    Returns
    -------
    numpy.ndarray
        float64 zeros and ones, aligned with the evaluated users (ascending).
    """
    return _run(scorer, test, train, k, batch_size, ranked=True)[1][f"hit_rate@{k}"]


def auc_score(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return each evaluated user's AUC.

    The Mann-Whitney AUC of test positives against items that are neither train nor test
    positives (ties count 1/2).

    Parameters
    ----------
    scorer, test, train, batch_size
        As in :func:`evaluate` (the errors too).

    Returns
    -------
    numpy.ndarray
        float64 per evaluated user (ascending index); NaN for a user without such an item.
    """
    return _run(scorer, test, train, 1, batch_size, auc=True)[1]["auc"]


def reciprocal_rank(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    *,
    batch_size: int | None = None,
) -> np.ndarray:
    """Return each evaluated user's reciprocal rank; its mean is the MRR.

    Parameters
    ----------
    scorer, test, train
        As in :func:`evaluate`, whose errors it raises.
    batch_size : int, optional
        Users per scoring batch.

    Returns
    -------
    numpy.ndarray
        1 / the rank of each evaluated user's first test positive in the full ranking (train
        positives excluded, ties by lower item index), float64, ascending user index.
    """
    return _run(scorer, test, train, 1, batch_size, mrr=True)[1]["mrr"]


def catalog_coverage(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None = None,
    k: int = 10,
    *,
    batch_size: int | None = None,
) -> float:
    """Return the catalogue coverage at ``k``.

    Parameters
    ----------
    scorer, test, train, k, batch_size
        As in :func:`evaluate` (the errors too).

    Returns
    -------
    float
        The share of items in at least one evaluated user's top ``k``.
    """
    return _run(scorer, test, train, k, batch_size, ranked=True)[2]


def top_k(
    scorer: Scorer,
    users: np.ndarray,
    k: int,
    exclude: sp.spmatrix | np.ndarray | None = None,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` best items of each user in ``users``, best first.

    Ties go to the lower item index.

    Parameters
    ----------
    scorer : numpy.ndarray, callable or fitted TensorRec
        As in :func:`evaluate`.
    users : array-like of int
        User indices.
    k : int
        How many items per user.
    exclude : scipy sparse matrix or numpy.ndarray, optional
        (n_users, n_items); its nonzero entries are never returned.
    batch_size : int, optional
        Users per scoring batch; by default as many as keep one score block bounded.

    Returns
    -------
    indices : numpy.ndarray
        int64 ``[len(users), k]``. A user with fewer than ``k`` other items gets them all,
        then ids ``-1`` (the padding of ``TensorRec.recommend`` too).
    scores : numpy.ndarray
        ``[len(users), k]`` in the scorer's float dtype; NaN where the id is ``-1``.

    Raises
    ------
    InputError
        On a bad ``k``, ``batch_size``, user index, score matrix or ``exclude`` shape, or NaN
        scores.
    """
    _check_int("k", k)
    _check_int("batch_size", batch_size, allow_none=True)
    n_rows, n_items = None, None
    if isinstance(scorer, np.ndarray):
        if scorer.ndim != 2:
            raise InputError(
                f"scorer array must be 2-D (n_users, n_items); got shape {scorer.shape}."
            )
        n_rows, n_items = scorer.shape
    mask = None
    if exclude is not None:
        mask = _as_csr("exclude", exclude)
        if n_rows is not None and mask.shape != (n_rows, n_items):
            raise InputError(
                f"exclude has shape {mask.shape} but the scorer has shape {(n_rows, n_items)}; "
                "pass an exclude matrix with one row per user and one column per item."
            )
        n_rows, n_items = mask.shape
    users = _as_users(users, n_rows)
    if n_items is not None:
        _check_k(k, n_items)
    indices = np.empty((users.size, k), np.int64)
    scores: np.ndarray | None = None
    start = 0
    while start < users.size:
        # A callable scorer without an exclude matrix reveals the catalogue size on a first
        # batch of one user; the batch size follows from it.
        size = 1 if n_items is None else _batch_rows(batch_size, n_items)
        batch = users[start : start + size]
        block = _score_block(scorer, batch, n_items)
        if n_items is None:
            n_items = block.shape[1]
            _check_k(k, n_items)
        if scores is None:
            scores = np.empty((users.size, k), block.dtype)
        cols, vals = top_k_rows(block, k, None if mask is None else mask[batch])
        indices[start : start + batch.size] = cols
        scores[start : start + batch.size] = vals
        start += batch.size
    return indices, scores if scores is not None else np.empty((0, k), np.float32)


# ----------------------------------------------------------------------------- the engine


def _run(
    scorer: Scorer,
    test: sp.spmatrix | np.ndarray,
    train: sp.spmatrix | np.ndarray | None,
    k: int,
    batch_size: int | None,
    *,
    ranked: bool = False,
    auc: bool = False,
    mrr: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Validate, then score the evaluated users batch by batch and compute the asked metrics.

    Returns (users, metric name -> per-user float64 array, coverage@k or NaN if not ``ranked``).
    """
    test_csr = _as_csr("test", test)
    test_pos = _positives(test_csr)
    n_items = test_pos.shape[1]
    n_test = np.diff(test_pos.indptr)
    users = np.flatnonzero(n_test).astype(np.int64)
    if users.size == 0:
        raise InputError(
            f"test (shape {test_pos.shape}) has no positive entry (value > 0), so no user can be "
            "evaluated; pass the held-out interactions, e.g. split.test."
        )
    _check_not_trained_on(scorer, test_pos)
    train_pos = None
    if train is not None:
        train_csr = _as_csr("train", train, test_pos.shape)
        check_no_leakage(train_csr, test_csr)
        train_pos = _positives(train_csr)
    _check_k(k, n_items)
    _check_int("batch_size", batch_size, allow_none=True)
    if isinstance(scorer, np.ndarray) and scorer.shape != test_pos.shape:
        raise InputError(
            f"scorer is an array of shape {scorer.shape} but test has shape {test_pos.shape}; "
            "pass a score matrix with one row per user and one column per item of test."
        )

    out = {name: np.empty(users.size) for name in _names(k, ranked, auc, mrr)}
    covered = np.zeros(n_items, bool)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    step = _batch_rows(batch_size, n_items)
    for start in range(0, users.size, step):
        batch = users[start : start + step]
        rows = slice(start, start + batch.size)
        block = _score_block(scorer, batch, n_items)
        excluded = None if train_pos is None else train_pos[batch]
        is_test = test_pos[batch].toarray()
        counts = n_test[batch]
        if ranked:
            cols, _ = top_k_rows(block, k, excluded)
            real = cols != PAD_ID  # padding of a user with fewer than k candidates
            hits = np.take_along_axis(is_test, np.where(real, cols, 0), axis=1) & real
            n_hits = hits.sum(axis=1)
            out[f"precision@{k}"][rows] = n_hits / k
            out[f"recall@{k}"][rows] = n_hits / counts
            out[f"ndcg@{k}"][rows] = (hits @ discount) / ideal[np.minimum(k, counts) - 1]
            out[f"hit_rate@{k}"][rows] = n_hits > 0
            covered[cols[real]] = True
        if excluded is not None and (mrr or auc):
            mask_rows(block, excluded, np.nan)  # NaN: below every score, even -inf
        if mrr:
            out["mrr"][rows] = 1.0 / _first_positive_rank(block, is_test)
        if auc:
            out["auc"][rows] = _auc_block(block, is_test, counts)
    coverage = float(covered.sum() / n_items) if ranked else float("nan")
    return users, out, coverage


def _check_not_trained_on(scorer: Scorer, test_pos: sp.csr_matrix) -> None:
    """Raise LeakageError when ``scorer`` is a model that kept training pairs found in test."""
    trained = getattr(scorer, "train_interactions_", None)
    if not sp.issparse(trained) or trained.shape != test_pos.shape:
        return
    overlap = (trained > 0).multiply(test_pos > 0).tocoo()
    if overlap.nnz:
        pairs = list(zip(overlap.row[:3].tolist(), overlap.col[:3].tolist(), strict=False))
        raise LeakageError(
            f"the model was trained on {overlap.nnz} of the {test_pos.nnz} test pairs (e.g. "
            f"{pairs}), so its metrics would be inflated: test is not held out from this "
            "model's training data (another split seed or threshold than at fit?). Evaluate on "
            "the test part of the split the model was trained on; to score training data on "
            "purpose, pass model.score_users as the scorer."
        )


def _names(k: int, ranked: bool, auc: bool, mrr: bool) -> list[str]:
    names = [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"hit_rate@{k}"] if ranked else []
    return names + (["auc"] if auc else []) + (["mrr"] if mrr else [])


def _first_positive_rank(block: np.ndarray, is_test: np.ndarray) -> np.ndarray:
    """1-based rank, among non-excluded items, of each row's best-ranked test positive."""
    best = np.max(block, axis=1, where=is_test, initial=-np.inf)[:, None]
    at_best = block == best
    first = np.argmax(is_test & at_best, axis=1)[:, None]
    before = at_best & (np.arange(block.shape[1]) < first)
    return 1 + (block > best).sum(axis=1) + before.sum(axis=1)


def _auc_block(block: np.ndarray, is_test: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC per row: positives against candidates that are not positives.

    U = sum over positives of (#candidates below + 1/2 #candidates tied, itself included)
    minus n_pos^2 / 2, the positives' share of those counts against each other.
    """
    ordered = np.sort(block, axis=1)  # NaN (excluded) last
    rows, cols = np.nonzero(is_test)
    values = block[rows, cols]
    below = _rowwise_searchsorted(ordered, rows, values, right=False)
    tied = _rowwise_searchsorted(ordered, rows, values, right=True) - below
    u = np.bincount(rows, weights=below + 0.5 * tied, minlength=block.shape[0]) - counts**2 / 2
    n_candidates = block.shape[1] - np.isnan(ordered).sum(axis=1)
    n_negative = n_candidates - counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_negative > 0, u / (counts * n_negative), np.nan)


def _rowwise_searchsorted(
    ordered: np.ndarray, rows: np.ndarray, values: np.ndarray, *, right: bool
) -> np.ndarray:
    """``searchsorted(ordered[rows[i]], values[i])`` for every i at once (NaN sorts last)."""
    width = ordered.shape[1]
    flat, start = ordered.ravel(), rows * width
    lo = np.zeros(values.size, np.int64)
    hi = np.full(values.size, width, np.int64)
    for _ in range(width.bit_length()):
        active = lo < hi
        mid = (lo + hi) // 2
        probe = flat[start + np.minimum(mid, width - 1)]
        after = probe <= values if right else probe < values
        lo = np.where(active & after, mid + 1, lo)
        hi = np.where(active & ~after, mid, hi)
    return lo


def _mean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


# ----------------------------------------------------------------------------- validation


def _score_block(scorer: Scorer, users: np.ndarray, n_items: int | None) -> np.ndarray:
    """Scores of ``users`` as a float array this module owns (safe to modify in place)."""
    if hasattr(scorer, "score_users"):
        raw, fresh = scorer.score_users(users), False
    elif isinstance(scorer, np.ndarray):
        raw, fresh = scorer[users], True  # fancy indexing copies
    elif callable(scorer):
        raw, fresh = scorer(users), False
    else:
        raise InputError(
            f"scorer must be a score matrix, a callable users -> scores, or an object with "
            f"score_users(users); got {type(scorer).__name__}."
        )
    block = np.asarray(raw)
    expected = (users.size, n_items if n_items is not None else "n_items")
    if (
        block.ndim != 2
        or block.shape[0] != users.size
        or (n_items is not None and block.shape[1] != n_items)
    ):
        raise InputError(
            f"scorer returned scores of shape {block.shape} for {users.size} users; expected "
            f"{expected}: one row per user asked for, one column per item."
        )
    if block.dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    elif block.dtype.kind == "f":
        dtype = np.promote_types(block.dtype, np.float32)
    else:
        raise InputError(
            f"scorer returned scores of dtype {block.dtype}; expected real numbers (float32)."
        )
    block = block.astype(dtype, copy=not fresh or block.dtype != dtype)
    bad = np.isnan(block).any(axis=1)
    if bad.any():
        raise InputError(
            f"scores contain NaN for {int(bad.sum())} user(s), e.g. users "
            f"{users[bad][:10].tolist()}; the model has probably diverged: lower the learning "
            "rate or add regularisation, and check the features for NaN."
        )
    return block


def _as_csr(
    name: str, value: sp.spmatrix | np.ndarray, shape: tuple[int, int] | None = None
) -> sp.csr_matrix:
    """A canonical csr copy of a 2-D sparse or dense matrix (checked for shape and NaN)."""
    if sp.issparse(value):
        csr = sp.csr_matrix(value, copy=True)
    elif isinstance(value, np.ndarray) and value.ndim == 2:
        csr = sp.csr_matrix(value)
    else:
        raise InputError(
            f"{name} must be a 2-D scipy.sparse matrix or ndarray (n_users, n_items); got "
            f"{type(value).__name__} {getattr(value, 'shape', describe(value))}."
        )
    if shape is not None and csr.shape != shape:
        raise InputError(
            f"{name} has shape {csr.shape} but test has shape {shape}; both must index the same "
            "users and items (build them from one split)."
        )
    if csr.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers; got dtype {csr.dtype}.")
    csr.sum_duplicates()
    if np.isnan(csr.data).any():
        raise InputError(f"{name} contains NaN values; remove them or replace them by 0.")
    csr.eliminate_zeros()
    return csr


def _positives(csr: sp.csr_matrix) -> sp.csr_matrix:
    """Boolean csr of the entries of a canonical csr that are > 0."""
    positive = sp.csr_matrix((csr.data > 0, csr.indices, csr.indptr), shape=csr.shape)
    positive.eliminate_zeros()
    return positive


def _as_users(users: np.ndarray, n_rows: int | None) -> np.ndarray:
    array = np.asarray(users)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise InputError(
            f"users must be a 1-D array of integer user indices; got {describe(users)} "
            f"(dtype {array.dtype}, shape {array.shape})."
        )
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or (n_rows is not None and array.max() >= n_rows)):
        raise InputError(
            f"users must be indices in [0, {n_rows if n_rows is not None else 'n_users'}); got "
            f"values from {array.min()} to {array.max()}."
        )
    return array


def _check_int(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer; got {describe(value)}.")


def _check_k(k: object, n_items: int | None) -> None:
    _check_int("k", k)
    if n_items is not None and k > n_items:
        raise InputError(
            f"k={k} is larger than the number of items ({n_items}); pass k <= {n_items}."
        )


def _batch_rows(batch_size: int | None, n_items: int) -> int:
    """Users per batch: ``batch_size`` if given, else as many as fit one ranking block."""
    return int(batch_size) if batch_size is not None else max(1, BLOCK // n_items)
