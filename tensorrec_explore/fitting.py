"""A TensorRec's fitted state, and the training that moves it.

:class:`FittedState` is everything a fit creates (the network, the feature tables, the optimizer,
the random generator, the epoch counter, the resolved recipe, caches). The model holds one such
object and reads its fitted attributes (``network_``, ``epochs_done_``...) from it, so a fit
trained aside is adopted by swapping that one object (see :mod:`.fitted_state`).

This module is the internal interface that training, :mod:`.streaming`, :mod:`.fold_in` and
:mod:`.persistence` share: :func:`start` (build or continue a state), :func:`fitted` (the state
of a fitted model), and the state's methods (recipe, L2, trainer, epochs, scoring helpers).
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from . import defaults, distributed
from .callbacks import History, callback_chain
from .errors import InputError, NotFittedError
from .fitted_state import check_finite, check_losses, warn_extreme_rate
from .inputs import (
    check_count,
    check_features,
    check_interactions,
    check_loss_fits_data,
    check_same_features,
    check_sample_weight,
    check_structure_unchanged,
)
from .losses import check_weights_used, has_sampled_form, in_sampled_form, make_loss
from .network import TwoTower
from .predictions import make_prediction
from .representations import make_representation, seeded_construction
from .settings import STRUCTURAL
from .scoring import block_scores, user_blocks
from .sparse_rows import SparseRows
from .training import Trainer, failures_reported

#: Users per block when user representations are computed for a whole table.
USER_BLOCK = 4096


def plugin_name(plugin: Any) -> str:
    """Return the name a message uses for a plug-in setting (a registry name or a class name)."""
    return plugin if isinstance(plugin, str) else type(plugin).__name__


class FittedState:
    """What a fit creates, built from a model's settings on ``n_users x n_items`` interactions.

    Parameters
    ----------
    settings
        The model whose settings (``get_params``) the state is built from.
    interactions
        The training interactions (CSR); only their shape is used by streams, which pass an
        empty matrix.
    user_features, item_features
        Checked feature matrices (None = identity).

    Raises
    ------
    InputError
        When the representations cannot be built on the features.
    """

    def __init__(
        self,
        settings: Any,
        interactions: sp.csr_matrix,
        user_features: sp.csr_matrix | None,
        item_features: sp.csr_matrix | None,
    ) -> None:
        seed = settings.random_state
        self.rng = np.random.default_rng(seed)
        self.n_users, self.n_items = interactions.shape
        self.built_settings = {name: getattr(settings, name) for name in STRUCTURAL}
        self.loss = make_loss(settings.loss)
        self.prediction = make_prediction(settings.prediction)
        with seeded_construction(seed):  # custom layers' initializers: seeded, not the process
            towers = (
                make_representation(settings.user_representation),
                make_representation(settings.item_representation),
            )
            self.recipe = defaults.recipe_for(
                self.loss,
                *towers,
                settings.n_components,
                dense=not trains_sampled(self.loss, interactions, settings.n_sampled_items),
                large_catalogue=defaults.large_catalogue_samples(
                    self.loss, self.n_items, settings.n_sampled_items
                )
                is not None,
            )
            self.network = TwoTower(
                *towers,
                self.prediction,
                self.recipe.n_components,
                int(settings.n_tastes),
                bool(settings.biased),
                seed,
            )
        self.user_table = SparseRows(user_features, self.n_users)
        self.item_table = SparseRows(item_features, self.n_items)
        with distributed.scope(settings.distribute):  # variables and slots mirrored on replicas
            try:
                self.network.build(self.user_table, self.item_table)
            except (ValueError, TypeError, tf.errors.OpError) as error:
                if isinstance(error, InputError):
                    raise
                raise InputError(f"Could not build the representations: {error}") from error
            # the width built (pass-through towers output their features' width)
            self.n_components = self.network.width
            self.optimizer = keras.optimizers.Adam(learning_rate=self.resolve_recipe(settings))
        self.history = History()
        self.epochs_done = 0
        self.train_interactions = interactions
        self.item_cache: tuple[tf.Tensor, tf.Tensor] | None = None
        self.trainer: Any = None
        self.trainer_key: tuple | None = None
        self.fold_in: Any = None  # fold_in.FoldIn, made on the first fold_in call
        self.stream: Any = None  # streaming's (key, trainer, dataset), reused while the same
        self.trained_by: Any = None  # the trainer of the last training call

    # ----------------------------------------------------------------- recipe
    def resolve_recipe(self, settings: Any) -> float:
        """Fill ``learning_rate``, ``learning_rate_schedule``, ``epochs`` from ``settings`` or
        the recipe of :mod:`.defaults` (chosen when the state was built, with its width);
        return the learning rate."""
        recipe = self.recipe

        def pick(given: Any, default: Any) -> Any:
            return default if given is None else given

        self.learning_rate = float(pick(settings.learning_rate, recipe.learning_rate))
        self.learning_rate_schedule = pick(settings.learning_rate_schedule, recipe.schedule)
        self.epochs = int(pick(settings.epochs, recipe.epochs))
        return self.learning_rate

    def l2_for(self, settings: Any, loss: Any, likes_per_user: float) -> float:
        """Return ``settings.l2``, or its default for ``loss`` on data with ``likes_per_user``
        (:func:`~tensorrec_explore.defaults.default_l2_at`; kept as ``l2``)."""
        given = settings.l2
        self.l2 = defaults.default_l2_at(loss, likes_per_user) if given is None else float(given)
        return self.l2

    # --------------------------------------------------------------- training
    def trainer_for(
        self, settings: Any, interactions: sp.csr_matrix, weights: sp.csr_matrix | None = None
    ) -> Trainer:
        """Return the trainer for ``interactions`` and ``weights`` (aligned CSR or None),
        reusing (and not retracing) the last one."""
        previous = self.train_interactions
        # set_params reaches fit_partial; weights share the interactions' pattern (checked)
        key = (
            settings.l2,
            settings.batch_size,
            settings.n_sampled_items,
            None if weights is None else weights.data.tobytes(),
        )
        if (
            self.trainer is None
            or previous.shape != interactions.shape
            or (previous != interactions).nnz
            or key != self.trainer_key
        ):
            self.trainer = self._make_trainer(settings, interactions, weights)
            self.trainer_key = key
        self.train_interactions = interactions
        return self.trainer

    def _make_trainer(
        self, settings: Any, interactions: sp.csr_matrix, weights: sp.csr_matrix | None
    ) -> Trainer:
        loss = in_sampled_form(
            self.loss, trains_sampled(self.loss, interactions, settings.n_sampled_items)
        )
        n_sampled = defaults.sampled_items(
            loss, self.n_items, settings.n_sampled_items, self.network.embedding_towers
        )
        check_loss_fits_data(loss, plugin_name(settings.loss), interactions)
        with distributed.scope(settings.distribute):
            return Trainer(
                self,
                loss,
                interactions,
                weights,
                self.l2_for(settings, loss, defaults.likes_per_user(interactions)),
                settings.batch_size,
                n_sampled,
                strategy=settings.distribute,
            )

    def run(
        self,
        model: Any,
        trainer: Any,
        started: float,
        epochs: int | None,
        callbacks: Any,
        verbose: bool,
        validation: Any,
    ) -> None:
        """Run ``epochs`` epochs of ``trainer`` (anything with ``run_epoch(rng)``), calling the
        callbacks with ``model``; raise TrainingError when TensorFlow fails or training
        diverges."""
        rate = self.resolve_recipe(model)
        epochs = self.epochs if epochs is None else int(epochs)
        self.trained_by = trainer  # its loss and layout give the validation loss
        warn_extreme_rate(rate)
        chain = callback_chain(model, callbacks, verbose, validation)
        model.stop_training = False
        for callback in chain:
            callback.on_train_begin(model, {"epochs": epochs})
        try:
            for index in range(epochs):
                epoch_start = time.perf_counter()
                self.optimizer.learning_rate = defaults.learning_rate_at(
                    rate, self.learning_rate_schedule, index, epochs
                )
                with failures_reported("during training"):
                    data, reg = trainer.run_epoch(self.rng)
                self.item_cache = None
                check_losses(model, data, reg)
                logs = {
                    "loss": data,
                    "regularization": reg,
                    "total": data + reg,
                    "elapsed": time.perf_counter() - started,
                    "epoch_seconds": time.perf_counter() - epoch_start,
                }
                epoch = self.epochs_done
                self.epochs_done += 1
                for callback in chain:
                    callback.on_epoch_end(model, epoch, logs)
                if model.stop_training:
                    break
            check_finite(model)
        finally:
            for callback in chain:
                callback.on_train_end(model, {"stopped": model.stop_training})

    # ---------------------------------------------------------------- scoring
    def table(self, features: Any, kind: str) -> SparseRows:
        """Return the fitted ``kind`` (``"user"`` / ``"item"``) table, or ``features`` checked
        against it (same columns; an identity only for an identity-fitted model)."""
        fitted = self.user_table if kind == "user" else self.item_table
        if features is None:
            return fitted
        n_rows = (
            sp.csr_matrix(features).shape[0] if sp.issparse(features) else np.shape(features)[0]
        )
        csr = check_features(features, n_rows, f"{kind}_features", fitted.n_features)
        if csr is None and not fitted.is_identity:
            raise InputError(
                f"{kind}_features is an identity matrix but the model was fitted with features."
            )
        return SparseRows(csr, n_rows)

    def users(self, table: SparseRows) -> tuple[np.ndarray, np.ndarray]:
        """Return the user vectors ``[n, T, d]`` and biases ``[n]`` of every row of ``table``."""
        vectors, biases = [], []
        for block in user_blocks(table.n_rows, USER_BLOCK):
            rows = tf.range(block.start, block.stop, dtype=tf.int64)
            features = table.rows(rows)
            vectors.append(self.network.users(features).numpy())
            biases.append(self.network.user_biases(features).numpy())
        return np.concatenate(vectors), np.concatenate(biases)

    def items(self, table: SparseRows | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """Return item vectors and biases; those of the fitted items are cached until training."""
        fitted = table is None or table is self.item_table
        if fitted and self.item_cache is not None:
            return self.item_cache
        features = (self.item_table if fitted else table).all()
        result = self.network.items(features), self.network.item_biases(features)
        if fitted:
            self.item_cache = result
        return result

    def user_rows(self, users: np.ndarray) -> tuple[Any, Any]:
        """Return the vectors ``[n, T, d]`` and biases of the fitted users ``users``."""
        if not self.user_table.is_identity:
            return self.users(SparseRows(self.user_table.matrix[users], len(users)))
        features = self.user_table.rows(tf.constant(users))
        return self.network.users(features), self.network.user_biases(features)

    def scores(self, users: SparseRows, items: SparseRows) -> np.ndarray:
        """Return the dense ``[users.n_rows, items.n_rows]`` float32 scores, in user blocks."""
        user_vectors, user_biases = self.users(users)
        item_vectors, item_biases = self.items(items)
        return np.concatenate(
            [
                block_scores(
                    self.network,
                    tf.constant(user_vectors[b]),
                    tf.constant(user_biases[b]),
                    item_vectors,
                    item_biases,
                ).numpy()
                for b in user_blocks(user_vectors.shape[0], int(item_vectors.shape[0]))
            ]
        )

    def score_tensor(self, vectors: Any, biases: Any) -> tf.Tensor:
        """Return the scores of user ``vectors [b, T, d]`` and ``biases [b]`` on every item."""
        items, item_biases = self.items()
        return block_scores(
            self.network,
            tf.convert_to_tensor(vectors),
            tf.convert_to_tensor(biases),
            items,
            item_biases,
        )


def trains_sampled(loss: Any, interactions: sp.csr_matrix, n_sampled_items: int | None) -> bool:
    """Return True when ``loss`` trains in its sampled form on ``interactions``.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Only a ``"dense"`` loss declaring a ``sampled_variant`` can.
    interactions : scipy.sparse.csr_matrix
        The training interactions (a stream's empty matrix counts no likes).
    n_sampled_items : int or None
        The model's setting (see :func:`tensorrec_explore.defaults.use_sampled_softmax`).

    Returns
    -------
    bool
        Whether the sampled variant is the one trained.
    """
    if not has_sampled_form(loss):
        return False
    n_likes = int((interactions.data > 0).sum())
    return defaults.use_sampled_softmax(*interactions.shape, n_likes, n_sampled_items)


def fitted(model: Any) -> FittedState:
    """Return ``model``'s fitted state; raise NotFittedError when it has none."""
    state = model._fitted
    if state is None:
        raise NotFittedError(
            f"This {type(model).__name__} model is not fitted yet; call fit() first."
        )
    return state


def start(
    model: Any,
    interactions: sp.csr_matrix,
    user_features: Any,
    item_features: Any,
    what: str = "fit_partial",
    fix: str = "call fit() to start over",
) -> FittedState:
    """Return the state a training call on ``model`` continues, building (and attaching) a new
    one when ``model`` is unfitted.

    ``user_features`` / ``item_features`` are checked here; InputError when the shape, the
    features or a structural setting changed since the state was built (``what`` names the
    call in the message, ``fix`` what to do instead).
    """
    state = model._fitted
    n_users, n_items = interactions.shape
    if state is not None:
        check_structure_unchanged(model)
        if (n_users, n_items) != (state.n_users, state.n_items):
            raise InputError(
                f"{what} got interactions of shape {(n_users, n_items)} but the model was "
                f"fitted on {(state.n_users, state.n_items)}; {fix}."
            )
    user_features = check_features(user_features, n_users, "user_features")
    item_features = check_features(item_features, n_items, "item_features")
    if state is None:
        state = FittedState(model, interactions, user_features, item_features)
        model._attach(state)
    else:
        check_same_features(model, user_features, item_features)
    return state


def train(
    model: Any,
    interactions: Any,
    user_features: Any,
    item_features: Any,
    sample_weight: Any,
    epochs: Any,
    callbacks: Any,
    verbose: bool,
    validation: Any,
) -> None:
    """Train ``model`` in place on in-memory interactions (checked), continuing its state."""
    model._check_params()
    check_count(epochs, "epochs", optional=True)
    started = time.perf_counter()
    interactions = check_interactions(interactions)
    weights = check_sample_weight(sample_weight, interactions)
    state = start(model, interactions, user_features, item_features)
    if weights is not None:
        check_weights_used(state.loss, plugin_name(model.loss))
    trainer = state.trainer_for(model, interactions, weights)
    state.run(model, trainer, started, epochs, callbacks, verbose, validation)
