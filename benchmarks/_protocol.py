"""The evaluation protocol of ../shared/BENCHMARK.md, as the benchmark scripts use it.

Data loading, the per-user random holdout and the metrics come from the package
(``tensorrec_explore.data`` / ``tensorrec_explore.metrics``) when those modules are importable.
The small reference versions below are used only as a fallback (and as a cross-check): they
follow BENCHMARK.md line by line and favour clarity over speed. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
DATASETS = ("ml-100k", "ml-1m-all")


# --------------------------------------------------------------------------- data
def default_data_dir() -> Path:
    """``$TENSORREC_EXPLORE_DATA`` if set, else ``../shared/data`` relative to the repository."""
    env = os.environ.get("TENSORREC_EXPLORE_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data").resolve()


def _positives_matrix(users, items, positive) -> sp.csr_matrix:
    """Index = sorted distinct raw ids of the whole file; values = 1 where ``positive``."""
    u_ids, u_idx = np.unique(users, return_inverse=True)
    i_ids, i_idx = np.unique(items, return_inverse=True)
    m = sp.csr_matrix(
        (np.ones(int(positive.sum()), dtype=np.float32), (u_idx[positive], i_idx[positive])),
        shape=(len(u_ids), len(i_ids)),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def load_positives_local(name: str, data_dir: Path) -> sp.csr_matrix:
    """Reference loader of BENCHMARK.md's two datasets -> CSR (n_users, n_items) float32 0/1."""
    data_dir = Path(data_dir)
    if name == "ml-100k":
        path = data_dir / "ml-100k" / "u.data"
        raw = np.loadtxt(path, dtype=np.int64, delimiter="\t")
        return _positives_matrix(raw[:, 0], raw[:, 1], raw[:, 2] >= 4)
    if name == "ml-1m-all":
        path = data_dir / "ml-1m" / "interactions.dat"
        import pandas as pd

        # "UserID::MovieID": split on ':' with the C parser (columns 0 and 2), lean on memory
        raw = pd.read_csv(
            path, sep=":", header=None, usecols=[0, 2], dtype=np.int64, engine="c"
        ).to_numpy()
        return _positives_matrix(raw[:, 0], raw[:, 1], np.ones(len(raw), dtype=bool))
    raise ValueError(f"dataset={name!r}: expected one of {DATASETS}")


def load_positives(name: str, data_dir: Path) -> tuple[sp.csr_matrix, str]:
    """The dataset's positives as CSR float32 0/1, and which implementation loaded it."""
    try:
        from tensorrec_explore.data import load_movielens
    except ImportError:
        return load_positives_local(name, data_dir), "benchmarks._protocol (local)"
    import warnings

    variant = {"ml-100k": "100k", "ml-1m-all": "1m"}.get(name)
    if variant is None:
        raise ValueError(f"dataset={name!r}: expected one of {DATASETS}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ml-1m-all: no ratings.dat" is expected
        ds = load_movielens(variant, path=data_dir)
    if name == "ml-100k":
        ds = ds.to_implicit(4)
    elif ds.name != "ml-1m-all":
        raise ValueError(
            f"{data_dir}/ml-1m holds ratings.dat, so the package loads rated ml-1m; ml-1m-all "
            "needs interactions.dat only. Point --data-dir at the shared folder."
        )
    m = sp.csr_matrix(ds.interactions, dtype=np.float32)
    m.eliminate_zeros()
    m.data[:] = 1.0
    m.sort_indices()
    return m, "tensorrec_explore.data.load_movielens"


def random_holdout_local(interactions: sp.csr_matrix, seed: int = 42):
    """BENCHMARK.md's split, literally: per user in order, shuffle, first floor(0.2 n) to test."""
    rng = np.random.default_rng(seed)
    m = sp.csr_matrix(interactions)
    m.sort_indices()
    tr_r, tr_c, te_r, te_c = [], [], [], []
    for u in range(m.shape[0]):
        items = np.array(m.indices[m.indptr[u] : m.indptr[u + 1]], dtype=np.int64)
        n = len(items)
        if n == 0:
            continue
        items = np.sort(items)
        rng.shuffle(items)
        n_test = math.floor(0.2 * n) if n >= 5 else 0
        te_r.append(np.full(n_test, u))
        te_c.append(items[:n_test])
        tr_r.append(np.full(n - n_test, u))
        tr_c.append(items[n_test:])

    def build(r, c):
        r = np.concatenate(r) if r else np.zeros(0, np.int64)
        c = np.concatenate(c) if c else np.zeros(0, np.int64)
        out = sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=m.shape)
        out.sort_indices()
        return out

    return build(tr_r, tr_c), build(te_r, te_c)


def split(interactions: sp.csr_matrix, seed: int = 42):
    """(train, test, implementation name) following BENCHMARK.md."""
    try:
        from tensorrec_explore.data import random_holdout
    except ImportError:
        return (*random_holdout_local(interactions, seed), "benchmarks._protocol (local)")
    s = random_holdout(interactions, seed=seed)
    train = sp.csr_matrix(s.train, dtype=np.float32)
    test = sp.csr_matrix(s.test, dtype=np.float32)
    return train, test, "tensorrec_explore.data.random_holdout"


