"""InteractionDataset: id maps, feature matrices against hand-built ones, conversions, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from tensorrec_explore.data import (
    FeatureTable,
    InteractionDataset,
    as_features,
    as_interactions,
    load_interactions_file,
)
from tensorrec_explore.errors import DataNotFoundError, InputError


@pytest.fixture
def ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": ["u3", "u1", "u1", "u2", "u3", "u2"],
            "item": [20, 10, 30, 10, 30, 20],
            "rating": [5.0, 4.0, 1.0, 2.0, 3.0, 4.0],
            "ts": [6, 1, 2, 3, 5, 4],
        }
    )


@pytest.fixture
def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": [10, 20, 30, 40],  # 40 has no interaction: a cold-start item
            "title": ["Ten", "Twenty", "Thirty", "Forty"],
            "genre": ["drama", "comedy", "drama", "horror"],
            "tags": [["a", "b"], ["b"], [], ["c"]],
            "length": [90.0, 120.0, 150.0, 60.0],
        }
    )


def test_index_is_sorted_distinct_raw_ids_and_maps_round_trip(ratings):
    ds = InteractionDataset.from_frame(ratings, "user", "item", value_col="rating")
    assert ds.user_ids.tolist() == ["u1", "u2", "u3"]
    assert ds.item_ids.tolist() == [10, 20, 30]
    for raw in ds.user_ids:
        assert ds.user_ids[ds.user_index(raw)] == raw
    np.testing.assert_array_equal(ds.item_index(ds.item_ids), np.arange(3))
    assert ds.item_index(30) == 2 and isinstance(ds.item_index(30), int)
    expected = np.array([[4, 0, 1], [2, 4, 0], [0, 5, 3]], dtype=np.float32)
    np.testing.assert_array_equal(ds.interactions.toarray(), expected)
    assert ds.interactions.dtype == np.float32 and sp.isspmatrix_csr(ds.interactions)
    with pytest.raises(InputError, match="unknown raw user id"):
        ds.user_index("nobody")


def test_item_features_match_hand_built_matrix(ratings, items):
    table = FeatureTable(
        items, "item", categorical=["genre"], tags=["tags"], numeric=["length"], title_col="title"
    )
    ds = InteractionDataset.from_frame(ratings, "user", "item", "rating", item_features=table)
    assert ds.item_feature_names == [
        "genre=comedy",
        "genre=drama",
        "genre=horror",
        "tags=a",
        "tags=b",
        "tags=c",
        "length",
    ]
    expected = np.array(
        [
            [0, 1, 0, 1, 1, 0, 90],  # item 10
            [1, 0, 0, 0, 1, 0, 120],  # item 20
            [0, 1, 0, 0, 0, 0, 150],  # item 30
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(ds.item_features.toarray(), expected)
    assert ds.item_titles.tolist() == ["Ten", "Twenty", "Thirty"]
    assert ds.features("item", "ids") is None
    np.testing.assert_array_equal(ds.features("item", "features").toarray(), expected)
    both = ds.features("item", "both")
    assert sp.isspmatrix_csr(both) and both.dtype == np.float32
    np.testing.assert_array_equal(both.toarray(), np.hstack([np.eye(3), expected]))
    assert ds.features("user", "both") is None  # no user features: identity
    with pytest.raises(InputError, match="no user features"):
        ds.features("user", "features")
    with pytest.raises(InputError, match="mode must be one of"):
        ds.features("item", "dense")


def test_inferred_table_separator_tags_and_explicit_standardisation(ratings, items):
    frame = items.assign(tags=["a|b", "b", "", "c"])
    table = FeatureTable(frame, "item", tags={"tags": "|"}, numeric=["length"], standardize=True)
    ds = InteractionDataset.from_frame(ratings, "user", "item", "rating", item_features=table)
    lengths = ds.item_features[:, ds.item_feature_names.index("length")].toarray().ravel()
    all_lengths = items["length"].to_numpy()  # statistics over the whole table
    np.testing.assert_allclose(lengths, (all_lengths[:3] - all_lengths.mean()) / all_lengths.std())
    inferred = InteractionDataset.from_frame(
        ratings, "user", "item", "rating", item_features=items, item_title_col="title"
    )
    assert inferred.item_feature_names[:3] == ["genre=comedy", "genre=drama", "genre=horror"]
    assert "length" in inferred.item_feature_names and "tags=a" in inferred.item_feature_names
    raw = inferred.item_features[:, inferred.item_feature_names.index("length")].toarray()
    np.testing.assert_array_equal(raw.ravel(), [90, 120, 150])  # not standardised by default


def test_cold_start_rows_for_unseen_ids_and_new_frames(ratings, items):
    table = FeatureTable(items, "item", categorical=["genre"], tags=["tags"], title_col="title")
    ds = InteractionDataset.from_frame(ratings, "user", "item", "rating", item_features=table)
    cold = ds.item_feature_rows([40]).toarray()
    assert cold.tolist() == [[0, 0, 1, 0, 0, 1]]  # horror, tag c
    known = ds.item_feature_rows([20], mode="both").toarray()
    np.testing.assert_array_equal(known, ds.features("item", "both")[1].toarray())
    new = pd.DataFrame({"item": [99], "genre": ["comedy"], "tags": [["b", "zzz"]]})
    rows = ds.item_feature_rows(new, mode="both").toarray()
    assert rows.tolist() == [[0, 0, 0, 1, 0, 0, 0, 1, 0]]  # no identity, comedy, tag b
    with pytest.raises(InputError, match="no feature row"):
        ds.item_feature_rows([12345])


def test_metadata_indexed_by_position_with_popularity(ratings, items):
    ds = InteractionDataset.from_frame(
        ratings, "user", "item", "rating", item_features=items, item_title_col="title"
    )
    meta = ds.item_metadata
    assert meta.index.tolist() == [0, 1, 2]
    assert meta["popularity"].tolist() == [2, 2, 2]
    assert meta["genre"].tolist() == ["drama", "comedy", "drama"]
    assert meta["id"].tolist() == [10, 20, 30] and meta["title"].tolist()[0] == "Ten"
    assert ds.user_metadata["activity"].tolist() == [2, 2, 2]


def test_to_implicit_and_to_explicit(ratings):
    ds = InteractionDataset.from_frame(ratings, "user", "item", "rating", timestamp_col="ts")
    imp = ds.to_implicit(4)
    assert imp.interactions.toarray().tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 0]]
    assert imp.n_items == ds.n_items and imp.timestamps.tolist() == [1, 4, 6]
    exp = ds.to_explicit(3)
    assert exp.interactions.toarray().tolist() == [[1, 0, -1], [-1, 1, 0], [0, 1, 1]]
    assert ds.interactions.max() == 5  # the original keeps its ratings (RMSE)
    with pytest.raises(InputError, match="keeps no interaction"):
        ds.to_implicit(6)
    with pytest.raises(InputError, match="no rating values"):
        imp.to_implicit(4)


def test_implicit_rows_are_counted_and_iterables_accepted():
    ds = InteractionDataset.from_frame([(1, "a"), (1, "a"), (2, "b")])
    assert ds.interactions.toarray().tolist() == [[2, 0], [0, 1]]
    weighted = InteractionDataset.from_frame(
        [(1, "a", 3.0, 0.5), (2, "b", 4.0, 2.0)], value_col="r", weight_col="w"
    )
    assert weighted.weights.toarray().tolist() == [[0.5, 0], [0, 2.0]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"user_col": "customer"}, "unknown column"),
        ({"value_col": "stars"}, "unknown column"),
    ],
)
def test_unknown_columns(ratings, kwargs, message):
    with pytest.raises(InputError, match=message):
        InteractionDataset.from_frame(ratings, **{"user_col": "user", "item_col": "item", **kwargs})


def test_bad_frames_raise_clear_errors(ratings, items):
    with pytest.raises(InputError, match="empty"):
        InteractionDataset.from_frame(ratings.iloc[:0], value_col="rating")
    nan = ratings.assign(rating=[5.0, np.nan, 1, 2, 3, 4])
    with pytest.raises(InputError, match=r"NaN.*dropna"):
        InteractionDataset.from_frame(nan, value_col="rating")
    with pytest.raises(InputError, match="repeat a \\(user, item\\) pair"):
        InteractionDataset.from_frame(pd.concat([ratings, ratings]), value_col="rating")
    conflicting = pd.concat([items, items.iloc[[0]].assign(genre="comedy")])
    with pytest.raises(InputError, match="different features"):
        InteractionDataset.from_frame(ratings, value_col="rating", item_features=conflicting)
    same = pd.concat([items, items.iloc[[0]]])  # exact duplicates are harmless
    InteractionDataset.from_frame(ratings, value_col="rating", item_features=same)
    with pytest.raises(InputError, match="unknown column"):
        InteractionDataset.from_frame(
            ratings, value_col="rating", item_features=FeatureTable(items, "item", numeric=["x"])
        )
    with pytest.raises(InputError, match="none of the 3 ids"):
        InteractionDataset.from_frame(
            ratings, value_col="rating", item_features=items.assign(item=items["item"].astype(str))
        )


def test_matrix_validation():
    with pytest.raises(InputError, match="NaN"):
        as_interactions(np.array([[1.0, np.nan]]))
    with pytest.raises(InputError, match="no nonzero"):
        as_interactions(sp.csr_matrix((3, 4)))
    with pytest.raises(InputError, match="2-D"):
        as_interactions(np.ones(3))
    with pytest.raises(InputError, match="expected 5 rows"):
        as_features(np.ones((4, 2)), "item_features", 5)
    assert as_features(None, "item_features", 5) is None
    dense = pd.DataFrame([[0, 1], [2, 0]])
    assert as_interactions(dense).toarray().tolist() == [[0, 1], [2, 0]]
    with pytest.raises(InputError, match="from_frame"):
        as_interactions(pd.DataFrame({"user": ["a"], "item": ["b"]}))


def test_load_interactions_file_csv_and_parquet(tmp_path, ratings):
    csv = tmp_path / "ratings.csv"
    ratings.to_csv(csv, index=False)
    ds = load_interactions_file(csv, "user", "item", value_col="rating", timestamp_col="ts")
    assert ds.name == "ratings" and ds.interactions.nnz == 6
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "ratings.parquet"
    ratings.to_parquet(parquet)
    again = load_interactions_file(parquet, "user", "item", value_col="rating")
    assert (again.interactions != ds.interactions).nnz == 0
    with pytest.raises(InputError, match="unknown column"):
        load_interactions_file(csv, "user", "product")
    with pytest.raises(DataNotFoundError, match="not found"):
        load_interactions_file(tmp_path / "missing.csv", "user", "item")


def test_data_layer_does_not_import_tensorflow():
    code = "import sys, tensorrec_explore.data; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
