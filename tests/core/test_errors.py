"""Bad inputs raise the documented, readable errors (never a TensorFlow traceback)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import (
    InputError,
    ModelFileError,
    NotFittedError,
    TensorRec,
    UnknownPluginError,
)

from .planted import make_planted


@pytest.fixture(scope="module")
def fitted() -> tuple[TensorRec, object]:
    data = make_planted()
    return TensorRec(n_components=4, epochs=2, random_state=0).fit(data.interactions), data


def test_shape_mismatch_between_interactions_and_features() -> None:
    data = make_planted()
    with pytest.raises(InputError, match=r"shape \(5, 8\), expected 30 rows"):
        TensorRec(epochs=1).fit(data.interactions, user_features=data.user_features[:5])


def test_empty_interactions() -> None:
    with pytest.raises(InputError, match="no nonzero entry"):
        TensorRec(epochs=1).fit(sp.csr_matrix((4, 5)))


def test_infinite_values() -> None:
    dense = np.ones((3, 3))
    dense[1, 2] = np.inf
    with pytest.raises(InputError, match=r"NaN or infinite.*\(1, 2\)"):
        TensorRec(epochs=1).fit(dense)


@pytest.mark.parametrize(
    "param,value",
    [
        ("n_components", 0),
        ("epochs", -1),
        ("learning_rate", 0.0),
        ("learning_rate_schedule", "cosine"),
        ("l2", -1.0),
        ("n_tastes", 1.5),
        ("batch_size", 0),
    ],
)
def test_bad_hyperparameters(param: str, value: object) -> None:
    with pytest.raises(InputError, match=param):
        TensorRec(**{param: value}).fit(np.eye(3))


@pytest.mark.parametrize("param", ["loss", "prediction", "user_representation"])
def test_unknown_plugin_lists_valid_names(param: str) -> None:
    with pytest.raises(UnknownPluginError, match=r"valid names are: .*"):
        TensorRec(**{param: "nope"}, epochs=1).fit(np.eye(3))


def test_predict_before_fit() -> None:
    with pytest.raises(NotFittedError, match="fit"):
        TensorRec().predict()
    with pytest.raises(NotFittedError):
        TensorRec().recommend([0])


def test_ids_out_of_range_and_bad_k(fitted) -> None:
    model, _data = fitted
    with pytest.raises(InputError, match=r"out of range \[0, 30\): \[30\]"):
        model.recommend([0, 30])
    with pytest.raises(InputError, match="k must be a positive integer"):
        model.recommend([0], k=0)
    with pytest.raises(InputError, match="larger than the catalogue"):
        model.recommend([0], k=1000)
    with pytest.raises(InputError, match="integer"):
        model.recommend([0.5])
    with pytest.raises(InputError, match="exclude has shape"):
        model.recommend([0], exclude=sp.csr_matrix((2, 2)))


def test_pass_through_width_mismatch_is_explained() -> None:
    data = make_planted()
    with pytest.raises(InputError, match="n_components must equal"):
        TensorRec(n_components=5, user_representation="pass_through", epochs=1).fit(
            data.interactions, user_features=data.user_features
        )


def test_fit_partial_with_other_shape(fitted) -> None:
    model, _ = fitted
    with pytest.raises(InputError, match="call fit"):
        model.fit_partial(np.eye(4))


def test_load_missing_folder(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="No saved TensorRec model"):
        TensorRec.load(tmp_path / "absent")
