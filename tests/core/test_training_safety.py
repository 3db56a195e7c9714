"""No silent divergence, atomic and thread-safe fit, and one strict validation of the settings."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from tensorrec_explore import (
    InputError,
    NotFittedError,
    TensorRec,
    TensorRecError,
    TrainingError,
    UnknownPluginError,
)
from tensorrec_explore.callbacks import Callback

from .planted import make_planted


def _fitted(**params) -> TensorRec:
    settings = {"n_components": 4, "epochs": 2, "random_state": 0, **params}
    return TensorRec(**settings).fit(make_planted().interactions)


def test_divergence_on_the_last_epoch_raises_and_keeps_the_previous_state() -> None:
    model = _fitted()
    before = model.recommend([0, 1], k=3)
    model.set_params(learning_rate=1e30, epochs=1)
    with pytest.warns(UserWarning, match="extreme"), pytest.raises(TrainingError, match="diverged"):
        model.fit(make_planted().interactions)
    after = model.recommend([0, 1], k=3)
    np.testing.assert_array_equal(after[0], before[0])
    assert np.isfinite(after[1]).all()


def test_divergence_of_a_fresh_model_raises() -> None:
    with pytest.warns(UserWarning), pytest.raises(TrainingError, match="learning_rate"):
        TensorRec(epochs=1, learning_rate=1e30).fit(make_planted().interactions)


class _Gate(Callback):
    """Holds training inside its first epoch until released."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

    def on_epoch_end(self, model, epoch, logs) -> None:
        self.inside.set()
        self.release.wait(60)


def test_a_second_concurrent_fit_is_refused() -> None:
    model, gate, errors = TensorRec(n_components=4, epochs=1, random_state=0), _Gate(), []
    data = make_planted().interactions
    worker = threading.Thread(target=lambda: model.fit(data, callbacks=[gate]))
    worker.start()
    assert gate.inside.wait(60)
    try:
        for call in (model.fit, model.fit_partial):
            with pytest.raises(TrainingError, match="already training"):
                call(data)
    except BaseException as error:
        errors.append(error)
    gate.release.set()
    worker.join()
    assert not errors, errors
    assert model.epochs_done_ == 1


def test_refit_under_concurrent_recommend_calls() -> None:
    model = _fitted()
    data, done, failures, answers = make_planted().interactions, threading.Event(), [], []

    def reader() -> None:
        while not done.is_set():
            try:
                ids, scores = model.recommend(np.arange(30), k=5)
                answers.append(ids.shape == (30, 5) and np.isfinite(scores).all())
            except BaseException as error:
                failures.append(error)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for seed in (1, 2, 3):
        model.set_params(random_state=seed).fit(data)
    done.set()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert answers and all(answers)


@pytest.mark.parametrize(
    "name, value",
    [
        ("epochs", -5),
        ("epochs", 0),
        ("epochs", True),
        ("epochs", 2.0),
        ("epochs", "3"),
        ("biased", "no"),
        ("biased", 1),
        ("learning_rate", True),
        ("learning_rate", "0.1"),
        ("learning_rate", float("nan")),
        ("l2", "abc"),
        ("l2", -1.0),
        ("l2", True),
        ("random_state", "abc"),
        ("random_state", -1),
        ("random_state", 2**40),
        ("random_state", 1.5),
        ("n_components", 4.0),
        ("n_components", False),
        ("n_tastes", 0),
        ("batch_size", "64"),
        ("n_sampled_items", 0),
        ("learning_rate_schedule", "cosine"),
    ],
)
def test_bad_settings_are_refused_everywhere(name, value) -> None:
    with pytest.raises(InputError, match=name):
        TensorRec(**{name: value})
    model = TensorRec()
    with pytest.raises(InputError, match=name):
        model.set_params(**{name: value})
    assert getattr(model, name) == TensorRec().get_params()[name]


def test_unknown_plugin_names_are_refused_by_the_constructor() -> None:
    with pytest.raises(UnknownPluginError, match="warp"):
        TensorRec(loss="wrap")


