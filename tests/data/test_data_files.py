"""Interaction files: empty, mis-encoded and malformed files name the file and the line."""

from __future__ import annotations

import pytest

from tensorrec_explore.data import load_interactions_file, load_movielens
from tensorrec_explore.errors import InputError
from tests.data.fake_movielens import ml100k_files


def _load(path, **kwargs):
    return load_interactions_file(path, value_col="value", **kwargs)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("empty.csv", "", "{path} is empty"),
        ("header.csv", "user,item,value\n", "{path}"),
        ("ragged.csv", "user,item,value\n1,2,3\n1,3,4,5,6\n", "{path}: malformed rows .*line 3"),
        (
            "bad.csv",
            "user,item,value\n1,10,5\n2,11,not-a-number\n",
            r"line 3: column 'value' must be a number",
        ),
    ],
)
def test_bad_file_names_the_file_and_line(tmp_path, name, text, says) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=says.format(path=path)):
        _load(path)


def test_latin1_file_needs_its_encoding(tmp_path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("user,item,value\nRené,Amélie,5\nZoé,Heat,3\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"line 2: not valid utf-8 text.*latin-1"):
        _load(path)
    dataset = _load(path, encoding="latin-1")
    assert dataset.n_users == 2 and "René" in dataset.user_ids.tolist()


def test_utf16_file_gets_a_hint(tmp_path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("user,item,value\n1,2,3\n".encode("utf-16"))
    with pytest.raises(InputError, match='encoding="utf-16"'):
        _load(path)
    assert _load(path, encoding="utf-16").n_users == 1


def test_utf8_byte_order_mark_is_skipped(tmp_path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("user,item,value\n1,2,3\n".encode("utf-8-sig"))
    assert _load(path).n_items == 1


def test_unknown_encoding(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("user,item,value\n1,2,3\n")
    with pytest.raises(InputError, match="not a known text encoding"):
        _load(path, encoding="klingon")


def test_broken_parquet_is_an_input_error(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=str(path)):
        _load(path)


def test_malformed_u_data_row_names_the_line(tmp_path) -> None:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for name, content in ml100k_files().items():
        (folder / name).write_bytes(content)
    assert load_movielens("100k", path=tmp_path).n_users == 12
    lines = (folder / "u.data").read_text().splitlines()
    lines[2] = lines[2].replace("\t", "\tx", 1)
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"u.data, line 3: column 'item' must be a number"):
        load_movielens("100k", path=tmp_path)
