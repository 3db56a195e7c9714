"""Explain, in words, why a configuration cannot train — before the user clicks Train.

The model validates its own arguments when ``fit`` starts (its messages are shown as they are);
these checks only catch the combinations that are knowable from the dataset's shape alone, so the
configuration panel can explain them while the user is still choosing.
"""

from __future__ import annotations

from typing import Any

from .datasets import has_timestamps

PASS_THROUGH = ("pass_through", "weighted_pass_through")


def feature_count(dataset: Any, side: str, feature_set: str) -> int | None:
    """Number of feature columns ``side`` ("user" | "item") gets with ``feature_set``.

    None when the dataset has no side information for that side and ``feature_set`` needs it.
    """
    n = dataset.n_users if side == "user" else dataset.n_items
    extra = dataset.user_features if side == "user" else dataset.item_features
    n_extra = 0 if extra is None else int(extra.shape[1])
    if feature_set == "ids":
        return n
    if feature_set == "features":
        return n_extra or None
    return n + n_extra


#: Learning rates outside this range get a warning beside the field (Adam diverges above it,
#: barely moves below it); the same range as the model's own warning.
SAFE_RATES = (1e-5, 1.0)


def check_fields(config: dict[str, Any], dataset: Any) -> tuple[dict[str, str], list[str]]:
    """Return the problems of ``config`` (the dict of ``ExplorerState.config()``) keyed by the
    setting to change, and notes: ``({setting: problem}, notes)``.

    Problems prevent training (each says what is wrong and how to fix it); notes are remarks
    that do not.
    """
    problems: dict[str, str] = {}
    notes: list[str] = []
    n_components = config["n_components"]
    for side in ("user", "item"):
        rep = config[f"{side}_representation"]
        fs = config[f"{side}_feature_set"]
        n_features = feature_count(dataset, side, fs)
        if n_features is None:
            problems[f"{side}_feature_set"] = (
                f"{side} features = 'features', but this dataset has no {side} features; "
                f"choose 'ids' (one column per {side}) or 'both'."
            )
            continue
        if rep in PASS_THROUGH and n_features != n_components:
            what = (
                f"ids only ({n_features} columns, one per {side})"
                if fs == "ids"
                else (f"{fs!r} ({n_features} columns)")
            )
            problems[f"{side}_representation"] = (
                f"{side} representation {rep!r} uses the features themselves as the "
                f"representation, so it needs n_components == number of {side} feature columns; "
                f"the {side} feature set is {what} but n_components = {n_components}. "
                f"Set n_components to {n_features}, or pick a learned representation "
                f"such as 'linear'."
            )
    if config["n_tastes"] > 1 and config["user_representation"] in PASS_THROUGH:
        problems["n_tastes"] = (
            f"n_tastes = {config['n_tastes']} needs a learned user representation (one per "
            f"taste), but user representation is {config['user_representation']!r}, which has no "
            f"weights to learn several tastes from. Set n_tastes to 1 or choose 'linear'."
        )
    if config["split"] == "leave_last_out" and not has_timestamps(dataset):
        problems["split"] = (
            "split = 'leave_last_out' needs interaction timestamps and this dataset has none; "
            "choose 'random_holdout'."
        )
    if config["split"] == "none":
        notes.append("split = 'none': training on every interaction, so no validation curves.")
    if config["n_sampled_items"] and config["n_sampled_items"] > dataset.n_items:
        problems["n_sampled_items"] = (
            f"sampled items = {config['n_sampled_items']} exceeds the catalogue "
            f"({dataset.n_items} items); use at most {dataset.n_items}, or 0 for the default."
        )
    rate = config.get("learning_rate") or 0.0
    low, high = SAFE_RATES
    if rate > high or 0.0 < rate < low:
        notes.append(
            f"learning rate {rate:g} is extreme: Adam steps "
            f"{'above' if rate > high else 'below'} {high if rate > high else low:g} "
            f"usually {'diverge' if rate > high else 'barely move'}; try 0.01-0.2."
        )
    return problems, notes