def save_split(
    path, train: sp.csr_matrix, test: sp.csr_matrix, loaded_by: str, split_by: str
) -> None:
    """Write train/test CSR parts to one .npz (how compare.py hands the split to each model)."""
    np.savez(
        path,
        shape=np.array(train.shape),
        loaded_by=loaded_by,
        split_by=split_by,
        **{
            f"{name}_{part}": getattr(m, part)
            for name, m in (("train", train), ("test", test))
            for part in ("data", "indices", "indptr")
        },
    )


def load_split(path):
    """(train, test, loaded_by, split_by) from :func:`save_split`'s file."""
    with np.load(path) as z:
        shape = tuple(int(x) for x in z["shape"])
        train, test = (
            sp.csr_matrix((z[f"{n}_data"], z[f"{n}_indices"], z[f"{n}_indptr"]), shape=shape)
            for n in ("train", "test")
        )
        return train, test, str(z["loaded_by"]), str(z["split_by"])


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (BENCHMARK.md's "peak memory").

    VmHWM (Linux) is the high-water mark of this process's own address space, reset by exec.
    getrusage's ru_maxrss is the fallback elsewhere; on Linux it also keeps the parent's RSS at
    fork time, which would charge compare.py's loaded data to every model.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- ranking
def top_k_from_scores(scores: np.ndarray, exclude_rows: sp.csr_matrix | None, k: int):
    """Top-k per row; excluded items never returned; ties: higher score, then lower index."""
    s = np.array(scores, dtype=np.float64, copy=True)
    if exclude_rows is not None:
        r, c = exclude_rows.nonzero()
        s[r, c] = -np.inf
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def _as_score_fn(scorer):
    if isinstance(scorer, np.ndarray):
        return lambda users: scorer[users]
    if hasattr(scorer, "score_users"):
        return scorer.score_users
    return scorer


def evaluate_local(
    scorer, test: sp.csr_matrix, train: sp.csr_matrix | None, k: int = 10, batch_size: int = 1024
) -> dict:
    """Reference metrics of BENCHMARK.md (means over users with >= 1 test positive)."""
    score_fn = _as_score_fn(scorer)
    test = sp.csr_matrix(test)
    train = sp.csr_matrix(train) if train is not None else sp.csr_matrix(test.shape)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    n_items = test.shape[1]
    prec, rec, ndcg, auc = [], [], [], []
    seen: set[int] = set()
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = np.asarray(score_fn(batch), dtype=np.float64)
        top, _ = top_k_from_scores(scores, train[batch], k)
        for row, u in enumerate(batch):
            pos = test.indices[test.indptr[u] : test.indptr[u + 1]]
            tr = train.indices[train.indptr[u] : train.indptr[u + 1]]
            hits = np.isin(top[row], pos)
            n_test = len(pos)
            prec.append(hits.sum() / k)
            rec.append(hits.sum() / n_test)
            ideal = discounts[: min(k, n_test)].sum()
            ndcg.append((hits * discounts).sum() / ideal)
            neg_mask = np.ones(n_items, dtype=bool)
            neg_mask[pos] = False
            neg_mask[tr] = False
            neg = np.sort(scores[row][neg_mask])
            p = scores[row][pos]
            lo = np.searchsorted(neg, p, side="left")
            hi = np.searchsorted(neg, p, side="right")
            auc.append(np.mean(lo + 0.5 * (hi - lo)) / max(len(neg), 1))
            seen.update(top[row].tolist())
    return {
        f"precision@{k}": float(np.mean(prec)),
        f"recall@{k}": float(np.mean(rec)),
        f"ndcg@{k}": float(np.mean(ndcg)),
        "auc": float(np.mean(auc)),
        f"coverage@{k}": len(seen) / n_items,
        "n_users_evaluated": len(users),
    }


def evaluate(scorer, test, train, k: int = 10) -> tuple[dict, str]:
    """Metrics summary dict and which implementation computed it."""
    try:
        from tensorrec_explore.metrics import evaluate as pkg_evaluate
    except ImportError:
        return evaluate_local(scorer, test, train, k), "benchmarks._protocol (local)"
    report = pkg_evaluate(scorer, test, train=train, k=k)
    summary = {name: float(v) for name, v in report.summary.items()}
    summary["n_users_evaluated"] = len(report.users)
    return summary, "tensorrec_explore.metrics.evaluate"


# --------------------------------------------------------------------------- EASE (a peer)
def ease_weights(train: sp.csr_matrix, l2: float) -> np.ndarray:
    """EASE's closed form (Steck 2019): ``B = I - P / diag(P)`` with ``P = (X'X + l2 I)^-1``.

    Column ``j`` of ``B`` is the ridge regression of item ``j`` on the other items with
    ``B[j, j] = 0``; scores are ``X @ B``.
    """
    gram = (train.T @ train).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)
