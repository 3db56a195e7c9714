"""Generic loader: an interactions file (CSV / TSV / parquet) with the column names given.

Every problem with the file itself (missing, empty, not in the given encoding, a malformed
row, a non-numeric value) raises an error naming the file and, where there is one, the line.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataNotFoundError, InputError, MissingExtraError, describe
from .dataset import InteractionDataset

__all__ = ["load_interactions_file"]

_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def read_text_table(path: Path, *, encoding: str = "utf-8", **read_csv: Any) -> pd.DataFrame:
    """Read a delimited text file with ``pandas.read_csv``, with errors that name the file.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    encoding : str, default "utf-8"
        Its text encoding (a UTF-8 byte-order mark is skipped).
    **read_csv
        Passed to ``pandas.read_csv`` (e.g. ``sep``).

    Returns
    -------
    pandas.DataFrame
        The file's rows.

    Raises
    ------
    InputError
        Instead of pandas' or codecs' errors, naming the file (and the line, for a byte that is
        not ``encoding`` text): unreadable, empty, mis-encoded or malformed file, or an unknown
        encoding.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}.") from None
    if not raw.strip():
        raise InputError(
            f"{path} is empty; expected rows of interactions (with a header row for CSV/TSV files)."
        )
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        hint = (
            'it starts with a UTF-16 byte-order mark: pass encoding="utf-16"'
            if raw[:2] in _UTF16_MARKS
            else 'pass the encoding it was saved with, e.g. encoding="latin-1"'
        )
        raise InputError(f"{path}, line {line}: not valid {encoding} text ({hint}).") from None
    except LookupError:
        raise InputError(f"encoding {describe(encoding)} is not a known text encoding.") from None
    try:
        return pd.read_csv(io.StringIO(text), **read_csv)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} holds no rows or columns.") from None
    except (pd.errors.ParserError, ValueError) as error:
        message = " ".join(str(error).split())
        raise InputError(f"{path}: malformed rows ({message}); fix or remove them.") from None


def check_numeric_columns(
    frame: pd.DataFrame, columns: list[str], path: Path, first_line: int
) -> None:
    """Check that ``columns`` of a frame read from ``path`` hold numbers only.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows read from the file.
    columns : list of str
        The columns that must be numeric.
    path : pathlib.Path
        The file, for the error message.
    first_line : int
        The file line of the frame's first row (2 after a header row).

    Raises
    ------
    InputError
        Naming ``path`` and the line of the first non-numeric (or missing) value.
    """
    for column in columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna().to_numpy()
        if bad.any():
            position = int(bad.argmax())
            raise InputError(
                f"{path}, line {position + first_line}: column {column!r} must be a number, got "
                f"{describe(frame[column].iloc[position])}; fix or remove that line."
            )


def load_interactions_file(
    path: str | os.PathLike,
    user_col: str = "user",
    item_col: str = "item",
    value_col: str | None = None,
    weight_col: str | None = None,
    timestamp_col: str | None = None,
    *,
    sep: str | None = None,
    encoding: str = "utf-8",
    **from_frame_kwargs: Any,
) -> InteractionDataset:
    """Read an InteractionDataset from one file of interaction rows.

    ``.parquet`` / ``.pq`` files are read with pandas (needs pyarrow); anything else as
    delimited text with a header row.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    user_col, item_col : str, default "user", "item"
        The columns holding the user and item ids.
    value_col : str, optional
        The column holding each interaction's value (e.g. a rating); 1 for every row if None.
    weight_col : str, optional
        The column holding each interaction's weight.
    timestamp_col : str, optional
        The column holding each interaction's time (for :func:`leave_last_out`).
    sep : str, optional
        The field separator of a text file; tab for ``.tsv`` / ``.tab``, comma otherwise.
    encoding : str, default "utf-8"
        The text encoding of a text file (a UTF-8 byte-order mark is skipped).
    **from_frame_kwargs
        Passed to :meth:`InteractionDataset.from_frame` (feature tables, ...); ``name``
        defaults to the file's stem.

    Returns
    -------
    InteractionDataset
        The interactions, with their id maps (and features when tables are given).

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    MissingExtraError
        If a parquet file is given and no parquet engine (pyarrow) is installed.
    InputError
        Naming the file (and the line, where there is one): an empty, mis-encoded or malformed
        file, unknown columns or non-numeric values.
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
        except (ValueError, OSError) as e:
            raise InputError(f"{path} is not a readable parquet file ({e}).") from None
        first_line = 1
    else:
        default = "\t" if suffix in (".tsv", ".tab") else ","
        frame = read_text_table(path, encoding=encoding, sep=sep or default)
        first_line = 2
    numeric = [c for c in (value_col, weight_col) if c is not None and c in frame.columns]
    check_numeric_columns(frame, numeric, path, first_line)
    from_frame_kwargs.setdefault("name", path.stem)
    try:
        return InteractionDataset.from_frame(
            frame, user_col, item_col, value_col, weight_col, timestamp_col, **from_frame_kwargs
        )
    except InputError as error:
        raise InputError(f"{path}: {error}") from error
