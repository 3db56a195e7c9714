"""The settings declaration is the one source: the model, scikit-learn, the CLI, persistence and
the explorer all follow it, and a made-up setting reaches the derived places on its own."""

from __future__ import annotations

import inspect
import random

import keras
import numpy as np
import pytest
from sklearn.base import clone

from tensorrec_explore import TensorRec, settings
from tensorrec_explore.cli import build_parser
from tensorrec_explore.errors import InputError, UnknownPluginError

from .planted import make_planted


def test_signature_and_docstring_follow_the_declaration() -> None:
    params = inspect.signature(TensorRec.__init__).parameters
    assert list(params)[1:] == [s.name for s in settings.SETTINGS]
    assert {name: p.default for name, p in list(params.items())[1:]} == {
        s.name: s.default for s in settings.SETTINGS
    }
    for s in settings.SETTINGS:
        assert f"{s.name} : {s.annotation}" in TensorRec.__doc__
    assert TensorRec().get_params(deep=False) == {s.name: s.default for s in settings.SETTINGS}


def test_positional_and_keyword_construction_and_errors() -> None:
    model = TensorRec(8, "relu", loss="bpr")
    assert (model.n_components, model.user_representation, model.loss) == (8, "relu", "bpr")
    with pytest.raises(InputError, match="unexpected keyword argument 'n_component'"):
        TensorRec(n_component=8)
    with pytest.raises(InputError, match="too many positional"):
        TensorRec(*range(20))


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("n_components", 0),
        ("n_components", 2.0),
        ("n_tastes", True),
        ("epochs", "5"),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("learning_rate_schedule", "cosine"),
        ("l2", -1e-3),
        ("biased", 1),
        ("random_state", -1),
        ("random_state", 2**32),
        ("distribute", "mirrored"),
        ("loss", None),
    ],
)
def test_each_kind_rejects_bad_values_naming_the_setting(name: str, bad: object) -> None:
    with pytest.raises(InputError, match=name):
        TensorRec(**{name: bad})
    model = TensorRec()
    with pytest.raises(InputError, match=name):
        model.set_params(**{name: bad})
    assert model.get_params(deep=False) == TensorRec().get_params(deep=False)  # nothing changed


def test_unknown_plugin_name_lists_the_registered_ones() -> None:
    with pytest.raises(UnknownPluginError, match="softmax"):
        TensorRec(loss="sofmax")


def test_set_params_round_trip_and_unknown_name() -> None:
    model = TensorRec().set_params(n_components=8, l2=0.0, learning_rate_schedule="constant")
    assert model.get_params(deep=False)["n_components"] == 8
    assert TensorRec(**model.get_params(deep=False)).get_params(deep=False) == model.get_params(
        deep=False
    )
    with pytest.raises(InputError, match="Unknown parameter 'size'"):
        model.set_params(size=3)


def test_sklearn_clone_gives_an_unfitted_equal_model() -> None:
    data = make_planted(seed=0)
    model = TensorRec(n_components=8, epochs=2, random_state=3, loss="bpr").fit(data.interactions)
    copy = clone(model)
    assert copy.get_params(deep=False) == model.get_params(deep=False)
    assert not hasattr(copy, "network_")
    np.testing.assert_allclose(
        copy.fit(data.interactions).predict(), model.predict(), rtol=1e-5, atol=1e-5
    )


def test_get_params_deep_expands_estimator_like_values() -> None:
    class Tower(keras.layers.Layer):
        def get_params(self, deep: bool = True) -> dict:
            return {"width": 4}

    params = TensorRec(user_representation=Tower()).get_params(deep=True)
    assert params["user_representation__width"] == 4
    assert "user_representation__width" not in TensorRec().get_params(deep=False)


def test_fit_does_not_reseed_the_process() -> None:
    data = make_planted(seed=1)
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    TensorRec(n_components=4, epochs=1, random_state=0).fit(data.interactions)
    assert (random.random(), np.random.random()) == expected


def test_a_custom_keras_layer_is_seeded_by_random_state_and_not_trained_in_place() -> None:
    data = make_planted(seed=2)
    layer = keras.layers.Dense(6)

    def fit(seed: int) -> np.ndarray:
        return (
            TensorRec(n_components=6, item_representation=layer, epochs=1, random_state=seed)
            .fit(data.interactions)
            .item_representations()
        )

    assert np.allclose(fit(5), fit(5))
    assert not np.allclose(fit(5), fit(6))
    assert not layer.built  # the caller's object is a template: copies are trained


def test_persistence_and_cli_cover_every_declared_setting() -> None:
    saved = set(settings.saved_scalars())
    plugins = {s.name for s in settings.SETTINGS if s.kind == "plugin"}
    assert saved | plugins | {"distribute"} == set(settings.BY_NAME)
    fit = build_parser().parse_args(["fit"])
    for s in settings.cli_settings():
        assert hasattr(fit, s.name), s.name


def test_a_made_up_setting_reaches_validation_docs_and_cli(monkeypatch) -> None:
    momentum = settings.Setting(
        "momentum",
        "rate",
        None,
        "Made-up: Adam's beta_1.",
        annotation="float | None",
        auto="0.9",
        maximum=1.0,
    )
    monkeypatch.setattr(settings, "SETTINGS", (*settings.SETTINGS, momentum))
    monkeypatch.setitem(settings.BY_NAME, "momentum", momentum)
    assert "momentum : float | None" in settings.parameters_doc()
    assert "momentum" in settings.signature().parameters
    with pytest.raises(InputError, match="momentum must be a positive number"):
        settings.check_all({"momentum": -1.0})
    args = build_parser().parse_args(["fit", "--momentum", "0.5"])
    assert args.momentum == 0.5
    assert "momentum" in settings.saved_scalars()


def test_structural_settings_are_those_that_shape_the_network() -> None:
    assert {"n_components", "loss", "n_tastes", "random_state"} <= set(settings.STRUCTURAL)
    assert not {"epochs", "learning_rate", "l2", "batch_size"} & set(settings.STRUCTURAL)
