"""Checks of a dataset's parts: interaction frames, feature tables, ids, labels, metadata.

Helpers of :meth:`InteractionDataset.from_frame`; they turn user mistakes (unknown columns,
empty frames, NaN ratings, duplicate ids with conflicting features) into clear InputErrors.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import InputError
from .features import FeatureEncoder, FeatureTable
from .interactions import as_interactions

__all__ = [
    "FeatureSide",
    "build_side",
    "check_aligned_timestamps",
    "check_aligned_weights",
    "check_ids",
    "check_labels",
    "check_metadata",
    "check_names",
    "read_interaction_frame",
]


def _as_frame(df: pd.DataFrame | Iterable[Sequence[Any]], columns: list[str]) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        return df
    rows = list(df)
    if rows and len(rows[0]) != len(columns):
        raise InputError(
            f"interaction tuples have {len(rows[0])} fields, expected {len(columns)} "
            f"({columns}); pass a DataFrame or name the value/weight/timestamp columns."
        )
    return pd.DataFrame(rows, columns=columns)


def _numeric(frame: pd.DataFrame, col: str, role: str) -> np.ndarray:
    series = frame[col]
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("int64").to_numpy().astype(np.float64)
        values[series.isna().to_numpy()] = np.nan
    else:
        try:
            values = pd.to_numeric(series).to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"{role} column {col!r} must be numeric, got values such as "
                f"{series.iloc[0]!r} (dtype {series.dtype}); convert it first."
            ) from e
    bad = ~np.isfinite(values)
    if bad.any():
        rows = frame.index[bad][:3].tolist()
        raise InputError(
            f"{role} column {col!r} has {int(bad.sum())} NaN/infinite value(s), e.g. at rows "
            f"{rows}; drop them (df.dropna(subset=[{col!r}])) or fill them first."
        )
    return values


def _positive_weights(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Return the weight column ``col`` as floats, checking every weight is > 0."""
    weights = _numeric(frame, col, "weight")
    bad = weights <= 0
    if bad.any():
        raise InputError(
            f"weight column {col!r} has {int(bad.sum())} value(s) <= 0, e.g. at rows "
            f"{frame.index[bad][:3].tolist()}; every interaction needs a weight > 0 (drop the "
            "rows to ignore them first)."
        )
    return weights


def read_interaction_frame(
    df: pd.DataFrame | Iterable[Sequence[Any]],
    user_col: str,
    item_col: str,
    value_col: str | None,
    weight_col: str | None,
    timestamp_col: str | None,
) -> pd.DataFrame:
    """Validate interaction rows and make their (user, item) pairs unique.

    Parameters
    ----------
    df : pandas.DataFrame or iterable of tuples
        One row per interaction; tuples' positions follow the columns named below.
    user_col, item_col : str
        The id columns.
    value_col, weight_col, timestamp_col : str or None
        Optional numeric columns (timestamps may be datetimes).

    Returns
    -------
    pandas.DataFrame
        The id columns plus ``"__value"`` (1.0 without ``value_col``) and, when named,
        ``"__weight"`` and ``"__timestamp"``. Without ``value_col`` repeated pairs are merged
        (value = count, weight = sum, timestamp = latest).

    Raises
    ------
    InputError
        On unknown columns, an empty frame, missing ids, non-numeric or non-finite values, or
        repeated pairs when ``value_col`` is given.
    """
    optional = {"value_col": value_col, "weight_col": weight_col, "timestamp_col": timestamp_col}
    named = [user_col, item_col] + [c for c in optional.values() if c is not None]
    frame = _as_frame(df, named)
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise InputError(
            f"unknown column(s) {missing}; the frame has columns {list(map(str, frame.columns))}. "
            "Pass the right user_col / item_col / value_col / weight_col / timestamp_col."
        )
    if len(frame) == 0:
        raise InputError(
            f"the interaction frame is empty (columns {list(map(str, frame.columns))}); "
            "a dataset needs at least one (user, item) row."
        )
    for col in (user_col, item_col):
        if frame[col].isna().any():
            raise InputError(
                f"id column {col!r} has {int(frame[col].isna().sum())} missing value(s); drop "
                f"those rows (df.dropna(subset=[{col!r}]))."
            )
    out = pd.DataFrame({user_col: frame[user_col].to_numpy(), item_col: frame[item_col].to_numpy()})
    out["__value"] = 1.0 if value_col is None else _numeric(frame, value_col, "value")
    if weight_col is not None:
        out["__weight"] = _positive_weights(frame, weight_col)
    if timestamp_col is not None:
        out["__timestamp"] = _numeric(frame, timestamp_col, "timestamp")
    duplicated = out.duplicated([user_col, item_col], keep=False)
    if not duplicated.any():
        return out
    if value_col is not None:
        pairs = out.loc[duplicated, [user_col, item_col]].drop_duplicates().head(3)
        raise InputError(
            f"{int(duplicated.sum())} rows repeat a (user, item) pair, e.g. "
            f"{list(pairs.itertuples(index=False, name=None))}, and value_col={value_col!r} is "
            "given, so they cannot be summed safely. Aggregate first, e.g. "
            f"df.groupby([{user_col!r}, {item_col!r}], as_index=False)[{value_col!r}].mean()."
        )
    how = {"__value": "sum", "__weight": "sum", "__timestamp": "max"}
    how = {k: v for k, v in how.items() if k in out.columns}
    return out.groupby([user_col, item_col], as_index=False, sort=False).agg(how)


