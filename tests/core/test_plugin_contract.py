"""The plug-in contract: what a loss needs is an attribute it declares, never its class or module
name; whether a tower takes ``training`` is read once from its signature."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tensorrec_explore import InputError, TensorRec
from tensorrec_explore.losses import (
    BPR,
    WARP,
    WMRB,
    BalancedWMRB,
    Logistic,
    Loss,
    LossInputs,
    SampledSoftmax,
    Softmax,
    in_sampled_form,
    needs_item_counts,
    uses_autograph,
)
from tensorrec_explore.representations import takes_training

from .planted import make_planted


class _Recorder:
    """Counts how often a loss's ``call`` ran in Python (once per trace of its step)."""

    def __init__(self) -> None:
        self.traced = 0


class SampledHinge(Loss):
    """A custom sampled loss: hinge of each liked item against the mean sampled score."""

    inputs = "sampled"
    needs_item_counts = False
    recorder = _Recorder()

    def call(self, inputs: LossInputs) -> tf.Tensor:
        type(self).recorder.traced += 1
        sampled_mean = tf.reduce_mean(inputs.sampled_scores, axis=1)
        return tf.reduce_mean(tf.nn.relu(1.0 - inputs.positive_scores + sampled_mean))


class DenseHinge(Loss):
    """A custom dense loss that declares :class:`SampledHinge` as its sampled form."""

    inputs = "dense"
    sampled_variant = SampledHinge
    recorder = _Recorder()

    def call(self, inputs: LossInputs) -> tf.Tensor:
        type(self).recorder.traced += 1
        liked = tf.cast(inputs.targets > 0, tf.float32)
        return tf.reduce_mean(tf.nn.relu(1.0 - inputs.scores) * liked)


class Catalogue(Softmax):
    """The softmax under another class name (no contract attribute declared)."""


def _fit(loss: Loss, n_sampled_items: int | None) -> TensorRec:
    SampledHinge.recorder.traced = DenseHinge.recorder.traced = 0
    model = TensorRec(
        n_components=4, loss=loss, n_sampled_items=n_sampled_items, epochs=1, random_state=0
    )
    return model.fit(make_planted().interactions)


# ------------------------------------------------------------------ sampled variants
def test_a_custom_dense_loss_with_a_sampled_variant_is_switched_like_the_softmax() -> None:
    _fit(DenseHinge(), n_sampled_items=8)  # fewer samples than the 24 items: sampled form
    assert SampledHinge.recorder.traced > 0 and DenseHinge.recorder.traced == 0
    _fit(DenseHinge(), n_sampled_items=None)  # a tiny catalogue: the dense form
    assert DenseHinge.recorder.traced > 0 and SampledHinge.recorder.traced == 0


def test_a_stream_trains_a_dense_loss_through_its_declared_sampled_variant() -> None:
    records = _records()
    model = TensorRec(n_components=4, loss=DenseHinge(), n_sampled_items=8, random_state=0)
    SampledHinge.recorder.traced = 0
    model.fit_stream(records, 30, 24, epochs=1)
    assert SampledHinge.recorder.traced > 0
    with pytest.raises(InputError, match="stream"):  # no variant: refused as before
        TensorRec(n_components=4, loss="rmse_dense", n_sampled_items=8).fit_stream(
            records, 30, 24, epochs=1
        )


def test_a_renamed_softmax_subclass_still_gets_its_sampled_variant(monkeypatch) -> None:
    traced = []
    original = SampledSoftmax.call

    def spy(self, inputs):
        traced.append(type(self))
        return original(self, inputs)

    monkeypatch.setattr(SampledSoftmax, "call", spy)
    assert type(in_sampled_form(Catalogue(), True)) is SampledSoftmax
    _fit(Catalogue(), n_sampled_items=8)
    assert traced and set(traced) == {SampledSoftmax}


def test_in_sampled_form_keeps_the_loss_when_not_wanted_or_without_variant() -> None:
    softmax = Softmax()
    assert in_sampled_form(softmax, False) is softmax
    wmrb = WMRB()
    assert in_sampled_form(wmrb, True) is wmrb


def test_a_function_declared_as_sampled_variant_is_called_without_arguments() -> None:
    def build() -> Loss:
        return SampledHinge()

    class Declared(DenseHinge):
        sampled_variant = build

    assert type(in_sampled_form(Declared(), True)) is SampledHinge


def test_a_variant_that_is_not_sampled_is_a_clear_error() -> None:
    class Wrong(DenseHinge):
        sampled_variant = Softmax

    with pytest.raises(InputError, match="sampled_variant must build a loss whose inputs"):
        in_sampled_form(Wrong(), True)


# ------------------------------------------------------------------ item counts
class CountReader(SampledHinge):
    """A sampled loss that records the largest item count it was given (in a variable)."""

    needs_item_counts = True

    def __init__(self) -> None:
        self.largest = tf.Variable(0.0, trainable=False)

    def call(self, inputs: LossInputs) -> tf.Tensor:
        self.largest.assign(tf.maximum(self.largest, tf.reduce_max(inputs.item_counts)))
        return super().call(inputs)


class CountIgnorer(CountReader):
    needs_item_counts = False


