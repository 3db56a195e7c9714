"""Feature tables: describe user/item side information and encode it as sparse columns.

A :class:`FeatureTable` says which columns of a DataFrame are categorical (one-hot), multi-valued
tags (one column per tag) and numeric (used as is, or standardised when asked). The encoder
remembers vocabularies and scaling, so rows for unseen users/items (cold start) are encoded into
exactly the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import InputError

__all__ = ["FeatureEncoder", "FeatureTable"]


@dataclass(frozen=True)
class FeatureTable:
    """A DataFrame of side information plus how to encode each column.

    Columns not named for encoding are kept as metadata for display.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per user (or item).
    id_col : str, optional
        The column of raw user / item ids; None: the frame's index holds them.
    categorical : sequence of str, default ()
        Columns encoded as one indicator per value (named ``"col=value"``).
    tags : mapping of str to str or None, or sequence of str, default ()
        Columns holding several values per row, as lists / tuples / sets, or as strings split on
        the separator the mapping gives (``{"genres": "|"}``); one indicator per tag.
    numeric : sequence of str, default ()
        Columns copied as they are.
    standardize : bool, default False
        Scale the numeric columns to zero mean and unit variance.
    title_col : str, optional
        The column of display names.
    """

    frame: pd.DataFrame
    id_col: str | None = None
    categorical: Sequence[str] = ()
    tags: Mapping[str, str | None] | Sequence[str] = ()
    numeric: Sequence[str] = ()
    standardize: bool = False
    title_col: str | None = None

    @classmethod
    def infer(
        cls,
        frame: pd.DataFrame,
        id_col: str | None,
        *,
        standardize: bool = False,
        title_col: str | None = None,
    ) -> FeatureTable:
        """Return a table encoding every column but the id and title columns, by dtype.

        Numbers and booleans are numeric, cells holding lists / tuples / sets are tags, anything
        else is categorical.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per user (or item).
        id_col : str or None
            The column of raw ids; None: the frame's index holds them.
        standardize : bool, default False
            Scale the numeric columns to zero mean and unit variance.
        title_col : str, optional
            The column of display names (not encoded).

        Returns
        -------
        FeatureTable
            The table with its columns sorted into categorical, tags and numeric.
        """
        categorical, tags, numeric = [], [], []
        for col in frame.columns:
            if col in (id_col, title_col):
                continue
            series = frame[col]
            if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
                numeric.append(col)
            elif series.map(lambda v: isinstance(v, (list, tuple, set, frozenset))).any():
                tags.append(col)
            else:
                categorical.append(col)
        return cls(frame, id_col, categorical, tags, numeric, standardize, title_col)

    def tag_separators(self) -> dict[str, str | None]:
        """Return the tag columns with their separators.

        Returns
        -------
        dict of str to str or None
            ``{column: separator}``; None for columns holding lists / tuples / sets.
        """
        if isinstance(self.tags, Mapping):
            return dict(self.tags)
        return dict.fromkeys(self.tags)

    def encoded_columns(self) -> list[str]:
        """Return every column named for encoding.

        Returns
        -------
        list of str
            The categorical, tag and numeric columns, in that order.
        """
        return [*self.categorical, *self.tag_separators(), *self.numeric]


def _split_tags(value: Any, sep: str | None) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [str(v) for v in value]
    text = str(value)
    if sep is None:
        return [text] if text else []
    return [part for part in text.split(sep) if part]


@dataclass
class FeatureEncoder:
    """Encodes rows of a :class:`FeatureTable`'s frame into fixed sparse feature columns.

    Build one with :meth:`fit`, which learns the vocabularies and the numeric scaling.

    Parameters
    ----------
    table : FeatureTable
        The table it encodes.
    names : list of str, default []
        One name per encoded column, filled by :meth:`fit`.
    """

    table: FeatureTable
    names: list[str] = field(default_factory=list)
    _vocab: dict[str, dict[str, int]] = field(default_factory=dict)
    _numeric: dict[str, tuple[int, float, float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, table: FeatureTable, what: str) -> FeatureEncoder:
        """Learn vocabularies (sorted values) and numeric scaling from ``table``.

        Parameters
        ----------
        table : FeatureTable
            The table to encode.
        what : str
            The argument's name in error messages (``"user_features"`` / ``"item_features"``).

        Returns
        -------
        FeatureEncoder
            The fitted encoder.

        Raises
        ------
        InputError
            For unknown columns or non-numeric values in numeric columns.
        """
        frame = table.frame
        missing = [c for c in table.encoded_columns() if c not in frame.columns]
        if table.title_col is not None and table.title_col not in frame.columns:
            missing.append(table.title_col)
        if missing:
            raise InputError(
                f"{what}: unknown column(s) {missing}; the frame has columns "
                f"{list(map(str, frame.columns))}. Fix the names given to FeatureTable."
            )
        encoder = cls(table)
        seps = table.tag_separators()
        for col in [*table.categorical, *seps]:
            if col in seps:
                values = {t for v in frame[col] for t in _split_tags(v, seps[col])}
            else:
                values = {str(v) for v in frame[col].dropna()}
            encoder._vocab[col] = {}
            for value in sorted(values):
                encoder._vocab[col][value] = len(encoder.names)
                encoder.names.append(f"{col}={value}")
        for col in table.numeric:
            column = pd.to_numeric(frame[col], errors="coerce").astype(float)
            bad = column.isna() & frame[col].notna()
            if bad.any():
                raise InputError(
                    f"{what}: numeric column {col!r} holds non-numeric values such as "
                    f"{frame[col][bad].iloc[0]!r}; declare it categorical or clean it."
                )
            mean = float(column.mean()) if table.standardize else 0.0
            std = float(column.std(ddof=0)) if table.standardize else 1.0
            encoder._numeric[col] = (len(encoder.names), mean, std if std > 0 else 1.0)
            encoder.names.append(col)
        return encoder

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """Encode rows into the fitted columns.

        Unknown categories and tags encode as all-zero; missing numeric values as 0 after
        scaling (the mean when standardised).

        Parameters
        ----------
        frame : pandas.DataFrame
            Rows with the columns of the fitted table.

        Returns
        -------
        scipy.sparse.csr_matrix
            The (len(frame), len(names)) ``float32`` encoding.

        Raises
        ------
        InputError
            If a column the table encodes is absent.
        """
        missing = [c for c in self.table.encoded_columns() if c not in frame.columns]
        if missing:
            raise InputError(
                f"feature rows lack column(s) {missing}; give a frame with the columns of the "
                f"original feature table ({self.table.encoded_columns()})."
            )
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        seps = self.table.tag_separators()
        n = len(frame)
        for col, vocab in self._vocab.items():
            for i, value in enumerate(frame[col].to_numpy()):
                if col in seps:
                    found = {vocab[t] for t in _split_tags(value, seps[col]) if t in vocab}
                elif value is None or (isinstance(value, float) and np.isnan(value)):
                    found = set()
                else:
                    found = {vocab[str(value)]} if str(value) in vocab else set()
                rows.append(np.full(len(found), i))
                cols.append(np.fromiter(sorted(found), dtype=np.int64, count=len(found)))
                vals.append(np.ones(len(found)))
        for col, (index, mean, std) in self._numeric.items():
            column = pd.to_numeric(frame[col], errors="coerce").astype(float).to_numpy()
            column = np.nan_to_num((column - mean) / std, nan=0.0)
            rows.append(np.arange(n))
            cols.append(np.full(n, index))
            vals.append(column)
        matrix = sp.csr_matrix(
            (
                np.concatenate(vals or [np.zeros(0)]).astype(np.float32),
                (np.concatenate(rows or [np.zeros(0)]), np.concatenate(cols or [np.zeros(0)])),
            ),
            shape=(n, len(self.names)),
        )
        matrix.eliminate_zeros()
        matrix.sort_indices()
        return matrix