@dataclass
class FeatureSide:
    """A feature table encoded and aligned to a dataset's index, kept for cold-start lookups."""

    encoder: FeatureEncoder
    id_col: str | None  # where raw ids sit in a user's DataFrame (None: its index)
    indexed: pd.DataFrame  # one row per raw id (index), including ids without interactions
    matrix: sp.csr_matrix  # rows aligned with the dataset's index
    titles: np.ndarray | None
    metadata: pd.DataFrame

    def rows_for(self, raw: np.ndarray, what: str) -> sp.csr_matrix:
        """Return the encoded feature rows of raw ids.

        Parameters
        ----------
        raw : numpy.ndarray
            Raw ids, each with a row in the feature table.
        what : str
            The caller's name, for the error message.

        Returns
        -------
        scipy.sparse.csr_matrix
            One encoded row per id.

        Raises
        ------
        InputError
            If an id has no row in the feature table.
        """
        found = self.indexed.index.get_indexer(raw)
        if (found < 0).any():
            raise InputError(
                f"{what}: no feature row for id(s) {raw[found < 0][:5].tolist()}; pass a DataFrame "
                "with their feature columns instead of raw ids."
            )
        return self.encoder.transform(self.indexed.iloc[found])

    def ids_of(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return the raw ids of a feature DataFrame.

        Parameters
        ----------
        frame : pandas.DataFrame
            Feature rows, their ids in the table's id column (or index).

        Returns
        -------
        numpy.ndarray or None
            The ids, or None when the frame lacks the id column.
        """
        if self.id_col is None:
            return frame.index.to_numpy()
        return frame[self.id_col].to_numpy() if self.id_col in frame.columns else None


def _unique_rows(table: FeatureTable, what: str) -> pd.DataFrame:
    frame = table.frame
    ids = frame.index.to_series() if table.id_col is None else frame[table.id_col]
    indexed = frame.drop(columns=[table.id_col]) if table.id_col is not None else frame
    indexed = indexed.set_axis(pd.Index(ids.to_numpy(), name="__id"), axis=0)
    if not indexed.index.has_duplicates:
        return indexed
    key = indexed.astype(str).reset_index()
    distinct = key.drop_duplicates()
    conflicts = distinct["__id"][distinct["__id"].duplicated()].unique()
    if len(conflicts):
        raise InputError(
            f"{what}: id(s) {conflicts[:5].tolist()} appear in several rows with different "
            "features; keep one row per id (e.g. df.drop_duplicates(subset=id_col))."
        )
    return indexed[~indexed.index.duplicated()]


def build_side(table: FeatureTable, ids: np.ndarray, what: str) -> FeatureSide:
    """Encode ``table`` and align it to a dataset's raw ids.

    Parameters
    ----------
    table : FeatureTable
        The side information.
    ids : numpy.ndarray
        The dataset's raw ids by index.
    what : str
        The argument's name in messages (``"user_features"`` / ``"item_features"``).

    Returns
    -------
    FeatureSide
        The encoder, the rows aligned with ``ids`` (all zero for ids without a row, with a
        warning), titles and metadata.

    Raises
    ------
    InputError
        On unknown columns, conflicting duplicate ids, or when no id has a feature row.
    """
    if table.id_col is not None and table.id_col not in table.frame.columns:
        raise InputError(
            f"{what}: id column {table.id_col!r} not found; columns are "
            f"{list(map(str, table.frame.columns))}."
        )
    indexed = _unique_rows(table, what)
    encoder = FeatureEncoder.fit(replace(table, frame=indexed, id_col=None), what)
    positions = indexed.index.get_indexer(ids)
    missing = int((positions < 0).sum())
    if missing == len(ids):
        raise InputError(
            f"{what}: none of the {len(ids)} ids of the interactions has a feature row; ids look "
            f"like {ids[:3].tolist()} there and {indexed.index[:3].tolist()} in the table. "
            "Check the id column and the id types (int vs str)."
        )
    if missing:
        warnings.warn(
            f"{what}: {missing} of {len(ids)} ids have no feature row (e.g. "
            f"{ids[positions < 0][:3].tolist()}); their feature rows are all zero.",
            stacklevel=4,
        )
    aligned = indexed.reindex(ids)
    titles = None
    if table.title_col is not None:
        titles = aligned[table.title_col].astype(object).where(aligned[table.title_col].notna())
        titles = np.where(titles.isna(), ids.astype(str), titles.astype(str))
    meta = aligned.drop(columns=[table.title_col]) if table.title_col else aligned
    return FeatureSide(
        encoder=encoder,
        id_col=table.id_col,
        indexed=indexed,
        matrix=encoder.transform(aligned),
        titles=titles,
        metadata=meta.reset_index(drop=True),
    )


def check_ids(ids: Sequence[Any] | None, n: int, name: str) -> np.ndarray:
    """Check the raw ids of an index.

    Parameters
    ----------
    ids : sequence or None
        One raw id per index.
    n : int
        The index's length.
    name : str
        The argument's name, for error messages.

    Returns
    -------
    numpy.ndarray
        ``n`` distinct raw ids (``0..n-1`` when ``ids`` is None).

    Raises
    ------
    InputError
        On a wrong length or repeated ids.
    """
    if ids is None:
        return np.arange(n)
    ids = np.asarray(ids)
    if ids.shape != (n,):
        raise InputError(f"{name} has shape {ids.shape}, expected ({n},): one raw id per index.")
    if len(pd.unique(ids)) != n:
        raise InputError(f"{name} holds repeated raw ids; each index needs a distinct raw id.")
    return ids


def check_names(
    names: Sequence[str] | None, features: sp.csr_matrix | None, kind: str
) -> list[str]:
    """Check the names of feature columns.

    Parameters
    ----------
    names : sequence of str or None
        One name per column.
    features : scipy.sparse.csr_matrix or None
        The feature matrix.
    kind : str
        ``"user"`` or ``"item"``, for generated names and messages.

    Returns
    -------
    list of str
        One name per column (``"{kind}_feature_{j}"`` when None; empty without features).

    Raises
    ------
    InputError
        If the number of names differs from the number of columns.
    """
    if features is None:
        return []
    if names is None:
        return [f"{kind}_feature_{j}" for j in range(features.shape[1])]
    if len(names) != features.shape[1]:
        raise InputError(
            f"{kind}_feature_names has {len(names)} names for {features.shape[1]} feature columns."
        )
    return list(names)


def check_labels(labels: Sequence[str] | None, ids: np.ndarray, name: str) -> np.ndarray:
    """Check display labels.

    Parameters
    ----------
    labels : sequence of str or None
        One label per index.
    ids : numpy.ndarray
        The raw ids by index.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    numpy.ndarray
        The labels as str (the raw ids as text when None).

    Raises
    ------
    InputError
        If there is not one label per id.
    """
    if labels is None:
        return ids.astype(str)
    labels = np.asarray(labels, dtype=str)
    if labels.shape != ids.shape:
        raise InputError(f"{name} has shape {labels.shape}, expected {ids.shape}.")
    return labels


def check_metadata(meta: pd.DataFrame | None, n: int, name: str) -> pd.DataFrame:
    """Check display metadata.

    Parameters
    ----------
    meta : pandas.DataFrame or None
        One row per index.
    n : int
        The index's length.
    name : str
        The argument's name, for the error message.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows indexed ``0..n-1`` (no column when ``meta`` is None).

    Raises
    ------
    InputError
        If the number of rows is not ``n``.
    """
    if meta is None:
        return pd.DataFrame(index=pd.RangeIndex(n))
    if len(meta) != n:
        raise InputError(f"{name} has {len(meta)} rows, expected {n} (one per index).")
    return meta.reset_index(drop=True)


def check_aligned_weights(weights: Any, interactions: sp.csr_matrix) -> sp.csr_matrix:
    """Check per-interaction weights: every weight > 0, exactly where the interactions are.

    Parameters
    ----------
    weights : matrix
        Anything :func:`as_interactions` accepts.
    interactions : scipy.sparse.csr_matrix
        The dataset's interactions.

    Returns
    -------
    scipy.sparse.csr_matrix
        The weights, with exactly the sparsity pattern of ``interactions``.

    Raises
    ------
    InputError
        When the weights are malformed, hold a negative value, or their entries differ from
        the interactions'.
    """
    matrix = as_interactions(
        weights, "weights", n_users=interactions.shape[0], n_items=interactions.shape[1]
    )
    if (matrix.data < 0).any():
        raise InputError(
            f"weights hold {int((matrix.data < 0).sum())} negative value(s); every interaction "
            "needs a weight > 0 (express a dislike as a negative interaction value instead)."
        )
    same = np.array_equal(matrix.indptr, interactions.indptr) and np.array_equal(
        matrix.indices, interactions.indices
    )
    if not same:
        raise InputError(
            "weights must have a nonzero entry exactly where interactions have one "
            f"(weights: {matrix.nnz} entries, interactions: {interactions.nnz})."
        )
    return matrix


def check_aligned_timestamps(timestamps: np.ndarray | None, interactions: sp.csr_matrix) -> Any:
    """Check per-interaction timestamps.

    Parameters
    ----------
    timestamps : numpy.ndarray or None
        One time per stored interaction, in CSR (user, item) order.
    interactions : scipy.sparse.csr_matrix
        The dataset's interactions.

    Returns
    -------
    numpy.ndarray or None
        The timestamps as an array, or None.

    Raises
    ------
    InputError
        If there is not one timestamp per stored interaction.
    """
    if timestamps is None:
        return None
    timestamps = np.asarray(timestamps)
    if timestamps.shape != (interactions.nnz,):
        raise InputError(
            f"timestamps has shape {timestamps.shape}, expected ({interactions.nnz},): one per "
            "stored interaction, in CSR (user, item) order."
        )
    return timestamps
