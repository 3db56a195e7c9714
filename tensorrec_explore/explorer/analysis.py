"""What the inspector shows, computed from a fitted model: plain functions returning DataFrames.

No widgets here, so each piece is testable on its own. ``data`` is the dict the controller
prepared for the model (``train``, ``test``, ``dislikes``, ``test_dislikes``, ``user_features``,
``item_features``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..ranking import rank_rows

LINEAR = ("linear",)
#: Losses that compare a user's items with each other: a per-user constant (the user bias)
#: never changes what they see, so it gets no gradient and stays at its initial 0.
RELATIVE_LOSSES = ("softmax", "bpr", "warp", "wmrb", "balanced_wmrb")


def bias_notes(config: dict, user_bias: float) -> list[str]:
    """Words for score terms that are zero or unlearned by construction (shown under the
    ranked table)."""
    if not config.get("biased", True):
        return [
            ("User and item biases are off (biased=False): the score is the interaction alone.")
        ]
    if config.get("loss") in RELATIVE_LOSSES:
        return [
            (
                f"The user bias ({user_bias:.2g}) is not learned from the data, by "
                f"construction: {config['loss']} compares a user's items with each other, so a "
                "per-user constant never changes their ranking and gets no gradient."
            )
        ]
    return []


def _row_items(matrix: Any, user: int, sign: int = 1) -> set[int]:
    if matrix is None:
        return set()
    row = sp.csr_matrix(matrix)[user]
    return {int(i) for i, v in zip(row.indices, row.data, strict=False) if v * sign > 0}


def _train_positives(train: Any, user: int) -> sp.csr_matrix | None:
    """The user's train positives as a one-row CSR: what metrics exclude from the ranking."""
    if train is None:
        return None
    row = sp.csr_matrix(train)[user]
    return (row > 0).tocsr()


def _title(titles: Sequence[str], i: int) -> str:
    return titles[i] if i < len(titles) else f"item {i}"


def _biases(model: Any) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.asarray(model.user_biases(), dtype=np.float32),
        np.asarray(model.item_biases(), dtype=np.float32),
    )


def marks(
    item: int,
    train: set,
    test: set,
    disliked: set,
    held_out_disliked: frozenset | set = frozenset(),
) -> str:
    """The inspector's marks of ``item``: "train", "test ✓" (a held-out like), "disliked" (a
    train dislike) and "held-out dislike ✗", comma-separated ("" for none)."""
    out = []
    if item in train:
        out.append("train")
    if item in test:
        out.append("test ✓")
    if item in disliked:
        out.append("disliked")
    if item in held_out_disliked:
        out.append("held-out dislike ✗")
    return ", ".join(out)


def held_out_dislike_auc(scorer: Any, data: dict) -> float:
    """The chance that a held-out disliked item scores above an unobserved item, averaged over
    the users with held-out dislikes (0.5: dislikes rank like unobserved items; below: they
    sink under them; above: the model takes them for likes).

    Parameters
    ----------
    scorer : fitted TensorRec, numpy.ndarray or callable
        What :func:`tensorrec_explore.metrics.auc_score` scores.
    data : dict
        The explorer's prepared data (``datasets.prepare``) with ``"test_dislikes"``.

    Returns
    -------
    float
        The mean AUC of held-out dislikes against the items the user never interacted with
        (train likes and dislikes, held-out likes and dislikes all left out); NaN without
        held-out dislikes.
    """
    from ..metrics import auc_score

    held = data.get("test_dislikes")
    if held is None or not held.nnz:
        return float("nan")
    # the split puts each pair in one part only, so these never overlap the held-out dislikes
    observed = sum(abs(sp.csr_matrix(data[key])) for key in ("train", "dislikes", "test"))
    values = auc_score(scorer, abs(held).tocsr(), (observed > 0).astype(np.float32))
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def ranked_table(
    model: Any, user: int, k: int, data: dict, titles: Sequence[str], *, exclude_train: bool = True
) -> pd.DataFrame:
    """The user's top-k from ``model.recommend`` with the score split into interaction + biases.

    ``interaction`` is the prediction function's part (the dot product for ``dot``): score minus
    the user and item biases.
    """
    exclude = data.get("train") if exclude_train else None
    items, scores = model.recommend(np.array([user], dtype=np.int64), k=k, exclude=exclude)
    items = np.asarray(items)[0].astype(np.int64)
    scores = np.asarray(scores, dtype=np.float32)[0]
    items, scores = items[items >= 0], scores[items >= 0]  # fewer than k eligible: -1 pads
    ub, ib = _biases(model)
    train = _row_items(data.get("train"), user)
    test = _row_items(data.get("test"), user)
    disliked = _row_items(data.get("dislikes"), user, sign=-1)
    held_out_disliked = _row_items(data.get("test_dislikes"), user, sign=-1)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(items) + 1),
            "item": items,
            "title": [_title(titles, int(i)) for i in items],
            "score": scores,
            "interaction": scores - ub[user] - ib[items],
            "user bias": np.full(len(items), ub[user], dtype=np.float32),
            "item bias": ib[items],
            "marks": [marks(int(i), train, test, disliked, held_out_disliked) for i in items],
        }
    )


