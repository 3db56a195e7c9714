"""The two-tower network: user/item representations, biases and the prediction function.

Scores are ``prediction(user_taste, item) + user_bias + item_bias``, maximised over a user's
tastes when ``n_tastes > 1``. Everything here works on TensorFlow tensors; the estimator in
``model.py`` owns validation, batching and numpy conversions.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from .defaults import embedding_towers
from .errors import InputError
from .predictions import Prediction
from .representations import clone_representation, kernel_rows, looks_up_ids, takes_training
from .sparse_rows import SparseRows


class Bias(keras.layers.Layer):
    """A learned scalar per feature row: ``features @ w`` with ``w`` of shape ``[n_features]``."""

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            name="kernel", shape=(int(input_shape[-1]), 1), initializer="zeros"
        )

    def call(self, features: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
        if isinstance(features, tf.SparseTensor):
            return tf.reshape(tf.sparse.sparse_dense_matmul(features, self.kernel), [-1])
        return tf.reshape(tf.matmul(features, self.kernel), [-1])

    def identity_rows(self, ids: tf.Tensor) -> tf.Tensor:
        """Return the biases of rows ``ids`` of identity features, ``[len(ids)]``."""
        return tf.reshape(kernel_rows(self.kernel, ids), [-1])


class TwoTower(keras.layers.Layer):
    """User and item towers plus the prediction function; built on the first feature shapes.

    A Keras layer: the towers and the biases are tracked sublayers, so ``weights`` /
    ``trainable_weights`` see every variable and the variables are named under this layer.
    ``trainable_variables`` is narrowed to what training updates (biases only when ``biased``).

    Parameters
    ----------
    user_representation, item_representation
        The towers' layers (built here; extra tastes get unbuilt clones of the user tower).
    prediction
        The scoring function between a user's and an item's representations.
    n_components, n_tastes, biased, seed
        The model's settings of the same names.
    """

    def __init__(
        self,
        user_representation: keras.layers.Layer,
        item_representation: keras.layers.Layer,
        prediction: Prediction,
        n_components: int,
        n_tastes: int,
        biased: bool,
        seed: int | None,
    ) -> None:
        super().__init__(name="two_tower")
        for offset, layer in enumerate((user_representation, item_representation)):
            configure = getattr(layer, "configure", None)
            if configure is not None:
                configure(n_components, None if seed is None else seed + 1000 * offset)
        self.user_layers = [user_representation]
        for taste in range(1, n_tastes):
            clone = clone_representation(user_representation)
            if getattr(clone, "seed", None) is not None:
                clone.seed = clone.seed + 7919 * taste
            self.user_layers.append(clone)
        self.item_layer = item_representation
        # Whether each tower takes ``training``: decided once here, from its signature.
        self.user_takes_training = [takes_training(layer) for layer in self.user_layers]
        self.item_takes_training = takes_training(item_representation)
        self.prediction = prediction
        self.n_tastes = n_tastes
        self.biased = biased
        self.user_bias = Bias(name="user_bias")
        self.item_bias = Bias(name="item_bias")
        # Whether each side's towers look up identity-feature rows directly (identity_rows).
        self.users_look_up = all(looks_up_ids(layer) for layer in self.user_layers)
        self.items_look_up = looks_up_ids(item_representation)
        # Both sides embedding-like (a recipe's and the sample count's condition).
        self.embedding_towers = embedding_towers(*self.user_layers, item_representation)

    def build(self, users: SparseRows, items: SparseRows) -> None:
        """Create every weight by running each tower once on a single row; keep the
        representations' width as ``width``."""
        first = tf.constant([0], tf.int64)
        user_rows, item_rows = users.rows(first), items.rows(first)
        user_widths = {int(layer(user_rows).shape[-1]) for layer in self.user_layers}
        item_width = int(self.item_layer(item_rows).shape[-1])
        if user_widths != {item_width}:
            raise InputError(
                f"User and item representations must have the same width to be compared: "
                f"users give {sorted(user_widths)}, items give {item_width}. Make custom "
                "representations output n_components columns."
            )
        self.width = item_width
        self.user_bias(user_rows)
        self.item_bias(item_rows)

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """Every trained weight: representations first, then biases when ``biased``."""
        variables = [v for layer in self.user_layers for v in layer.trainable_variables]
        variables += list(self.item_layer.trainable_variables)
        if self.biased:
            variables += list(self.user_bias.trainable_variables)
            variables += list(self.item_bias.trainable_variables)
        return variables

    @property
    def all_variables(self) -> list[tf.Variable]:
        """Every weight, in a fixed order: user towers, item tower, user bias, item bias."""
        return list(self.named_variables().values())

    def named_variables(self) -> dict[str, tf.Variable]:
        """Every weight by a name stable across processes (what save / load store).

        ``<part>/<index>_<name>``: part ``user_tower_<taste>``, ``item_tower``, ``user_bias`` or
        ``item_bias``; index the weight's position in that layer's ``weights``; name its own.
        """
        parts = {f"user_tower_{taste}": layer for taste, layer in enumerate(self.user_layers)}
        parts.update(item_tower=self.item_layer, user_bias=self.user_bias, item_bias=self.item_bias)
        return {
            f"{part}/{index}_{str(variable.name).rsplit('/', 1)[-1]}": variable
            for part, layer in parts.items()
            for index, variable in enumerate(layer.weights)
        }

    def regularization(self) -> tf.Tensor:
        """Return the sum of squares of the representation weights (biases excluded)."""
        layers = [*self.user_layers, self.item_layer]
        weights = [v for layer in layers for v in layer.trainable_variables]
        if not weights:
            return tf.constant(0.0)
        return tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights])

    def users(self, features: tf.SparseTensor, training: bool = False) -> tf.Tensor:
        """Return user representations ``[b, n_tastes, d]``."""
        layers = zip(self.user_layers, self.user_takes_training, strict=True)
        return _tastes([_call(layer, takes, features, training) for layer, takes in layers])

    def user_rows(self, ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Return representations ``[p, n_tastes, d]`` and biases ``[p]`` of users ``ids`` whose
        features are identity, looked up (only when :attr:`users_look_up`)."""
        vectors = _tastes([layer.identity_rows(ids) for layer in self.user_layers])
        return vectors, self._bias_rows(self.user_bias, ids)

    def item_rows(self, ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Return representations ``[p, d]`` and biases ``[p]`` of items ``ids`` whose features
        are identity, looked up (only when :attr:`items_look_up`)."""
        return self.item_layer.identity_rows(ids), self._bias_rows(self.item_bias, ids)

    def _bias_rows(self, bias: Bias, ids: tf.Tensor) -> tf.Tensor:
        return bias.identity_rows(ids) if self.biased else tf.zeros(tf.shape(ids), tf.float32)

    def items(self, features: tf.SparseTensor, training: bool = False) -> tf.Tensor:
        """Return item representations ``[n, d]``."""
        return _call(self.item_layer, self.item_takes_training, features, training)

    def user_biases(self, features: tf.SparseTensor) -> tf.Tensor:
        """Return user biases ``[b]`` (zeros when unbiased)."""
        return self.user_bias(features) if self.biased else tf.zeros([features.dense_shape[0]])

    def item_biases(self, features: tf.SparseTensor) -> tf.Tensor:
        """Return item biases ``[n]`` (zeros when unbiased)."""
        return self.item_bias(features) if self.biased else tf.zeros([features.dense_shape[0]])

    def pairwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[b, n]`` scores without biases: best taste of each user against each item."""
        if self.n_tastes == 1:
            return self.prediction.pairwise(tf.squeeze(users, 1), items)
        return tf.reduce_max(self.taste_scores(users, items), axis=1)

    def elementwise(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return ``[p]`` scores without biases for row-aligned users ``[p, T, d]`` and items."""
        if self.n_tastes == 1:
            return self.prediction.elementwise(tf.squeeze(users, 1), items)
        tiled = tf.repeat(items[:, None, :], tf.shape(users)[1], axis=1)
        return tf.reduce_max(self.prediction.elementwise(users, tiled), axis=1)

    def taste_scores(self, users: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Return the ``[b, T, n]`` score of each taste (for explaining multi-taste models)."""
        batch, tastes, width = tf.shape(users)[0], tf.shape(users)[1], tf.shape(users)[2]
        flat = self.prediction.pairwise(tf.reshape(users, [batch * tastes, width]), items)
        return tf.reshape(flat, [batch, tastes, tf.shape(items)[0]])


def _tastes(vectors: list[tf.Tensor]) -> tf.Tensor:
    """Stack each taste's ``[b, d]`` representations into ``[b, n_tastes, d]``."""
    if len(vectors) == 1:  # expand_dims: cheaper than stacking one tensor
        return tf.expand_dims(vectors[0], 1)
    return tf.stack(vectors, axis=1)


def _call(layer: Any, takes: bool, features: tf.SparseTensor, training: bool) -> tf.Tensor:
    return layer(features, training=training) if takes else layer(features)
