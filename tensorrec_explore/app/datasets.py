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
        kwargs = {} if data_dir is None else {"data_dir": str(data_dir)}
        return data.load_movielens(_MOVIELENS[spec], **kwargs)
    return data.load_interactions_file(spec)
