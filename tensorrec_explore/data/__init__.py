"""Data layer: interactions, id maps, feature matrices, splits, MovieLens and synthetic data.

numpy / scipy / pandas only: importing this package never imports TensorFlow.
"""

from __future__ import annotations

from .dataset import InteractionDataset
from .features import FeatureTable
from .files import load_interactions_file
from .interactions import as_features, as_interactions
from .movielens import load_movielens
from .splits import (
    Split,
    check_no_leakage,
    cold_start_items,
    cold_start_users,
    leave_last_out,
    random_holdout,
)
from .synthetic import FLAVOURS, SyntheticDataset, SyntheticTruth, make_synthetic

__all__ = [
    "FLAVOURS",
    "FeatureTable",
    "InteractionDataset",
    "Split",
    "SyntheticDataset",
    "SyntheticTruth",
    "as_features",
    "as_interactions",
    "check_no_leakage",
    "cold_start_items",
    "cold_start_users",
    "leave_last_out",
    "load_interactions_file",
    "load_movielens",
    "make_synthetic",
    "random_holdout",
]