def test_items_table(model: Any, user: int, data: dict, titles: Sequence[str]) -> pd.DataFrame:
    """Where each of the user's held-out items (liked, and disliked when the data has dislikes)
    landed in their ranking.

    Ranks are those of ``model.predict_rank(exclude=train positives)``: train positives rank
    last, ties go to the lower item index (:mod:`tensorrec_explore.ranking`). Column
    ``"held out"`` says "liked ✓" or "disliked ✗".
    """
    liked = sorted(_row_items(data.get("test"), user))
    disliked = sorted(_row_items(data.get("test_dislikes"), user, sign=-1))
    items = liked + disliked
    if not items:
        return pd.DataFrame({"item": [], "title": [], "held out": [], "rank": [], "score": []})
    scores = np.asarray(model.score_users(np.array([user], dtype=np.int64)))[0]
    ranks = rank_rows(scores[None, :].copy(), _train_positives(data.get("train"), user))[0]
    frame = pd.DataFrame(
        {
            "item": items,
            "title": [_title(titles, i) for i in items],
            "held out": ["liked ✓"] * len(liked) + ["disliked ✗"] * len(disliked),
            "rank": ranks[items],
            "score": scores[items].astype(np.float32),
        }
    )
    return frame.sort_values(["rank", "item"]).reset_index(drop=True)


def user_metrics(model: Any, user: int, data: dict, k: int) -> dict[str, float]:
    """This user's metrics (definitions of BENCHMARK.md); empty without test items."""
    test = data.get("test")
    if test is None or not _row_items(test, user):
        return {}
    from ..metrics import evaluate

    scores = np.asarray(model.score_users(np.array([user], dtype=np.int64)), dtype=np.float32)
    train = data.get("train")
    report = evaluate(
        scores,
        sp.csr_matrix(test)[user],
        None if train is None else sp.csr_matrix(train)[user],
        k=k,
    )
    return {name: float(values[0]) for name, values in report.per_user.items()}


def similar_items_table(model: Any, item: int, k: int, titles: Sequence[str]) -> pd.DataFrame:
    items, scores = model.similar_items(np.array([item], dtype=np.int64), k=k)
    items = np.asarray(items)[0].astype(np.int64)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(items) + 1),
            "item": items,
            "title": [_title(titles, int(i)) for i in items],
            "similarity": np.asarray(scores, dtype=np.float32)[0],
        }
    )


