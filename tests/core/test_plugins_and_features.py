"""Custom plug-ins, several tastes, fold-in of new users, callbacks and representation details."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tensorrec_explore import (
    REPRESENTATIONS,
    EarlyStopping,
    ModelFileError,
    TensorRec,
    register_representation,
)
from tensorrec_explore.callbacks import Callback, ValidationMetrics
from tensorrec_explore.representations import ReLU, WeightedPassThrough

from .custom_plugins import HingeLoss, SquareTower, first_columns
from .planted import make_planted


def _fit(**params) -> tuple[TensorRec, object]:
    data = make_planted()
    params = {
        "n_components": 8,
        "epochs": 30,
        "learning_rate": 0.05,
        "batch_size": 64,
        "n_sampled_items": 16,
        "random_state": 0,
        **params,
    }
    model = TensorRec(**params).fit(
        data.interactions, user_features=data.user_features, item_features=data.item_features
    )
    return model, data


def test_custom_keras_layer_trains_saves_and_loads(tmp_path) -> None:
    model, _data = _fit(user_representation=SquareTower(8), item_representation="relu")
    assert model.history_.series("loss")[-1] < model.history_.series("loss")[0]
    path = model.save(tmp_path / "custom")
    np.testing.assert_allclose(TensorRec.load(path).predict(), model.predict(), rtol=1e-5)


def test_missing_custom_class_gives_a_clear_error(tmp_path) -> None:
    model, _ = _fit(user_representation=SquareTower(8), epochs=1)
    path = model.save(tmp_path / "custom")
    config = json.loads((path / "config.json").read_text())
    config["user_representation"]["config"]["inner"]["registered_name"] = "tests>Vanished"
    config["user_representation"]["config"]["inner"]["class_name"] = "Vanished"
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="Vanished"):
        TensorRec.load(path)


def test_callable_representation_and_custom_loss(tmp_path) -> None:
    model, _ = _fit(
        item_representation=first_columns, user_representation="linear", loss=HingeLoss()
    )
    curve = model.history_.series("loss")
    assert curve[-3:].mean() < curve[:3].mean()
    loaded = TensorRec.load(
        model.save(tmp_path / "callable"), allowed_modules=(HingeLoss.__module__,)
    )
    np.testing.assert_allclose(loaded.predict(), model.predict(), rtol=1e-5)


def test_lambda_representation_cannot_be_saved_and_says_why(tmp_path) -> None:
    model, _ = _fit(item_representation=lambda x: x[:, :8], epochs=1)
    with pytest.raises(ModelFileError, match="module-level function"):
        model.save(tmp_path / "lambda")
    assert not (tmp_path / "lambda").exists()


def test_registered_custom_representation_by_name() -> None:
    register_representation("square_tower_test", SquareTower, overwrite=True)
    assert "square_tower_test" in REPRESENTATIONS.names()
    model, _ = _fit(user_representation="square_tower_test", epochs=2)
    assert model.predict().shape == (30, 24)


def test_several_tastes_score_is_the_best_taste() -> None:
    model, _data = _fit(n_tastes=3, user_representation="normalized_linear")
    users = model.user_representations()
    items = model.item_representations()
    assert users.shape == (30, 3, 8)
    expected = (
        np.einsum("utd,id->uti", users, items).max(axis=1)
        + model.user_biases()[:, None]
        + model.item_biases()[None, :]
    )
    np.testing.assert_allclose(model.predict(), expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(users[:, 0], users[:, 1])


def test_fold_in_new_users_without_retraining() -> None:
    data = make_planted()
    model = TensorRec(n_components=8, epochs=40, learning_rate=0.05, random_state=0)
    model.fit(data.interactions, item_features=data.item_features)
    weights = [v.numpy().copy() for v in model.network_.all_variables]
    new = np.zeros((3, 24), np.float32)
    for row, cluster in enumerate((0, 1, 2)):
        new[row, np.flatnonzero(data.item_clusters == cluster)[:3]] = 1.0
    users = model.fold_in(new)
    top, _ = model.recommend(users, k=4, exclude=new)
    for row, cluster in enumerate((0, 1, 2)):
        assert (data.item_clusters[top[row]] == cluster).mean() >= 0.75
    for before, variable in zip(weights, model.network_.all_variables, strict=False):
        np.testing.assert_array_equal(before, variable.numpy())


def test_fold_in_with_user_features_uses_feature_rows() -> None:
    model, data = _fit()
    users = model.fold_in(data.interactions[:2], user_features=data.user_features[:2])
    np.testing.assert_allclose(
        users.representations[:, 0], model.user_representations()[:2], rtol=1e-5
    )


def test_validation_logs_early_stopping_and_callbacks() -> None:
    seen = []

    class Recorder(Callback):
        def on_epoch_end(self, model, epoch, logs):
            seen.append((epoch, dict(logs)))

    data = make_planted()
    model = TensorRec(n_components=8, epochs=50, learning_rate=0.05, random_state=0)
    model.fit(
        data.interactions,
        validation=ValidationMetrics(data.held_out, k=5, every=2),
        callbacks=[Recorder(), EarlyStopping("loss", patience=1, min_delta=10.0)],
    )
    assert len(seen) == 2 and model.epochs_done_ == 2  # min_delta=10 never improves: stop
    assert "val_ndcg@5" not in seen[0][1] and "val_ndcg@5" in seen[1][1]
    assert {"loss", "regularization", "total", "elapsed", "epoch_seconds"} <= set(seen[0][1])


def test_verbose_shows_a_progress_bar(capsys) -> None:
    data = make_planted()
    TensorRec(n_components=4, epochs=3, random_state=0).fit(data.interactions, verbose=True)
    assert "3/3" in capsys.readouterr().err


def test_weighted_pass_through_weights_train_and_relu_is_configurable() -> None:
    model, _ = _fit(item_representation=WeightedPassThrough(), loss="bpr")
    weights = model.network_.item_layer.feature_weights.numpy()
    assert not np.allclose(weights, 1.0)
    relu = ReLU(hidden_units=[16, 12], dropout=0.2)
    model, _ = _fit(user_representation=relu)
    trained = model.network_.user_layers[0]  # a copy: fit never trains the given object
    assert [tuple(k.shape) for k in trained.kernels] == [(8, 16), (16, 12), (12, 8)]
    assert trained is not relu and not relu.built


def test_identity_features_stay_sparse_and_explicit_identity_means_the_same() -> None:
    data = make_planted()
    model = TensorRec(n_components=8, epochs=3, random_state=0).fit(data.interactions)
    assert model.user_table_.is_identity and model.user_table_.matrix.nnz == 30
    np.testing.assert_allclose(model.predict(np.eye(30), np.eye(24)), model.predict(), rtol=1e-6)


def test_stop_training_from_a_callback() -> None:
    class StopAtTwo(Callback):
        def on_epoch_end(self, model, epoch, logs):
            if epoch == 1:
                model.stop_training = True

    data = make_planted()
    model = TensorRec(n_components=4, epochs=10, random_state=0)
    model.fit(data.interactions, callbacks=[StopAtTwo()])
    assert model.epochs_done_ == 2
