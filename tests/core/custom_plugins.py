"""Module-level custom plug-ins (importable, hence saveable) used by the tests."""

from __future__ import annotations

import keras
import tensorflow as tf

from tensorrec_explore.losses import Loss, LossInputs


@keras.saving.register_keras_serializable(package="tests")
class SquareTower(keras.layers.Layer):
    """A custom representation: Dense then a square activation (learns feature interactions)."""

    def __init__(self, units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def call(self, features):
        return tf.square(self.dense(features))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def first_columns(features):
    """A plain-callable representation: the first eight feature columns."""
    return features[:, :8]


class HingeLoss(Loss):
    """A custom loss: hinge between each liked item and the mean of the sampled items."""

    inputs = "sampled"

    def call(self, inputs: LossInputs) -> tf.Tensor:
        sampled_mean = tf.reduce_mean(inputs.sampled_scores, axis=1)
        return tf.reduce_mean(tf.nn.relu(1.0 - inputs.positive_scores + sampled_mean))