def _occluded_rows(features: Any, row: int, n_columns: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """``row``'s feature row, then one copy per active feature with that feature removed;
    plus the active column indices."""
    if features is None:  # ids only: the identity
        full = sp.csr_matrix(([1.0], ([0], [row])), shape=(1, n_columns), dtype=np.float32)
    else:
        full = sp.csr_matrix(features)[row].astype(np.float32)
    cols = full.indices.astype(np.int64)
    copies = sp.vstack([full] * (len(cols) + 1)).tolil()
    for k, c in enumerate(cols, start=1):
        copies[k, c] = 0.0
    return copies.tocsr(), cols


def feature_contributions(
    model: Any,
    user: int,
    item: int,
    data: dict,
    user_feature_names: Sequence[str],
    item_feature_names: Sequence[str],
    top: int = 10,
) -> pd.DataFrame:
    """Why ``item`` scores for ``user``: how much the interaction term drops when each active
    feature is removed (occlusion), largest first.

    Item feature f contributes ``(rep_i(x) - rep_i(x without f)) . u`` and user feature g
    ``(rep_u(x) - rep_u(x without g)) . v``. For linear (affine) representations this is each
    feature's exact share of the dot product (``x_f W_f . u``); for deep ones it is an
    approximation (features interact, so the parts need not add up to the score). Constant parts
    (representation offsets, biases) are not features and are left out.
    """
    rows = []
    u_all = np.asarray(model.user_representations(data.get("user_features")))
    v_all = np.asarray(model.item_representations(data.get("item_features")))
    u, v = u_all[user], v_all[item]
    for side, features, other, names, index in (
        ("item", data.get("item_features"), u, item_feature_names, item),
        ("user", data.get("user_features"), v, user_feature_names, user),
    ):
        n_columns = (
            (v_all.shape[0] if side == "item" else u_all.shape[0])
            if features is None
            else features.shape[1]
        )
        rows_, cols = _occluded_rows(features, index, n_columns)
        if not len(cols):
            continue
        rep = model.item_representations if side == "item" else model.user_representations
        reps = np.asarray(rep(rows_), dtype=np.float64)
        parts = (reps[0] - reps[1:]) @ np.asarray(other, dtype=np.float64)
        for c, part in zip(cols, parts, strict=True):
            if features is None:
                name = f"id: {index}"
            else:
                name = names[c] if c < len(names) else f"feature {c}"
            rows.append({"side": side, "feature": name, "contribution": float(part)})
    frame = pd.DataFrame(rows, columns=["side", "feature", "contribution"])
    if frame.empty:
        return frame
    order = frame["contribution"].abs().sort_values(ascending=False).index
    return frame.loc[order].head(top).reset_index(drop=True)


def sandbox_interactions(
    liked: Sequence[int], disliked: Sequence[int], n_items: int
) -> sp.csr_matrix:
    """A one-row CSR with +1 for liked and -1 for disliked items."""
    cols = list(liked) + [i for i in disliked if i not in set(liked)]
    vals = [1.0] * len(liked) + [-1.0] * (len(cols) - len(liked))
    return sp.csr_matrix(
        (
            np.asarray(vals, dtype=np.float32),
            (np.zeros(len(cols), dtype=np.int64), np.asarray(cols, np.int64)),
        ),
        shape=(1, n_items),
        dtype=np.float32,
    )


def sandbox(
    model: Any,
    liked: Sequence[int],
    disliked: Sequence[int],
    n_items: int,
    k: int,
    titles: Sequence[str],
) -> tuple[pd.DataFrame, Any]:
    """Fold a new user in from their likes/dislikes; return their top-k (rated items excluded)
    and their representation (None when the model does not expose it)."""
    X = sandbox_interactions(liked, disliked, n_items)
    new = model.fold_in(X)
    items, scores = model.recommend(new, k=k, exclude=abs(X))
    items = np.asarray(items)[0].astype(np.int64)
    scores = np.asarray(scores, dtype=np.float32)[0][items >= 0]
    items = items[items >= 0]  # fewer than k eligible items: -1 pads
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(items) + 1),
            "item": items,
            "title": [_title(titles, int(i)) for i in items],
            "score": scores,
        }
    )
    return frame, new_user_representation(model, new)


def new_user_representation(model: Any, new: Any) -> Any:
    for attr in ("representations", "user_representations", "representations_"):
        value = getattr(new, attr, None)
        if value is not None:
            value = value() if callable(value) else value
            return np.asarray(value, dtype=np.float32)[0]
    return None


def place_points(
    reference: np.ndarray, layout: np.ndarray, new: np.ndarray, method: str, neighbours: int = 8
) -> np.ndarray:
    """2-D positions for ``new`` high-dimensional points in an existing ``layout`` of
    ``reference``: exact linear map for PCA, inverse-distance weighted neighbours otherwise."""
    reference = np.asarray(reference, dtype=np.float64)
    layout = np.asarray(layout, dtype=np.float64)
    new = np.atleast_2d(np.asarray(new, dtype=np.float64))
    if method == "pca":
        mean = reference.mean(axis=0)
        coef, *_ = np.linalg.lstsq(reference - mean, layout - layout.mean(axis=0), rcond=None)
        return (new - mean) @ coef + layout.mean(axis=0)
    d = ((new[:, None, :] - reference[None, :, :]) ** 2).sum(-1) ** 0.5
    nn = np.argsort(d, axis=1)[:, :neighbours]
    w = 1.0 / (np.take_along_axis(d, nn, axis=1) + 1e-9)
    return (layout[nn] * w[..., None]).sum(1) / w.sum(1, keepdims=True)
