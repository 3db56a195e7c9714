"""MovieLens 100k / 1M loaders with genres, release decade, demographics and titles.

Files are looked up in this order: the explicit ``path`` (a folder holding the files, or holding
``ml-100k/`` / ``ml-1m/``), ``$TENSORREC_EXPLORE_DATA/ml-.../``, then the user cache
(``$XDG_CACHE_HOME`` or ``~/.cache``, then ``tensorrec_explore/ml-.../``). The official GroupLens
archive is downloaded, and its sha256 checked, only with ``download=True``: into ``path``
when given, else into the user cache.
GroupLens forbids redistribution: never commit or ship these files.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataNotFoundError, InputError, describe
from .dataset import InteractionDataset
from .features import FeatureTable
from .files import check_numeric_columns, read_text_table

__all__ = ["DATA_ENV", "cache_dir", "load_movielens"]

DATA_ENV = "TENSORREC_EXPLORE_DATA"
_URL = "https://files.grouplens.org/datasets/movielens/{folder}.zip"
_SHA256 = {
    "ml-100k": "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    "ml-1m": "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
}
# file sets that make a usable folder; ml-1m may have full ratings or bare interactions
_NEEDED = {
    "ml-100k": [("u.data", "u.item", "u.user")],
    "ml-1m": [
        ("ratings.dat", "movies.dat", "users.dat"),
        ("interactions.dat", "movies.dat", "users.dat"),
    ],
}
_GENRES_100K = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
_AGE_1M = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
_OCCUPATION_1M = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
]


def cache_dir() -> Path:
    """Return the user cache folder of downloaded data.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/tensorrec_explore``, or ``~/.cache/tensorrec_explore``.
    """
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tensorrec_explore"


def load_movielens(
    variant: str = "100k", path: str | os.PathLike | None = None, download: bool = False
) -> InteractionDataset:
    """Return MovieLens 100k or 1M as an InteractionDataset of raw ratings.

    Index = sorted distinct raw ids of the whole ratings file (943 x 1,682 for 100k). Item
    features: genres (tags) and release decade; user features: age group, gender, occupation.
    Titles from the movie file; metadata columns "genre", "year", "age", ... for colouring.
    Values are the ratings (for RMSE); ``.to_implicit(4)`` gives the benchmark's positives.
    With only ml-1m's ``interactions.dat`` (no ratings) every value is 1, the name is
    "ml-1m-all" and a warning says so.

    Parameters
    ----------
    variant : {"100k", "1m"}, default "100k"
        Which MovieLens (``"ml-100k"`` / ``"ml-1m"`` are accepted too).
    path : str or os.PathLike, optional
        A folder holding the files, or holding ``ml-100k/`` / ``ml-1m/``; searched first,
        before ``$TENSORREC_EXPLORE_DATA`` and :func:`cache_dir`.
    download : bool, default False
        When the files are found nowhere, download the GroupLens archive (its SHA-256 checked)
        into ``path``, or into :func:`cache_dir` when ``path`` is None.

    Returns
    -------
    InteractionDataset
        The ratings with item and user features, titles and metadata.

    Raises
    ------
    InputError
        On an unknown ``variant``, or a malformed file in the folder found.
    DataNotFoundError
        When the files are found nowhere (the message names the files, the folders searched and
        where to put them), or a download fails or does not match its SHA-256.
    """
    folder_name = {"100k": "ml-100k", "ml-100k": "ml-100k", "1m": "ml-1m", "ml-1m": "ml-1m"}.get(
        str(variant).lower()
    )
    if folder_name is None:
        raise InputError(f"variant must be '100k' or '1m', got {describe(variant)}.")
    folder = _find(folder_name, path)
    if folder is None and download:
        folder = _download(folder_name, cache_dir() if path is None else Path(path))
    if folder is None:
        raise DataNotFoundError(_not_found_message(folder_name, path))
    return _load_100k(folder) if folder_name == "ml-100k" else _load_1m(folder)


def _candidates(folder_name: str, path: str | os.PathLike | None) -> list[tuple[str, Path | None]]:
    env = os.environ.get(DATA_ENV)
    return [
        ("path argument", None if path is None else Path(path)),
        ("path argument", None if path is None else Path(path) / folder_name),
        (f"${DATA_ENV}", None if not env else Path(env) / folder_name),
        ("user cache", cache_dir() / folder_name),
    ]


def _find(folder_name: str, path: str | os.PathLike | None) -> Path | None:
    for _, folder in _candidates(folder_name, path):
        if folder is not None and any(
            all((folder / f).is_file() for f in files) for files in _NEEDED[folder_name]
        ):
            return folder
    return None


def _not_found_message(folder_name: str, path: str | os.PathLike | None) -> str:
    needed = " or ".join(", ".join(files) for files in _NEEDED[folder_name])
    searched = "; ".join(
        f"{where}: {folder if folder is not None else '(not set)'}"
        for where, folder in _candidates(folder_name, path)
    )
    return (
        f"MovieLens {folder_name} not found: need {needed} (GroupLens originals). Searched "
        f"{searched}. Put the files in a folder named {folder_name}/ inside the folder that "
        f"${DATA_ENV} names, or in {cache_dir() / folder_name}, or pass path=...; or call "
        f"load_movielens(..., download=True) to fetch {_URL.format(folder=folder_name)} "
        "(checked by sha256)."
    )


def _download(folder_name: str, target: Path) -> Path:
    """Fetch, check and unpack the archive of ``folder_name`` into ``target``/``folder_name``."""
    url = _URL.format(folder=folder_name)
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target, suffix=".zip", delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    digest.update(chunk)
                    tmp.write(chunk)
        except (urllib.error.URLError, OSError) as e:
            Path(tmp.name).unlink(missing_ok=True)
            raise DataNotFoundError(
                f"could not download {url} ({e}); are you offline? "
                + _not_found_message(folder_name, None)
            ) from e
    archive = Path(tmp.name)
    if digest.hexdigest() != _SHA256[folder_name]:
        archive.unlink(missing_ok=True)
        raise DataNotFoundError(
            f"{url} has sha256 {digest.hexdigest()}, expected {_SHA256[folder_name]}; the "
            "download is corrupt or the archive changed. Retry, or place the files by hand."
        )
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)
    archive.unlink()
    return target / folder_name


def _age_group(age: int) -> str:
    for low, label in sorted(_AGE_1M.items(), reverse=True):
        if age >= low:
            return label
    return _AGE_1M[1]


def _decade(year: float) -> str:
    return "unknown" if np.isnan(year) else f"{int(year) // 10 * 10}s"


def _movie_table(ids: list, titles: list, genres: list, years: np.ndarray) -> FeatureTable:
    frame = pd.DataFrame(
        {
            "item": ids,
            "title": titles,
            "genres": genres,
            "decade": [_decade(y) for y in years],
            "genre": [g[0] if g else "unknown" for g in genres],
            "year": years,
        }
    )
    return FeatureTable(frame, "item", categorical=["decade"], tags=["genres"], title_col="title")


def _user_table(frame: pd.DataFrame) -> FeatureTable:
    frame = frame.assign(
        age_group=frame["age"].map(_age_group),
        label=[
            f"User {u} ({a}, {g}, {o})"
            for u, a, g, o in frame[["user", "age", "gender", "occupation"]].itertuples(index=False)
        ],
    )
    return FeatureTable(
        frame, "user", categorical=["age_group", "gender", "occupation"], title_col="label"
    )


def _load_100k(folder: Path) -> InteractionDataset:
    columns = ["user", "item", "rating", "timestamp"]
    ratings = read_text_table(
        folder / "u.data", encoding="latin-1", sep="\t", header=None, names=columns
    )
    check_numeric_columns(ratings, columns, folder / "u.data", first_line=1)
    items = read_text_table(folder / "u.item", encoding="latin-1", sep="|", header=None)
    if items.shape[1] != 5 + len(_GENRES_100K):
        raise InputError(
            f"{folder / 'u.item'} has {items.shape[1]} columns, expected {5 + len(_GENRES_100K)} "
            f"(id, title, release date, video date, URL, then {len(_GENRES_100K)} genre flags); "
            "replace it with the file of the GroupLens archive."
        )
    flags = items.iloc[:, 5:].to_numpy(dtype=bool)
    years = pd.to_datetime(items[2], format="%d-%b-%Y", errors="coerce").dt.year.to_numpy(float)
    movies = _movie_table(
        items[0].tolist(),
        items[1].astype(str).tolist(),
        [[g for g, on in zip(_GENRES_100K, row, strict=True) if on] for row in flags],
        years,
    )
    users = pd.read_csv(
        folder / "u.user",
        sep="|",
        header=None,
        names=["user", "age", "gender", "occupation", "zip"],
    )
    return InteractionDataset.from_frame(
        ratings,
        "user",
        "item",
        value_col="rating",
        timestamp_col="timestamp",
        user_features=_user_table(users),
        item_features=movies,
        name="ml-100k",
    )


def _read_colons(file: Path, names: list[str]) -> pd.DataFrame:
    """Read a '::'-separated GroupLens file fast (the C parser splits on ':', skipping blanks)."""
    columns = list(range(0, 2 * len(names), 2))
    return pd.read_csv(
        file, sep=":", header=None, usecols=columns, names=None, encoding="latin-1"
    ).set_axis(names, axis=1)


def _load_1m(folder: Path) -> InteractionDataset:
    if (folder / "ratings.dat").is_file():
        ratings = _read_colons(folder / "ratings.dat", ["user", "item", "rating", "timestamp"])
        value_col, timestamp_col, name = "rating", "timestamp", "ml-1m"
    else:
        warnings.warn(
            f"{folder} has no ratings.dat, only interactions.dat (no rating values): every "
            "interaction is loaded as an implicit positive (value 1). Label results 'ml-1m-all'.",
            UserWarning,
            stacklevel=3,
        )
        ratings = _read_colons(folder / "interactions.dat", ["user", "item"])
        value_col, timestamp_col, name = None, None, "ml-1m-all"
    lines = (folder / "movies.dat").read_text(encoding="latin-1").splitlines()
    parts = [line.split("::") for line in lines if line.strip()]
    years = np.array(
        [float(m.group(1)) if (m := re.search(r"\((\d{4})\)\s*$", p[1])) else np.nan for p in parts]
    )
    movies = _movie_table(
        [int(p[0]) for p in parts], [p[1] for p in parts], [p[2].split("|") for p in parts], years
    )
    users = _read_colons(folder / "users.dat", ["user", "gender", "age", "occupation", "zip"])
    users["occupation"] = users["occupation"].map(dict(enumerate(_OCCUPATION_1M)))
    return InteractionDataset.from_frame(
        ratings,
        "user",
        "item",
        value_col=value_col,
        timestamp_col=timestamp_col,
        user_features=_user_table(users),
        item_features=movies,
        name=name,
    )
