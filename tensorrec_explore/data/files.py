"""Generic loader: an interactions file (CSV / TSV / parquet) with the column names given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataNotFoundError, MissingExtraError
from .dataset import InteractionDataset

__all__ = ["load_interactions_file"]


def load_interactions_file(
    path: str | os.PathLike,
    user_col: str = "user",
    item_col: str = "item",
    value_col: str | None = None,
    weight_col: str | None = None,
    timestamp_col: str | None = None,
    *,
    sep: str | None = None,
    **from_frame_kwargs: Any,
) -> InteractionDataset:
    """Return an InteractionDataset read from one file of interaction rows.

    ``.parquet``/``.pq`` files are read with pandas (needs pyarrow); anything else as delimited
    text with a header row: ``sep`` defaults to tab for ``.tsv``/``.tab`` and comma otherwise.
    Remaining keyword arguments (feature tables, ``name``, ...) go to
    :meth:`InteractionDataset.from_frame`. Raises DataNotFoundError if the file is missing and
    InputError for unknown columns or bad values.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(
            f"interactions file {str(path)!r} not found (absolute: {path.resolve()}); check the "
            "path, or the working directory it is relative to."
        )
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except ImportError as e:
            raise MissingExtraError(
                f"reading {path.name} needs a parquet engine: pip install pyarrow"
            ) from e
    else:
        default = "\t" if suffix in (".tsv", ".tab") else ","
        frame = pd.read_csv(path, sep=sep or default)
    from_frame_kwargs.setdefault("name", path.stem)
    return InteractionDataset.from_frame(
        frame, user_col, item_col, value_col, weight_col, timestamp_col, **from_frame_kwargs
    )
