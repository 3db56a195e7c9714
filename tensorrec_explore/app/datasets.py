"""Dataset choices of the command line and the app: a name or a file path -> InteractionDataset.

``synthetic`` (the default, built in, nothing to download), ``movielens-100k``,
``movielens-1m`` or the path of an interactions file (``user,item[,value]`` rows, read by
:func:`tensorrec_explore.data.load_interactions_file`). Shared by ``tensorrec-explore fit`` /
``evaluate`` and by the app notebook, so both read a choice the same way. No TensorFlow here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, describe

#: Named datasets, in the order the CLI lists them.
NAMED_DATASETS = ("synthetic", "movielens-100k", "movielens-1m")
_MOVIELENS = {"movielens-100k": "100k", "movielens-1m": "1m"}


def check_dataset_spec(spec: str) -> str:
    """Return ``spec`` when it names a dataset or an existing file; raise InputError otherwise."""
    if spec in NAMED_DATASETS:
        return spec
    path = Path(os.path.expanduser(spec))
    if path.is_file():
        return str(path)
    if path.exists():
        what = "a folder" if path.is_dir() else "not a regular file"
    else:
        what = "no such file"
    raise InputError(
        f"dataset {describe(spec)} is {what}; expected one of {', '.join(NAMED_DATASETS)} "
        f"or the path of an interactions file such as ratings.csv (user,item[,value] rows)."
    )


def dataset_label(spec: str) -> str:
    """Return a short human label for ``spec`` (the file name for a path)."""
    return spec if spec in NAMED_DATASETS else Path(spec).name


def load_dataset(spec: str, data_dir: str | os.PathLike | None = None, *, seed: int = 0):
    """Load the dataset chosen by ``spec``; ``data_dir`` is where MovieLens files are looked for.

    Raises the data layer's errors unchanged (InputError, DataNotFoundError, ...): they already
    say what is wrong and how to fix it.
    """
    spec = check_dataset_spec(spec)
    from .. import data

    if spec == "synthetic":
        return data.make_synthetic(seed=seed)
    if spec in _MOVIELENS:
        return data.load_movielens(_MOVIELENS[spec], path=None if data_dir is None else data_dir)
    return data.load_interactions_file(spec, **file_columns(spec))


def file_columns(path: str | os.PathLike) -> dict[str, str | None]:
    """Guess the user / item / value / timestamp columns of an interactions file from its header.

    ``user``/``item`` (any case) or names containing "user" and "item"/"movie"/"product"
    (e.g. MovieLens' ``userId,movieId,rating,timestamp``); the value is ``value``/``rating``/
    ``score``/``weight`` when present. Without a recognisable header the data layer's defaults
    apply, and its error names the columns found.
    """
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            columns = [str(c) for c in pd.read_parquet(path).columns]
        else:
            sep = "\t" if suffix in (".tsv", ".tab") else ","
            columns = [str(c) for c in pd.read_csv(path, sep=sep, nrows=0).columns]
    except Exception:
        return {}

    def pick(*candidates: str, contains: tuple[str, ...] = ()) -> str | None:
        lowered = {c.lower(): c for c in columns}
        for name in candidates:
            if name in lowered:
                return lowered[name]
        for column in columns:
            if any(part in column.lower() for part in contains):
                return column
        return None

    found = {
        "user_col": pick("user", "user_id", "userid", contains=("user",)),
        "item_col": pick(
            "item", "item_id", "itemid", "movie", "movieid", contains=("item", "movie", "product")
        ),
        "value_col": pick("value", "rating", "score", "weight"),
        "timestamp_col": pick("timestamp", "time", "date"),
    }
    if found["user_col"] is None or found["item_col"] is None:
        return {}
    return {key: value for key, value in found.items() if value is not None}