class _CountedStream:
    """A stream of the planted likes that counts how often it is read from the start."""

    def __init__(self) -> None:
        self.passes = 0
        coo = make_planted().interactions.tocoo()
        self.rows = (coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data)

    def _generate(self):
        self.passes += 1
        yield from zip(*self.rows, strict=True)

    def dataset(self) -> tf.data.Dataset:
        spec = (
            tf.TensorSpec([], tf.int64),
            tf.TensorSpec([], tf.int64),
            tf.TensorSpec([], tf.float32),
        )
        return tf.data.Dataset.from_generator(self._generate, output_signature=spec)


def _records() -> tf.data.Dataset:
    return _CountedStream().dataset()


@pytest.mark.parametrize("loss_class, passes", [(CountReader, 2), (CountIgnorer, 1)])
def test_a_stream_counts_items_only_for_losses_that_declare_needing_them(
    loss_class: type[CountReader], passes: int
) -> None:
    stream, loss = _CountedStream(), loss_class()
    model = TensorRec(n_components=4, loss=loss, random_state=0)
    model.fit_stream(stream.dataset(), 30, 24, epochs=1)
    assert stream.passes == passes  # one epoch, plus the counting pass when declared
    assert (float(loss.largest.numpy()) > 0) == loss_class.needs_item_counts


def test_built_in_losses_declare_what_they_read() -> None:
    assert not any(needs_item_counts(loss) for loss in (WMRB(), BPR(), WARP(), Logistic()))
    assert needs_item_counts(BalancedWMRB())  # it divides by the counts
    assert needs_item_counts(SampledSoftmax())  # in-batch negatives: log_q from the counts
    assert not needs_item_counts(Softmax())  # dense: never given counts

    class MyWMRB(WMRB):  # its call may read the counts: the safe default, not WMRB's False
        pass

    assert needs_item_counts(MyWMRB())


# ------------------------------------------------------------------ autograph
class PythonBranch(SampledHinge):
    """A loss that branches on a tensor in Python: needs autograph to be traced."""

    def call(self, inputs: LossInputs) -> tf.Tensor:
        loss = tf.reduce_mean(inputs.sampled_scores) - tf.reduce_mean(inputs.positive_scores)
        if loss > 0.5:
            return loss * 2.0
        return loss


class PythonBranchNoAutograph(PythonBranch):
    autograph = False


def test_autograph_is_what_the_loss_declares() -> None:
    assert not any(uses_autograph(loss) for loss in (WMRB(), Softmax(), SampledSoftmax()))
    assert uses_autograph(PythonBranch()) and uses_autograph(Catalogue())
    assert not uses_autograph(PythonBranchNoAutograph())
    data = make_planted().interactions
    TensorRec(n_components=4, loss=PythonBranch(), epochs=1, random_state=0).fit(data)
    with pytest.raises(Exception, match=r"Python .?bool"):
        TensorRec(n_components=4, loss=PythonBranchNoAutograph(), epochs=1).fit(data)


def test_a_duck_typed_loss_gets_the_safe_defaults() -> None:
    def duck(inputs: LossInputs) -> tf.Tensor:
        return tf.reduce_mean(inputs.sampled_scores)

    duck.inputs = "sampled"
    assert needs_item_counts(duck) and uses_autograph(duck)
    assert in_sampled_form(duck, True) is duck


# ------------------------------------------------------------------ training argument
class TrainingBugTower(keras.layers.Layer):
    """A tower whose own code raises a TypeError when training."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4)

    def call(self, features, training=False):
        if training:
            raise TypeError("my tower's own bug")
        return self.dense(features)


class NoTrainingTower(keras.layers.Layer):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(4)

    def call(self, features):
        return self.dense(features)


SEEN_TRAINING: list[bool] = []


def tower_taking_training(features, training=False):
    """A plain-callable tower that records the ``training`` it receives (at trace time)."""
    SEEN_TRAINING.append(bool(training))
    return features[:, :4]


def test_a_towers_own_type_error_surfaces_instead_of_a_silent_retry() -> None:
    model = TensorRec(n_components=4, user_representation=TrainingBugTower(), epochs=1)
    with pytest.raises(TypeError, match="my tower's own bug"):
        model.fit(make_planted().interactions, user_features=make_planted().user_features)


def test_towers_without_training_work_and_plain_callables_receive_it() -> None:
    data = make_planted()
    SEEN_TRAINING.clear()
    model = TensorRec(
        n_components=4,
        user_representation=NoTrainingTower(),
        item_representation=tower_taking_training,
        epochs=1,
        random_state=0,
    )
    model.fit(data.interactions, user_features=data.user_features, item_features=data.item_features)
    assert model.predict().shape == (30, 24)
    assert True in SEEN_TRAINING  # training steps pass training=True to the callable


def test_takes_training_reads_the_signature() -> None:
    def plain(features):
        return features

    def keyword_bag(features, **kwargs):
        return features

    assert takes_training(TrainingBugTower()) and not takes_training(NoTrainingTower())
    assert takes_training(tower_taking_training) and takes_training(keyword_bag)
    assert not takes_training(plain) and not takes_training(max)  # max: no signature
