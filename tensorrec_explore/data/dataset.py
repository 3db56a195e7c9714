"""InteractionDataset: interactions, id maps, feature matrices, titles and display metadata.

Build one with :meth:`InteractionDataset.from_frame` (pandas rows of user, item[, value...]
plus optional feature tables), from a matrix with the constructor, or with a loader
(:func:`~tensorrec_explore.data.load_movielens`, :func:`~tensorrec_explore.data.make_synthetic`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import InputError, describe
from ..settings import FEATURE_MODES, FeatureMode
from .features import FeatureTable
from .frames import (
    FeatureSide,
    build_side,
    check_aligned_timestamps,
    check_aligned_weights,
    check_ids,
    check_labels,
    check_metadata,
    check_names,
    read_interaction_frame,
)
from .interactions import as_features, as_interactions, from_triples, identity

__all__ = ["InteractionDataset"]

Kind = Literal["user", "item"]


class InteractionDataset:
    """Interactions (CSR float32, users x items) with everything needed around them.

    Stored values are kept as given (ratings for RMSE); :meth:`to_implicit` and
    :meth:`to_explicit` convert them explicitly (weights and timestamps follow the kept pairs).
    Build one from rows with :meth:`from_frame`.

    Parameters
    ----------
    interactions : scipy.sparse matrix, 2-D array-like or numeric pandas.DataFrame
        Users x items; checked by :func:`~tensorrec_explore.data.as_interactions`.
    user_ids, item_ids : sequence, optional
        The raw id of each index (distinct); ``0..n-1`` when None.
    user_features, item_features : matrix, optional
        Side features, one row per user / item, without identity columns.
    user_feature_names, item_feature_names : sequence of str, optional
        One name per feature column; ``"user_feature_0", ...`` when None.
    user_labels, item_titles : sequence of str, optional
        Display names, one per index; the raw ids as text when None.
    user_metadata, item_metadata : pandas.DataFrame, optional
        Extra display columns, one row per index (e.g. genres to colour points by).
    weights : matrix, optional
        A weight > 0 exactly where ``interactions`` has an entry: the ``sample_weight`` of
        ``TensorRec.fit``, e.g. ``model.fit(ds.interactions, sample_weight=ds.weights)``.
    timestamps : numpy.ndarray, optional
        One time per stored interaction, aligned with ``interactions.data``.
    name : str, default "dataset"
        A name for messages and the explorer.

    Attributes
    ----------
    interactions : scipy.sparse.csr_matrix
        The checked ``float32`` matrix; ``n_users, n_items`` is its shape.
    user_ids, item_ids : numpy.ndarray
        Raw id by index.
    user_features, item_features : scipy.sparse.csr_matrix or None
        Side features without identity columns, with ``*_feature_names``.
    user_labels, item_titles : numpy.ndarray
        Display names (str) by index.
    weights : scipy.sparse.csr_matrix or None
        Aligned with ``interactions``; a split of the dataset carries the train part as
        ``split.train_weights``.
    timestamps : numpy.ndarray or None
        Aligned with ``interactions.data``.

    Raises
    ------
    InputError
        If any argument is malformed or does not match the interactions' shape.
    """

    def __init__(
        self,
        interactions: Any,
        *,
        user_ids: Sequence[Any] | None = None,
        item_ids: Sequence[Any] | None = None,
        user_features: Any = None,
        item_features: Any = None,
        user_feature_names: Sequence[str] | None = None,
        item_feature_names: Sequence[str] | None = None,
        user_labels: Sequence[str] | None = None,
        item_titles: Sequence[str] | None = None,
        user_metadata: pd.DataFrame | None = None,
        item_metadata: pd.DataFrame | None = None,
        weights: Any = None,
        timestamps: np.ndarray | None = None,
        name: str = "dataset",
    ) -> None:
        self.interactions = as_interactions(interactions)
        self.n_users, self.n_items = self.interactions.shape
        self.name = name
        self.user_ids = check_ids(user_ids, self.n_users, "user_ids")
        self.item_ids = check_ids(item_ids, self.n_items, "item_ids")
        self.user_features = as_features(user_features, "user_features", self.n_users)
        self.item_features = as_features(item_features, "item_features", self.n_items)
        self.user_feature_names = check_names(user_feature_names, self.user_features, "user")
        self.item_feature_names = check_names(item_feature_names, self.item_features, "item")
        self.user_labels = check_labels(user_labels, self.user_ids, "user_labels")
        self.item_titles = check_labels(item_titles, self.item_ids, "item_titles")
        self._user_meta = check_metadata(user_metadata, self.n_users, "user_metadata")
        self._item_meta = check_metadata(item_metadata, self.n_items, "item_metadata")
        self.weights = (
            None if weights is None else check_aligned_weights(weights, self.interactions)
        )
        self.timestamps = check_aligned_timestamps(timestamps, self.interactions)
        self._user_side: FeatureSide | None = None
        self._item_side: FeatureSide | None = None
        self._user_lookup = pd.Index(self.user_ids)
        self._item_lookup = pd.Index(self.item_ids)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame | Iterable[Sequence[Any]],
        user_col: str = "user",
        item_col: str = "item",
        value_col: str | None = None,
        weight_col: str | None = None,
        timestamp_col: str | None = None,
        user_features: pd.DataFrame | FeatureTable | None = None,
        item_features: pd.DataFrame | FeatureTable | None = None,
        *,
        standardize: bool = False,
        user_label_col: str | None = None,
        item_title_col: str | None = None,
        name: str = "dataset",
    ) -> InteractionDataset:
        """Return a dataset built from one row per interaction.

        The user and item indices are the sorted distinct raw ids of ``df``. Zero values are
        dropped (a sparse matrix cannot store them).

        Parameters
        ----------
        df : pandas.DataFrame or iterable of tuples
            One row per interaction; tuples' positions follow
            (user_col, item_col[, value_col][, weight_col][, timestamp_col]).
        user_col, item_col : str, default "user", "item"
            The columns holding the raw user and item ids.
        value_col : str, optional
            The interaction's value (e.g. a rating); repeated (user, item) pairs are then an
            error. Without it each row counts 1 and repeated pairs add up.
        weight_col : str, optional
            A weight > 0 per row (repeated rows add up), kept as :attr:`weights` for
            ``fit(..., sample_weight=...)``.
        timestamp_col : str, optional
            The interaction's time (becomes :attr:`timestamps`).
        user_features, item_features : FeatureTable or pandas.DataFrame, optional
            Side features; a DataFrame's columns are encoded by dtype (see
            :meth:`FeatureTable.infer`; its id column is ``user_col`` / ``item_col`` if present,
            else the index). Rows of ids absent from ``df`` are kept for cold start (see
            :meth:`item_feature_rows`).
        standardize : bool, default False
            Standardize the numeric columns of inferred (DataFrame) feature tables.
        user_label_col, item_title_col : str, optional
            Display columns of inferred feature tables.
        name : str, default "dataset"
            A name for messages and the explorer.

        Returns
        -------
        InteractionDataset
            The interactions with their id maps, features, titles and metadata.

        Raises
        ------
        InputError
            On missing columns, missing or non-numeric values, weights <= 0, repeated pairs
            with ``value_col``, or a malformed feature table.
        """
        frame = read_interaction_frame(df, user_col, item_col, value_col, weight_col, timestamp_col)
        user_codes, user_ids = _factorize(frame[user_col])
        item_codes, item_ids = _factorize(frame[item_col])
        shape = (len(user_ids), len(item_ids))
        values = frame["__value"].to_numpy(np.float32)
        keep = values != 0
        order = np.lexsort((item_codes[keep], user_codes[keep]))
        rows, cols = user_codes[keep][order], item_codes[keep][order]
        interactions = from_triples(rows, cols, values[keep][order], shape)
        weights = None
        if weight_col is not None:
            weights = from_triples(rows, cols, frame["__weight"].to_numpy()[keep][order], shape)
        timestamps = None
        if timestamp_col is not None:
            timestamps = frame["__timestamp"].to_numpy()[keep][order]
        sides = {}
        for kind, table, ids, id_col, title_col in (
            ("user", user_features, user_ids, user_col, user_label_col),
            ("item", item_features, item_ids, item_col, item_title_col),
        ):
            if isinstance(table, pd.DataFrame):
                table = FeatureTable.infer(
                    table,
                    id_col if id_col in table.columns else None,
                    standardize=standardize,
                    title_col=title_col,
                )
            sides[kind] = None if table is None else build_side(table, ids, f"{kind}_features")
        dataset = cls(
            interactions,
            user_ids=user_ids,
            item_ids=item_ids,
            weights=weights,
            timestamps=timestamps,
            name=name,
            **_side_kwargs(sides["user"], "user", "user_labels", "user_metadata"),
            **_side_kwargs(sides["item"], "item", "item_titles", "item_metadata"),
        )
        dataset._user_side, dataset._item_side = sides["user"], sides["item"]
        return dataset

    # ----------------------------------------------------------------- id maps
    def user_index(self, raw: Any) -> Any:
        """Return the index of raw user id(s).

        Parameters
        ----------
        raw : scalar or iterable
            One raw user id, or several.

        Returns
        -------
        int or numpy.ndarray
            The index of one id, or an int64 array of indices for several.

        Raises
        ------
        InputError
            If an id is not in the dataset (the message shows what known ids look like).
        """
        return _lookup(self._user_lookup, raw, "user")

    def item_index(self, raw: Any) -> Any:
        """Return the index of raw item id(s), as :meth:`user_index` does for users.

        Parameters
        ----------
        raw
            As in :meth:`user_index`, with item ids.

        Returns
        -------
        int or numpy.ndarray
            An int for one id, else an int64 array; :class:`InputError` for an unknown id.
        """
        return _lookup(self._item_lookup, raw, "item")

    # ----------------------------------------------------------------- features
    def features(self, kind: Kind, mode: FeatureMode = "both") -> sp.csr_matrix | None:
        """Return the feature matrix the model should take for users or items.

        Parameters
        ----------
        kind : {"user", "item"}
            Whose features.
        mode : {"ids", "features", "both"}, default "both"
            ``"ids"``: identity (one learned embedding per user / item, never materialised);
            ``"features"``: the side features only; ``"both"``: identity then side features.

        Returns
        -------
        scipy.sparse.csr_matrix or None
            The side features (``"features"``), ``hstack([identity, features])`` (``"both"``),
            or None for identity (``"ids"``, or ``"both"`` without side features).

        Raises
        ------
        InputError
            On an unknown ``kind`` or ``mode``, or ``mode="features"`` without side features.
        """
        features = self._pick(kind, self.user_features, self.item_features)
        _check_mode(mode)
        if mode == "ids" or (mode == "both" and features is None):
            return None
        if features is None:
            raise InputError(
                f"features({kind!r}, mode='features'): dataset {self.name!r} has no {kind} "
                "features; use mode='ids', or build it with a feature table."
            )
        if mode == "features":
            return features
        n = features.shape[0]
        return sp.hstack([identity(n), features], format="csr", dtype=np.float32)

    def user_feature_rows(self, users: Any, mode: FeatureMode = "features") -> sp.csr_matrix:
        """Return feature rows for users given as raw ids or as a feature DataFrame.

        Parameters
        ----------
        users : raw id, iterable of raw ids, or pandas.DataFrame
            Raw ids may be unseen in the interactions if the feature table had a row for them;
            a DataFrame is encoded with the training table's vocabularies and scaling (unknown
            values encode as zeros).
        mode : {"ids", "features", "both"}, default "features"
            The columns, as in :meth:`features`.

        Returns
        -------
        scipy.sparse.csr_matrix
            One row per user, columns as ``features("user", mode)``; in ``"ids"`` / ``"both"``
            the identity part is zero for users outside the index: what cold start needs.

        Raises
        ------
        InputError
            On an unknown ``mode``, ids without feature rows, or a DataFrame when the dataset
            has no user feature table.
        """
        return self._rows("user", users, mode)

    def item_feature_rows(self, items: Any, mode: FeatureMode = "features") -> sp.csr_matrix:
        """Return feature rows for items, as :meth:`user_feature_rows` does for users.

        Parameters
        ----------
        items : raw id, iterable of raw ids, or pandas.DataFrame
            The items.
        mode : {"ids", "features", "both"}, default "features"
            The columns, as in :meth:`features`.

        Returns
        -------
        scipy.sparse.csr_matrix
            One row per item, columns as ``features("item", mode)``.

        Raises
        ------
        InputError
            As :meth:`user_feature_rows`.
        """
        return self._rows("item", items, mode)

    # ----------------------------------------------------------------- metadata
    @property
    def user_metadata(self) -> pd.DataFrame:
        """DataFrame indexed 0..n_users-1: "id", "label", "activity" (#interactions) and extras."""
        meta = self._user_meta.copy()
        meta.insert(0, "id", self.user_ids)
        meta.insert(1, "label", self.user_labels)
        meta["activity"] = np.diff(self.interactions.indptr)
        return meta

    @property
    def item_metadata(self) -> pd.DataFrame:
        """DataFrame indexed 0..n_items-1: "id", "title", "popularity" (#interactions), extras."""
        meta = self._item_meta.copy()
        meta.insert(0, "id", self.item_ids)
        meta.insert(1, "title", self.item_titles)
        meta["popularity"] = np.bincount(self.interactions.indices, minlength=self.n_items)
        return meta

    # ----------------------------------------------------------------- conversions
    def to_implicit(self, threshold: float) -> InteractionDataset:
        """Return a copy whose interactions are 1.0 where value >= threshold, other pairs dropped.

        E.g. ``load_movielens("100k").to_implicit(4)``: 55,375 positives, 943 x 1,682.

        Parameters
        ----------
        threshold : float
            The smallest value that counts as a positive.

        Returns
        -------
        InteractionDataset
            Same user / item index, features and metadata; weights and timestamps follow the
            kept pairs.

        Raises
        ------
        InputError
            If the dataset holds no rating values (every value is 1) or nothing is kept.
        """
        values = self._rating_values("to_implicit", threshold)
        keep = values >= threshold
        if not keep.any():
            raise InputError(
                f"to_implicit({threshold!r}) keeps no interaction of {self.name!r}: values range "
                f"{values.min():g}..{values.max():g}. Pick a threshold within that range."
            )
        return self._filtered(keep, np.ones(int(keep.sum()), np.float32))

    def to_explicit(self, threshold: float) -> InteractionDataset:
        """Return a copy with +1 (liked: value >= threshold) / -1 (disliked) for every pair.

        Parameters
        ----------
        threshold : float
            The smallest value that counts as liked.

        Returns
        -------
        InteractionDataset
            Same index, pairs, features, metadata, weights and timestamps; values +1 / -1.

        Raises
        ------
        InputError
            If the dataset holds no rating values (every value is 1).
        """
        values = self._rating_values("to_explicit", threshold)
        signed = np.where(values >= threshold, 1.0, -1.0).astype(np.float32)
        return self._filtered(np.ones(values.size, bool), signed)

    def __repr__(self) -> str:
        def feats(m: sp.csr_matrix | None) -> str:
            return "ids only" if m is None else f"{m.shape[1]} features"

        return (
            f"<{type(self).__name__} {self.name!r}: {self.n_users} users x {self.n_items} items, "
            f"{self.interactions.nnz} interactions; users: {feats(self.user_features)}, "
            f"items: {feats(self.item_features)}>"
        )

    # ----------------------------------------------------------------- helpers
    def _pick(self, kind: str, user: Any, item: Any) -> Any:
        if kind not in ("user", "item"):
            raise InputError(f"kind must be 'user' or 'item', got {describe(kind)}.")
        return user if kind == "user" else item

    def _rating_values(self, method: str, threshold: float) -> np.ndarray:
        values = self.interactions.data
        if np.all(values == 1):
            raise InputError(
                f"{method}({threshold!r}): {self.name!r} holds no rating values (every stored "
                "value is 1: implicit positives). Use the dataset as it is."
            )
        return values

    def _filtered(self, keep: np.ndarray, new_values: np.ndarray) -> InteractionDataset:
        matrix = self.interactions
        rows = np.repeat(np.arange(self.n_users), np.diff(matrix.indptr))[keep]
        out = copy.copy(self)
        out.interactions = from_triples(rows, matrix.indices[keep], new_values, matrix.shape)
        if self.weights is not None:
            out.weights = from_triples(
                rows, matrix.indices[keep], self.weights.data[keep], matrix.shape
            )
        if self.timestamps is not None:
            out.timestamps = self.timestamps[keep]
        return out

    def _rows(self, kind: Kind, entities: Any, mode: FeatureMode) -> sp.csr_matrix:
        _check_mode(mode)
        side: FeatureSide | None = self._pick(kind, self._user_side, self._item_side)
        lookup: pd.Index = self._pick(kind, self._user_lookup, self._item_lookup)
        features = self._pick(kind, self.user_features, self.item_features)
        if isinstance(entities, pd.DataFrame):
            if side is None:
                raise InputError(
                    f"{kind}_feature_rows: {self.name!r} has no {kind} feature table to encode a "
                    "DataFrame with; pass raw ids instead."
                )
            raw = side.ids_of(entities)
            feats = side.encoder.transform(entities)
        else:
            raw = np.asarray(list(entities) if not np.isscalar(entities) else [entities])
            feats = self._known_rows(kind, side, lookup, features, raw)
        positions = lookup.get_indexer(raw) if raw is not None else np.full(feats.shape[0], -1)
        known = positions >= 0
        ids = sp.csr_matrix(
            (np.ones(known.sum(), np.float32), (np.flatnonzero(known), positions[known])),
            shape=(feats.shape[0], len(lookup)),
        )
        if mode == "ids":
            return ids
        if mode == "features":
            return feats
        return sp.hstack([ids, feats], format="csr", dtype=np.float32)

    def _known_rows(
        self,
        kind: str,
        side: FeatureSide | None,
        lookup: pd.Index,
        features: sp.csr_matrix | None,
        raw: np.ndarray,
    ) -> sp.csr_matrix:
        if side is not None:
            return side.rows_for(raw, f"{kind}_feature_rows")
        positions = lookup.get_indexer(raw)
        if (positions < 0).any() or features is None:
            unknown = raw[positions < 0][:5].tolist()
            raise InputError(
                f"{kind}_feature_rows: no features known for {kind} ids {unknown or raw[:5]}; "
                f"build the dataset with a {kind} feature table holding rows for them."
            )
        return features[positions]


def _side_kwargs(side: FeatureSide | None, kind: str, titles: str, metadata: str) -> dict:
    if side is None:
        return {}
    return {
        f"{kind}_features": side.matrix,
        f"{kind}_feature_names": side.encoder.names,
        titles: side.titles,
        metadata: side.metadata,
    }


def _factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # mixed, unorderable raw ids: order of first appearance
        codes, uniques = pd.factorize(column, sort=False)
    return codes.astype(np.int64), np.asarray(uniques)


def _lookup(index: pd.Index, raw: Any, kind: str) -> Any:
    scalar = np.isscalar(raw)
    values = [raw] if scalar else list(raw)
    positions = index.get_indexer(values)
    if (positions < 0).any():
        unknown = [v for v, p in zip(values, positions, strict=True) if p < 0][:5]
        raise InputError(
            f"unknown raw {kind} id(s) {unknown}; known ids look like {index[:3].tolist()} "
            f"(dtype {index.dtype}). Check the id type (int vs str)."
        )
    return int(positions[0]) if scalar else positions.astype(np.int64)


def _check_mode(mode: str) -> None:
    if mode not in FEATURE_MODES:
        raise InputError(f"mode must be one of {FEATURE_MODES}, got {describe(mode)}.")
