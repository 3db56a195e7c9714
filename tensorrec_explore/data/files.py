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
    """Return the delimited text file ``path`` read by ``pandas.read_csv(**read_csv)``.

    Raises InputError naming the file (and the line, for a byte that is not ``encoding`` text
    and for a row with the wrong number of fields) instead of pandas' or codecs' errors.
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
    """Raise InputError naming ``path`` and the line of the first non-numeric value of ``columns``.

    ``first_line`` is the file line of the frame's first row (2 after a header row).
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
    """Return an InteractionDataset read from one file of interaction rows.

    ``.parquet``/``.pq`` files are read with pandas (needs pyarrow); anything else as delimited
    text in ``encoding`` (a UTF-8 byte-order mark is skipped) with a header row: ``sep``
    defaults to tab for ``.tsv``/``.tab`` and comma otherwise. Remaining keyword arguments
    (feature tables, ``name``, ...) go to :meth:`InteractionDataset.from_frame`. Raises
    DataNotFoundError if the file is missing and InputError, naming the file (and the line where
    there is one), for an empty, mis-encoded or malformed file, unknown columns or bad values.
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
