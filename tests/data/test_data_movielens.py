"""MovieLens loaders: published counts from ../shared/data, lookup order, missing-files error."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tensorrec_explore.data import load_movielens, random_holdout
from tensorrec_explore.errors import DataNotFoundError, InputError

from tests.data.fake_movielens import ml100k_files

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared(folder: str) -> Path:
    if not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"{SHARED_DATA / folder} is absent")
    return SHARED_DATA


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("100k", path=shared("ml-100k"))


@pytest.mark.movielens
def test_ml100k_published_counts(ml100k):
    assert ml100k.interactions.nnz == 100_000
    assert (ml100k.n_users, ml100k.n_items) == (943, 1682)
    np.testing.assert_array_equal(ml100k.item_ids, np.arange(1, 1683))  # sorted raw ids
    counts = np.bincount(ml100k.interactions.data.astype(int), minlength=6)[1:]
    assert counts.tolist() == [6110, 11370, 27145, 34174, 21201]
    genres = [n for n in ml100k.item_feature_names if n.startswith("genres=")]
    assert len(genres) == 19
    occupations = [n for n in ml100k.user_feature_names if n.startswith("occupation=")]
    assert len(occupations) == 21 and {"gender=F", "gender=M"} <= set(ml100k.user_feature_names)
    assert ml100k.item_features.shape[0] == 1682 and ml100k.timestamps.shape == (100_000,)


@pytest.mark.movielens
def test_ml100k_titles_metadata_and_latin1(ml100k):
    assert ml100k.item_titles[0] == "Toy Story (1995)"
    assert ml100k.item_titles[ml100k.item_index(543)] == "Misérables, Les (1995)"
    toy = ml100k.item_metadata.iloc[0]
    assert toy["year"] == 1995 and toy["decade"] == "1990s" and toy["genre"] == "Animation"
    assert ml100k.item_metadata["popularity"].sum() == 100_000
    assert ml100k.user_metadata.loc[0, "occupation"] == "technician"


@pytest.mark.movielens
def test_ml100k_benchmark_positives_and_split(ml100k):
    positives = ml100k.to_implicit(4)
    assert positives.interactions.nnz == 55_375
    assert positives.interactions.shape == (943, 1682)
    split = random_holdout(positives)
    rng = np.random.default_rng(42)  # BENCHMARK.md, literally, for the test side
    expected = set()
    m = positives.interactions
    for u in range(943):
        items = np.sort(m.indices[m.indptr[u] : m.indptr[u + 1]])
        if len(items) == 0:
            continue
        rng.shuffle(items)
        n_test = math.floor(0.2 * len(items)) if len(items) >= 5 else 0
        expected |= {(u, int(i)) for i in items[:n_test]}
    coo = split.test.tocoo()
    assert set(zip(coo.row.tolist(), coo.col.tolist(), strict=False)) == expected
    assert split.train.nnz + split.test.nnz == 55_375


@pytest.mark.movielens
def test_ml1m_interactions_only_is_all_positive_and_says_so():
    with pytest.warns(UserWarning, match="interactions.dat"):
        ds = load_movielens("1m", path=shared("ml-1m"))
    assert ds.interactions.nnz == 1_000_209
    assert (ds.n_users, ds.n_items) == (6040, 3706)
    assert ds.name == "ml-1m-all" and set(ds.interactions.data) == {1.0}
    assert len([n for n in ds.item_feature_names if n.startswith("genres=")]) == 18
    assert ds.item_titles[0] == "Toy Story (1995)"
    assert ds.item_feature_rows([3883]).shape == (1, len(ds.item_feature_names))  # never rated
    with pytest.raises(InputError, match="no rating values"):
        ds.to_implicit(4)


@pytest.mark.movielens
def test_environment_variable_is_searched(monkeypatch):
    monkeypatch.setenv("TENSORREC_EXPLORE_DATA", str(shared("ml-100k")))
    assert load_movielens("100k").n_items == 1682


def test_missing_files_say_what_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORREC_EXPLORE_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError) as error:
        load_movielens("100k", path=tmp_path / "explicit")
    message = str(error.value)
    for needed in ("u.data", "u.item", "u.user", "explicit", "env", "cache", "download=True"):
        assert needed in message
    with pytest.raises(InputError, match="'100k' or '1m'"):
        load_movielens("20m")


def test_ml100k_movie_file_with_missing_columns_is_named(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for name, content in ml100k_files().items():
        if name == "u.item":  # drop the last genre flag of every movie
            content = b"".join(line.rsplit(b"|", 1)[0] + b"\n" for line in content.splitlines())
        (folder / name).write_bytes(content)
    with pytest.raises(InputError, match=r"u\.item has 23 columns, expected 24"):
        load_movielens("100k", path=tmp_path)


def test_ml1m_prefers_full_ratings_file(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::10::5::978300760\n1::20::2::978300761\n2::10::4::9\n")
    (folder / "interactions.dat").write_text("1::10\n")
    movies = "10::Amélie (2001)::Comedy|Romance\n20::Heat: The Sequel (1995)::Action\n"
    (folder / "movies.dat").write_bytes(movies.encode("latin-1"))
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    ds = load_movielens("1m", path=tmp_path)
    assert ds.name == "ml-1m" and ds.interactions.toarray().tolist() == [[5, 2], [4, 0]]
    assert ds.item_titles.tolist() == ["Amélie (2001)", "Heat: The Sequel (1995)"]
    assert ds.item_metadata["year"].tolist() == [2001, 1995]
    assert ds.user_metadata["age_group"].tolist() == ["Under 18", "56+"]
    assert ds.user_metadata["occupation"].tolist() == ["K-12 student", "self-employed"]


def test_download_checks_sha256_and_reports_offline(tmp_path, monkeypatch):
    import io
    import urllib.error

    from tensorrec_explore.data import movielens

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("TENSORREC_EXPLORE_DATA", raising=False)
    monkeypatch.setattr(movielens.urllib.request, "urlopen", lambda *a, **k: io.BytesIO(b"junk"))
    with pytest.raises(DataNotFoundError, match="sha256"):
        load_movielens("100k", download=True)
    assert not list((tmp_path / "tensorrec_explore").iterdir())  # nothing half-written kept

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(movielens.urllib.request, "urlopen", offline)
    with pytest.raises(DataNotFoundError, match="offline"):
        load_movielens("1m", download=True)


@pytest.mark.movielens
def test_ml100k_leave_last_out_holds_each_users_latest_rating(ml100k):
    from tensorrec_explore.data import leave_last_out

    split = leave_last_out(ml100k, binary=False)
    assert split.test.nnz == 943 and split.train.nnz == 100_000 - 943  # every user has >= 20
    m = ml100k.interactions
    latest = [ml100k.timestamps[m.indptr[u] : m.indptr[u + 1]].max() for u in range(943)]
    coo = split.test.tocoo()
    held = ml100k.timestamps[
        [
            m.indptr[u] + np.searchsorted(m.indices[m.indptr[u] : m.indptr[u + 1]], i)
            for u, i in zip(coo.row, coo.col, strict=False)
        ]
    ]
    np.testing.assert_array_equal(held, np.array(latest)[coo.row])