def test_training_calls_check_their_epochs() -> None:
    model = _fitted()
    data = make_planted().interactions
    for call in (model.fit, model.fit_partial):
        for epochs in (-5, 0, True, 1.5):
            with pytest.raises(InputError, match="epochs"):
                call(data, epochs=epochs)
    with pytest.raises(InputError, match="epochs"):
        model.fold_in(data[:2], epochs=0)


def test_fit_partial_after_a_structural_change_says_call_fit() -> None:
    model = _fitted()
    model.set_params(n_components=8)
    with pytest.raises(InputError, match=r"n_components.*call fit"):
        model.fit_partial(make_planted().interactions)
    model.fit(make_planted().interactions)
    assert model.item_representations().shape[1] == 8


def test_fit_partial_applies_a_new_l2() -> None:
    model = _fitted(l2=0.001)
    model.set_params(l2=0.5).fit_partial(make_planted().interactions, epochs=1)
    assert model.l2_ == 0.5


def test_a_diverging_fit_partial_puts_the_weights_back() -> None:
    model = _fitted()
    before = model.predict()
    adam = [v.numpy() for v in model.optimizer_.variables]
    model.set_params(learning_rate=1e30)
    with pytest.warns(UserWarning), pytest.raises(TrainingError):
        model.fit_partial(make_planted().interactions, epochs=1)
    np.testing.assert_array_equal(model.predict(), before)
    assert model.epochs_done_ == 2
    # Adam's moments and step count too: the next fit_partial continues from where it was
    for variable, value in zip(model.optimizer_.variables, adam, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_a_failed_first_fit_partial_leaves_the_model_unfitted() -> None:
    model = TensorRec(n_components=4, epochs=1, learning_rate=1e30, random_state=0)
    with pytest.warns(UserWarning), pytest.raises(TrainingError):
        model.fit_partial(make_planted().interactions)
    with pytest.raises(NotFittedError):
        model.predict()


def test_unfitted_models_copy_and_pickle_with_their_own_locks() -> None:
    import copy
    import pickle

    model = TensorRec(n_components=3, loss="bpr")
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert clone.get_params()["n_components"] == 3 and clone._fit_lock is not model._fit_lock
        clone.stop_training = True
        assert not model.stop_training


def test_a_failed_stream_refit_keeps_the_fitted_state() -> None:
    import tensorflow as tf

    X = sp.random(30, 24, density=0.2, format="csr", random_state=0, dtype=np.float32)
    X.data[:] = 1.0
    model = TensorRec(n_components=4, loss="bpr", epochs=2, random_state=0).fit(X)
    before = model.recommend(np.arange(30), k=5)[0]
    outside = tf.data.Dataset.from_tensor_slices(([0, 40], [1, 2], [1.0, 1.0]))  # user 40 > 30
    with pytest.raises(TensorRecError):
        model.fit_stream(outside, 30, 24)
    np.testing.assert_array_equal(model.recommend(np.arange(30), k=5)[0], before)
    records = tf.data.Dataset.from_tensor_slices(([0, 1, 2], [1, 2, 3], [1.0, 1.0, 1.0]))
    assert model.fit_stream(records, 30, 24) is model  # a stream refit that succeeds swaps in
    assert model.predict().shape == (30, 24)


def test_the_fitted_state_is_one_object_that_fit_swaps() -> None:
    assert not hasattr(TensorRec(), "network_")  # unfitted: no fitted attribute at all
    model = _fitted()
    network, history = model.network_, model.history_
    with pytest.raises(AttributeError, match="read-only"):
        model.epochs_done_ = 0
    model.fit_partial(make_planted().interactions, epochs=1)  # continues the same state
    assert model.network_ is network and model.history_ is history and model.epochs_done_ == 3
    model.fit(make_planted().interactions)  # a new state, adopted whole
    assert model.network_ is not network and model.epochs_done_ == 2


def test_a_failed_fit_partial_puts_the_random_generator_back() -> None:
    model = _fitted()
    state = model._fitted.rng.bit_generator.state
    model.set_params(learning_rate=1e30)
    with pytest.warns(UserWarning), pytest.raises(TrainingError):
        model.fit_partial(make_planted().interactions, epochs=1)
    assert model._fitted.rng.bit_generator.state == state
