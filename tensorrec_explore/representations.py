"""Representation functions: Keras layers mapping features to representations.

A representation turns a batch of feature rows ``[batch, n_features]`` (a ``tf.SparseTensor``
for the built-ins, which stay sparse; identity features arrive as one non-zero per row, so they
never become an ``n x n`` dense matrix) into ``[batch, n_components]``. Any of them serves users
or items. Custom representations are any Keras layer, Keras model or callable, wrapped by
:class:`KerasRepresentation` (which densifies the batch, since most Keras layers expect dense
input). Built-ins receive ``n_components`` from the model when it is left as ``None``.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras
import tensorflow as tf

from .errors import InputError, ModelFileError
from . import fused_adam
from .registry import import_path

_PACKAGE = "tensorrec_explore"


def features_matmul(features: tf.Tensor | tf.SparseTensor, kernel: tf.Tensor) -> tf.Tensor:
    """Multiply features by a kernel, staying sparse when the features are.

    Parameters
    ----------
    features : tf.Tensor or tf.SparseTensor
        ``[batch, n_features]``.
    kernel : tf.Tensor
        ``[n_features, width]``.

    Returns
    -------
    tf.Tensor
        The dense ``[batch, width]`` product ``features @ kernel``.

    Sparse features times a kernel that takes row-wise Adam steps
    (:func:`~tensorrec_explore.fused_adam.updates_rows_only`) gather the kernel rows they use,
    so the kernel's gradient holds only those rows (``tf.IndexedSlices``) and the optimizer's
    step touches only them; smaller kernels keep the sparse matmul (cheaper there).
    """
    if isinstance(features, tf.SparseTensor) and fused_adam.updates_rows_only(kernel):
        rows, columns = features.indices[:, 0], features.indices[:, 1]
        weighted = kernel_rows(kernel, columns) * tf.cast(features.values, kernel.dtype)[:, None]
        return tf.math.unsorted_segment_sum(weighted, rows, features.dense_shape[0])
    if isinstance(features, tf.SparseTensor):
        return tf.sparse.sparse_dense_matmul(features, kernel)
    return tf.matmul(features, kernel)


def kernel_rows(kernel: Any, ids: tf.Tensor) -> tf.Tensor:
    """Return rows ``ids`` of ``kernel`` (repeats allowed): what identity features select.

    The backing variable is gathered itself (``ResourceGather``), not a read of the whole
    kernel (which a variable updated row-wise copies at every read); the gradient holds only
    those rows (``tf.IndexedSlices``).
    """
    rows_of = kernel.value if isinstance(kernel, keras.Variable) else kernel
    return tf.gather(rows_of, ids)


def looks_up_ids(layer: Any) -> bool:
    """Return True when ``layer.identity_rows`` stands for its ``call`` on identity features.

    The layer declares :attr:`Representation.looks_up_ids`, and its ``identity_rows`` is
    defined no higher in its class hierarchy than its ``call``: a subclass that changes
    ``call`` without ``identity_rows`` (a custom ``Linear``, say) is run through ``call``.
    """
    if not getattr(layer, "looks_up_ids", False):
        return False
    hierarchy = type(layer).__mro__

    def owner(name: str) -> type:
        return next(cls for cls in hierarchy if name in cls.__dict__)

    return issubclass(owner("identity_rows"), owner("call"))


def _input_width(input_shape: Any) -> int:
    width = input_shape[-1]
    if width is None:
        raise InputError("A representation needs a known number of feature columns.")
    return int(width)


def takes_training(plugin: Any) -> bool:
    """Return True when ``plugin`` accepts a ``training`` keyword argument.

    Decided once from a signature, so that calls never guess (retrying without ``training``
    on a ``TypeError`` would hide the plug-in's own errors).

    Parameters
    ----------
    plugin : keras.layers.Layer or callable
        For a Keras layer its ``call`` method is read, for any other callable the callable.

    Returns
    -------
    bool
        True when the signature names a ``training`` parameter that can be passed by keyword,
        or takes ``**kwargs``; False otherwise, also for callables without a readable signature
        (some builtins).
    """
    function = plugin.call if isinstance(plugin, keras.layers.Layer) else plugin
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD
        or (
            parameter.name == "training" and parameter.kind is not inspect.Parameter.POSITIONAL_ONLY
        )
        for parameter in parameters
    )


class Representation(keras.layers.Layer):
    """Base class of the built-in representations (sets ``n_components`` and an init seed).

    Parameters
    ----------
    n_components : int, optional
        The width of the representation; the model's ``n_components`` when None.
    seed : int, optional
        The seed of the weights' initializers; derived from the model's ``random_state``
        when None.
    **kwargs
        Passed to ``keras.layers.Layer`` (e.g. ``name``).
    """

    #: True for one vector per feature summed, no hidden layer: such tables take the large
    #: steps of :data:`tensorrec_explore.defaults.EMBEDDING_RECIPE`.
    embedding_like = False
    #: True when :meth:`identity_rows` gives the representations of identity-feature rows
    #: without building their sparse features (a look-up; training may then compile the step
    #: with XLA, which has no sparse matmul).
    looks_up_ids = False

    def identity_rows(self, ids: tf.Tensor) -> tf.Tensor:
        """Return the representations of rows ``ids`` of identity features, ``[len(ids), d]``
        (only for layers declaring :attr:`looks_up_ids`)."""
        raise NotImplementedError(f"{type(self).__name__} does not look up identity rows")

    def __init__(self, n_components: int | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.n_components = n_components
        self.seed = seed

    def configure(self, n_components: int, seed: int | None) -> None:
        """Fill in ``n_components`` and the seed where the user left them unset (before build).

        Parameters
        ----------
        n_components : int
            The model's ``n_components``.
        seed : int or None
            The seed the model derives for this layer.
        """
        if self.n_components is None:
            self.n_components = int(n_components)
        if self.seed is None:
            self.seed = seed

    def _normal(self, stddev: float, offset: int = 0) -> keras.initializers.Initializer:
        seed = None if self.seed is None else int(self.seed) + offset
        return keras.initializers.RandomNormal(stddev=stddev, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_components": self.n_components, "seed": self.seed}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Linear(Representation):
    """A linear embedding of the features: ``features @ W``.

    The classic matrix-factorisation / LightFM representation: with identity features it is one
    free vector per id; with metadata features each feature gets a vector and a row is the
    weighted sum. Pick it as the fast, interpretable baseline; it cannot express interactions
    between features (use :class:`ReLU` for that).

    Its parameters are :class:`Representation`'s.
    """

    embedding_like = True
    looks_up_ids = True

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            name="kernel",
            shape=(_input_width(input_shape), self.n_components),
            initializer=self._normal(1.0 / max(self.n_components, 1) ** 0.5),
        )

    def call(self, features: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
        return features_matmul(features, self.kernel)

    def identity_rows(self, ids: tf.Tensor) -> tf.Tensor:
        return kernel_rows(self.kernel, ids)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NormalizedLinear(Linear):
    """A linear embedding whose outputs are L2-normalised (all representations have length 1).

    Useful for user tastes in mixture-of-tastes models, where one long taste vector would
    otherwise dominate; with ``dot`` prediction it behaves like cosine similarity on one side.

    Its parameters are :class:`Representation`'s.
    """

    embedding_like = False  # not measured with the large steps

    def call(self, features: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
        return tf.math.l2_normalize(super().call(features), axis=-1)

    def identity_rows(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.math.l2_normalize(super().identity_rows(ids), axis=-1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PassThrough(Representation):
    """The features are the representation (no weights).

    Assumes the features already live in the embedding space (e.g. pre-trained vectors), so the
    model's ``n_components`` must equal the number of feature columns. Its parameters are
    :class:`Representation`'s (``seed`` unused: no weights).

    Raises
    ------
    InputError
        When built on a number of feature columns other than ``n_components``.
    """

    embedding_like = True

    def build(self, input_shape: Any) -> None:
        width = _input_width(input_shape)
        if self.n_components is not None and width != self.n_components:
            raise InputError(
                f"pass_through representations output their features, so n_components must equal "
                f"the number of feature columns: got n_components={self.n_components} and "
                f"{width} feature columns. Set n_components={width} or pick another representation."
            )

    def call(self, features: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
        if isinstance(features, tf.SparseTensor):
            return tf.sparse.to_dense(features)
        return tf.convert_to_tensor(features)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedPassThrough(PassThrough):
    """The features times one learned weight per feature column (initialised to 1).

    Like :class:`PassThrough` (same parameters and check), but the model learns how much each
    feature dimension matters.
    """

    embedding_like = False  # not measured with the large steps

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.feature_weights = self.add_weight(
            name="feature_weights", shape=(_input_width(input_shape),), initializer="ones"
        )

    def call(self, features: tf.Tensor | tf.SparseTensor) -> tf.Tensor:
        return super().call(features) * self.feature_weights


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReLU(Representation):
    """A deep representation: sparse-aware ReLU hidden layers, then a linear output layer.

    Learns non-linear combinations of features (redundant, correlated, badly scaled or
    interacting features) that a linear embedding cannot express.

    Parameters
    ----------
    n_components : int, optional
        The width of the output layer; the model's ``n_components`` when None.
    hidden_units : sequence of int, optional
        The widths of the hidden layers; one layer of ``4 * n_components`` (as in TensorRec)
        when None.
    dropout : float, default 0.0
        The dropout rate after each hidden layer while training, in [0, 1).
    seed : int, optional
        The seed of the initializers and the dropout; derived from the model's
        ``random_state`` when None.
    **kwargs
        Passed to ``keras.layers.Layer`` (e.g. ``name``).

    Raises
    ------
    InputError
        If ``dropout`` is outside [0, 1) or ``hidden_units`` is empty or holds a size <= 0.
    """

    def __init__(
        self,
        n_components: int | None = None,
        hidden_units: Sequence[int] | None = None,
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(n_components=n_components, seed=seed, **kwargs)
        if dropout < 0 or dropout >= 1:
            raise InputError(f"dropout must be in [0, 1), got {dropout!r}.")
        if hidden_units is not None and (
            len(hidden_units) == 0 or any(int(h) <= 0 for h in hidden_units)
        ):
            raise InputError(
                f"hidden_units must be a non-empty list of positive sizes, got {hidden_units!r}."
            )
        self.hidden_units = None if hidden_units is None else [int(h) for h in hidden_units]
        self.dropout = float(dropout)

    def build(self, input_shape: Any) -> None:
        sizes = self.hidden_units or [4 * self.n_components]
        widths = [_input_width(input_shape), *sizes, self.n_components]
        self.kernels, self.biases = [], []
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{layer}",
                    shape=(fan_in, fan_out),
                    initializer=self._normal((2.0 / fan_in) ** 0.5, offset=layer),
                )
            )
            self.biases.append(
                self.add_weight(name=f"bias_{layer}", shape=(fan_out,), initializer="zeros")
            )
        self.dropout_layer = keras.layers.Dropout(self.dropout, seed=self.seed)

    def call(self, features: tf.Tensor | tf.SparseTensor, training: bool = False) -> tf.Tensor:
        hidden = features_matmul(features, self.kernels[0]) + self.biases[0]
        for kernel, bias in zip(self.kernels[1:], self.biases[1:], strict=True):
            hidden = tf.nn.relu(hidden)
            if self.dropout:
                hidden = self.dropout_layer(hidden, training=training)
            hidden = tf.matmul(hidden, kernel) + bias
        return hidden

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden_units": self.hidden_units, "dropout": self.dropout}


def _callable_path(function: Callable) -> str:
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or "<" in qualname:
        raise ModelFileError(
            f"Cannot save the custom representation {function!r}: a plain callable is saved by "
            "its import path, so it must be a module-level function (not a lambda or a local "
            "function). Move it to a module, or wrap it in a Keras layer."
        )
    return f"{module}:{qualname}"


def _import_callable(path: str) -> Callable:
    try:
        return import_path(path)
    except (ImportError, AttributeError, ValueError) as error:
        raise ModelFileError(
            f"The saved model uses the custom representation function {path!r}, which cannot be "
            f"imported ({error}). Import or define it before TensorRec.load()."
        ) from error


@keras.saving.register_keras_serializable(package=_PACKAGE)
class KerasRepresentation(keras.layers.Layer):
    """Adapter that makes any Keras layer/model, or any callable, a representation.

    The wrapped object receives a dense ``[batch, n_features]`` float32 tensor and must return
    ``[batch, n_components]``; the model checks the width on first use. Keras objects are saved
    through Keras serialization (register custom classes with
    ``keras.saving.register_keras_serializable``); plain callables by their import path.

    Parameters
    ----------
    inner : keras.layers.Layer, keras.Model, callable, dict or str
        The wrapped object; a dict (Keras serialization) or a str (import path) when loaded.
    **kwargs
        Passed to ``keras.layers.Layer``.

    Raises
    ------
    InputError
        If ``inner`` is not callable.
    ModelFileError
        If a saved import path cannot be imported.
    """

    def __init__(self, inner: Any, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(inner, dict):
            inner = keras.saving.deserialize_keras_object(inner)
        elif isinstance(inner, str):
            inner = _import_callable(inner)
        if not callable(inner):
            raise InputError(
                f"A custom representation must be a Keras layer, a Keras model or a callable; "
                f"got {type(inner).__name__}."
            )
        self.inner = inner
        self.inner_takes_training = takes_training(inner)

    def configure(self, n_components: int, seed: int | None) -> None:
        """Do nothing: custom layers choose their own width (checked after the first call).

        Parameters
        ----------
        n_components : int
            The model's ``n_components`` (ignored).
        seed : int or None
            The layer's seed (ignored).
        """

    def call(self, features: tf.Tensor | tf.SparseTensor, training: bool = False) -> tf.Tensor:
        if isinstance(features, tf.SparseTensor):
            features = tf.sparse.to_dense(features)
        if self.inner_takes_training:
            return self.inner(features, training=training)
        return self.inner(features)

    def get_config(self) -> dict[str, Any]:
        if isinstance(self.inner, keras.layers.Layer):
            try:
                inner = keras.saving.serialize_keras_object(self.inner)
            except Exception as error:
                raise ModelFileError(
                    f"Cannot serialize the custom representation {type(self.inner).__name__}: "
                    f"{error}. Give it a get_config() and decorate the class with "
                    "@keras.saving.register_keras_serializable()."
                ) from error
        else:
            inner = _callable_path(self.inner)
        return {**super().get_config(), "inner": inner}


@contextlib.contextmanager
def seeded_construction(seed: int | None) -> Iterator[None]:
    """Seed the layers constructed inside from ``seed``, leaving the process's randomness alone.

    Keras draws the seed of an unseeded initializer (``Dense(16)``) from Python's ``random``
    module when the layer is constructed; inside this block that module is seeded with ``seed``
    and put back as it was afterwards, so a model's custom layers start from the same weights
    every time without reseeding the process (``keras.utils.set_random_seed`` would).

    Parameters
    ----------
    seed : int or None
        The model's ``random_state``; None does nothing.

    Yields
    ------
    None
        Construct the layers inside the ``with`` block.
    """
    if seed is None:
        yield
        return
    state = random.getstate()
    random.seed(int(seed))
    try:
        yield
    finally:
        random.setstate(state)


def make_representation(spec: Any) -> keras.layers.Layer:
    """Return a fresh, unbuilt representation layer for ``spec``.

    Parameters
    ----------
    spec : str, type, representation, Keras layer or callable
        A registry name, a class, or an instance. An instance is copied from its configuration,
        so every ``fit`` starts from new weights and the caller's object is never trained in
        place (an object whose configuration cannot rebuild it is used as it is).

    Returns
    -------
    keras.layers.Layer
        A built-in representation, or a :class:`KerasRepresentation` wrapping a Keras layer or
        a callable.

    Raises
    ------
    UnknownPluginError
        An unregistered name (the message lists the valid ones).
    InputError
        Anything else.
    """
    from .registry import REPRESENTATIONS

    if isinstance(spec, str):
        spec = REPRESENTATIONS.get(spec)
    if isinstance(spec, type):
        return spec()
    if isinstance(spec, (Representation, KerasRepresentation)):
        return _fresh(spec)
    if isinstance(spec, keras.layers.Layer) or callable(spec):
        return _fresh(KerasRepresentation(spec))
    raise InputError(
        f"A representation must be a registry name, a Keras layer or a callable; got {spec!r}."
    )


def _fresh(layer: keras.layers.Layer) -> keras.layers.Layer:
    try:
        return clone_representation(layer)
    except (TypeError, ValueError, KeyError, NotImplementedError, ModelFileError):
        return layer


def clone_representation(layer: keras.layers.Layer) -> keras.layers.Layer:
    """Return an unbuilt copy of a layer with the same configuration (one per extra taste).

    Parameters
    ----------
    layer : keras.layers.Layer
        A representation layer.

    Returns
    -------
    keras.layers.Layer
        A new layer of the same class, built from ``layer.get_config()``.
    """
    return type(layer).from_config(layer.get_config())
