"""The TensorRec estimator: fit / fit_partial / predict / predict_rank / recommend and friends.

Hyperparameters are stored as given in ``__init__``; ``fit`` starts over, ``fit_partial``
continues, both return ``self``; learned state ends in ``_``. Plug-ins take a registry name or
an object (see :mod:`tensorrec_explore.registry`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from . import defaults, distributed, persistence, settings
from .callbacks import Callback, History, callback_chain
from .errors import InputError, NotFittedError, TrainingError
from .fitted_state import FittedStateMixin, check_finite, check_losses, reading, warn_extreme_rate
from .fold_in import NewUsers, fold_in_new_users
from .inputs import (
    check_count,
    check_features,
    check_ids,
    check_interactions,
    check_interactions_shape,
    check_k,
    check_loss_fits_data,
    check_same_features,
    check_sample_weight,
    check_structure_unchanged,
)
from .losses import in_sampled_form, make_loss
from .network import TwoTower
from .predictions import make_prediction
from .representations import make_representation, seeded_construction
from .scoring import block_scores, most_similar, rank_rows, top_k_blocks, user_blocks
from .sparse_rows import SparseRows
from .training import Trainer


class TensorRec(FittedStateMixin):
    __doc__ = (
        "A recommender built from a user representation, an item representation, a prediction\n"
        "function and a loss (TensorRec's vocabulary), trained with Adam in TensorFlow 2.\n\n"
        "Settings are declared once in :mod:`tensorrec_explore.settings` (this signature, the\n"
        "section below, validation, ``get_params`` and persistence come from there).\n\n"
        + settings.parameters_doc()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, value in settings.bind(args, kwargs).items():
            setattr(self, name, value)
        self._init_guards()
        self._check_params()

    __init__.__signature__ = settings.signature()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ config
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor arguments as given (scikit-learn convention).

        Parameters
        ----------
        deep : bool, default True
            Also return ``name__param`` entries of settings whose value has ``get_params``.

        Returns
        -------
        dict
            Setting name -> value.
        """
        params = {s.name: getattr(self, s.name) for s in settings.SETTINGS}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    params.update({f"{name}__{k}": v for k, v in value.get_params().items()})
        return params

    def set_params(self, **params: Any) -> TensorRec:
        """Set constructor arguments (checked like the constructor's); returns self.

        Structural settings (:data:`~tensorrec_explore.settings.STRUCTURAL`) take effect at the
        next ``fit`` (``fit_partial`` refuses them); the others at the next training call.

        Raises
        ------
        InputError
            An unknown name or an invalid value (nothing is changed then).
        """
        settings.check_all(params)
        merged = {**self.get_params(deep=False), **params}
        distributed.require_seed(merged["distribute"], merged["random_state"])
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _check_params(self) -> None:
        params = self.get_params(deep=False)
        settings.check_all(params)
        distributed.require_seed(params["distribute"], params["random_state"])

    # -------------------------------------------------------------- training
    def fit(
        self,
        interactions: Any,
        user_features: Any = None,
        item_features: Any = None,
        *,
        epochs: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        verbose: bool = False,
        validation: Any = None,
        sample_weight: Any = None,
    ) -> TensorRec:
        """Train from scratch on ``interactions`` (n_users x n_items; > 0 liked, < 0 disliked).

        ``user_features`` / ``item_features``: one row per user / item (None = identity, as in
        LightFM). ``validation``: held-out positives (metrics every epoch) or a
        :class:`~tensorrec_explore.callbacks.ValidationMetrics`. ``sample_weight``: as in
        LightFM, a matrix with one weight > 0 exactly where ``interactions`` has an entry (None =
        all 1; e.g. ``dataset.weights`` or ``split.train_weights``); see
        :func:`~tensorrec_explore.inputs.check_sample_weight`. A weight scales its liked pair's
        term in the dense and sampled losses and its pair's term in the observed ones; the
        dislike penalty and ``rmse_dense`` / ``separation`` / ``separation_dense`` ignore it.
        Returns self.
        The fitted state of a previous fit keeps answering until this one succeeds, then is
        replaced in one step; a failed fit leaves it intact.
        """
        data = (interactions, user_features, item_features, sample_weight)
        self._check_params()
        with self._training():
            shadow = self._shadow()
            shadow._fit_partial(*data, epochs, callbacks, verbose, validation)
            self._adopt(shadow)
        return self

    def fit_partial(
        self,
        interactions: Any,
        user_features: Any = None,
        item_features: Any = None,
        *,
        epochs: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        verbose: bool = False,
        validation: Any = None,
        sample_weight: Any = None,
    ) -> TensorRec:
        """Continue training (or start, if unfitted) for ``epochs`` more epochs. Returns self.

        ``sample_weight`` as in :meth:`fit`. Raises InputError after ``set_params`` of a
        structural setting (call ``fit``).
        """
        data = (interactions, user_features, item_features, sample_weight)
        with self._training(), self._undo_on_failure():
            return self._fit_partial(*data, epochs, callbacks, verbose, validation)

    def _fit_partial(
        self,
        interactions: Any,
        user_features: Any,
        item_features: Any,
        sample_weight: Any,
        epochs: Any,
        callbacks: Any,
        verbose: bool,
        validation: Any,
    ) -> TensorRec:
        self._check_params()
        check_count(epochs, "epochs", optional=True)
        started = time.perf_counter()
        interactions = check_interactions(interactions)
        weights = check_sample_weight(sample_weight, interactions)
        n_users, n_items = interactions.shape
        if hasattr(self, "network_"):
            check_structure_unchanged(self)
        if hasattr(self, "network_") and (n_users, n_items) != (self.n_users_, self.n_items_):
            raise InputError(
                f"fit_partial got interactions of shape {(n_users, n_items)} but the model was "
                f"fitted on {(self.n_users_, self.n_items_)}; call fit() to start over."
            )
        user_features = check_features(user_features, n_users, "user_features")
        item_features = check_features(item_features, n_items, "item_features")
        if not hasattr(self, "network_"):
            self._build(interactions, user_features, item_features)
        else:
            check_same_features(self, user_features, item_features)
        trainer = self._trainer_for(interactions, weights)
        return self._run(trainer, started, epochs, callbacks, verbose, validation)

    def fit_stream(
        self,
        dataset: Any,
        n_users: int,
        n_items: int,
        user_features: Any = None,
        item_features: Any = None,
        *,
        epochs: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        verbose: bool = False,
        validation: Any = None,
        steps_per_epoch: int | None = None,
        partial: bool = False,
    ) -> TensorRec:
        """Train from a ``tf.data.Dataset`` of ``(user, item, value)`` records. Returns self.

        Records carry no weight: every streamed interaction counts 1 (no ``sample_weight``).

        For interactions that do not fit in memory (see
        :func:`~tensorrec_explore.streaming.interaction_files_dataset`): each epoch is one pass
        over ``dataset`` (or ``steps_per_epoch`` batches of ``batch_size`` records), with
        sampled or observed losses only (dense losses raise :class:`InputError`; ``softmax``
        needs ``n_sampled_items``). Starts over unless ``partial=True``. ``validation`` metrics
        do not exclude the streamed training pairs (they are not kept). Like ``fit``, starting
        over trains aside: the fitted state keeps answering until the stream's fit succeeds.
        """
        from .streaming import fit_stream

        def train(model: TensorRec) -> TensorRec:
            return fit_stream(
                model,
                dataset,
                n_users,
                n_items,
                user_features,
                item_features,
                epochs=epochs,
                callbacks=callbacks,
                verbose=verbose,
                validation=validation,
                steps_per_epoch=steps_per_epoch,
                partial=partial,
            )

        if partial:
            with self._training(), self._undo_on_failure():
                return train(self)
        self._check_params()
        with self._training():
            shadow = self._shadow()
            train(shadow)
            self._adopt(shadow)
        return self

    def _run(
        self,
        trainer: Any,
        started: float,
        epochs: int | None,
        callbacks: Any,
        verbose: bool,
        validation: Any,
    ) -> TensorRec:
        """Run ``epochs`` epochs of ``trainer`` (anything with ``run_epoch(rng)``) with callbacks."""
        rate = self._resolve_recipe()
        epochs = self.epochs_ if epochs is None else int(epochs)
        warn_extreme_rate(rate)
        callbacks = callback_chain(self, callbacks, verbose, validation)
        self.stop_training = False
        for callback in callbacks:
            callback.on_train_begin(self, {"epochs": epochs})
        try:
            for index in range(epochs):
                epoch_start = time.perf_counter()
                self.optimizer_.learning_rate = defaults.learning_rate_at(
                    rate, self.learning_rate_schedule_, index, epochs
                )
                try:
                    data, reg = trainer.run_epoch(self._rng)
                except tf.errors.OpError as error:
                    raise TrainingError(
                        f"TensorFlow failed during training: {error.message}"
                    ) from error
                self._item_cache = None
                check_losses(self, data, reg)
                logs = {
                    "loss": data,
                    "regularization": reg,
                    "total": data + reg,
                    "elapsed": time.perf_counter() - started,
                    "epoch_seconds": time.perf_counter() - epoch_start,
                }
                epoch = self.epochs_done_
                self.epochs_done_ += 1
                for callback in callbacks:
                    callback.on_epoch_end(self, epoch, logs)
                if self.stop_training:
                    break
            check_finite(self)
        finally:
            for callback in callbacks:
                callback.on_train_end(self, {"stopped": self.stop_training})
        return self

    def _build(self, interactions: sp.csr_matrix, user_features: Any, item_features: Any) -> None:
        seed = self.random_state
        self._rng = np.random.default_rng(seed)
        self.n_users_, self.n_items_ = interactions.shape
        self.built_settings_ = {name: getattr(self, name) for name in settings.STRUCTURAL}
        self.loss_ = make_loss(self.loss)
        self.prediction_ = make_prediction(self.prediction)
        with seeded_construction(seed):  # custom layers' initializers: seeded, not the process
            self.network_ = TwoTower(
                make_representation(self.user_representation),
                make_representation(self.item_representation),
                self.prediction_,
                int(self.n_components),
                int(self.n_tastes),
                bool(self.biased),
                seed,
            )
        self.user_table_ = SparseRows(user_features, self.n_users_)
        self.item_table_ = SparseRows(item_features, self.n_items_)
        with distributed.scope(self.distribute):  # variables and slots mirrored on replicas
            try:
                self.network_.build(self.user_table_, self.item_table_)
            except (ValueError, TypeError, tf.errors.OpError) as error:
                if isinstance(error, InputError):
                    raise
                raise InputError(f"Could not build the representations: {error}") from error
            self.optimizer_ = keras.optimizers.Adam(learning_rate=self._resolve_recipe())
        self.history_ = History()
        self.epochs_done_ = 0
        self._item_cache = None
        self._trainer = None
        self._fold_in = None

    _check_same_features = check_same_features  # fit_stream's check, a method for it

    def _trainer_for(self, interactions: sp.csr_matrix, weights: Any = None) -> Trainer:
        """Return the trainer for ``interactions`` and ``weights`` (aligned CSR or None),
        reusing (and not retracing) the last one."""
        previous = getattr(self, "train_interactions_", None)
        # set_params reaches fit_partial; weights share the interactions' pattern (checked)
        key = (
            self.l2,
            self.batch_size,
            self.n_sampled_items,
            None if weights is None else weights.data.tobytes(),
        )
        if (
            self._trainer is None
            or previous is None
            or previous.shape != interactions.shape
            or (previous != interactions).nnz
            or key != getattr(self, "_trainer_key", None)
        ):
            self._trainer, self._trainer_key = self._make_trainer(interactions, weights), key
        self.train_interactions_ = interactions
        return self._trainer

    def _make_trainer(self, interactions: sp.csr_matrix, weights: Any = None) -> Trainer:
        n_likes = int((interactions.data > 0).sum())
        wanted = defaults.use_sampled_softmax(*interactions.shape, n_likes, self.n_sampled_items)
        loss = in_sampled_form(self.loss_, wanted)
        n_sampled = defaults.sampled_items(loss, self.n_items_, self.n_sampled_items)
        check_loss_fits_data(loss, self._name(self.loss), interactions)
        with distributed.scope(self.distribute):
            return Trainer(
                self.network_,
                loss,
                self.optimizer_,
                self.user_table_,
                self.item_table_,
                interactions,
                weights,
                self._l2_for(loss, interactions),
                self.batch_size,
                n_sampled,
                strategy=self.distribute,
            )

    def _resolve_recipe(self) -> float:
        """Fill ``learning_rate_``, ``learning_rate_schedule_``, ``epochs_``; return the rate."""
        recipe = defaults.recipe_for(
            self.loss_, self.network_.user_layers[0], self.network_.item_layer
        )

        def pick(given, default):
            return default if given is None else given

        self.learning_rate_ = float(pick(self.learning_rate, recipe.learning_rate))
        self.learning_rate_schedule_ = pick(self.learning_rate_schedule, recipe.schedule)
        self.epochs_ = int(pick(self.epochs, recipe.epochs))
        return self.learning_rate_

    def _l2_for(self, loss: Any, interactions: sp.csr_matrix) -> float:
        """Return ``l2``, or its default for ``loss`` on ``interactions`` (kept as ``l2_``)."""
        self.l2_ = defaults.default_l2(loss, interactions) if self.l2 is None else float(self.l2)
        return self.l2_

    @staticmethod
    def _name(plugin: Any) -> str:
        return plugin if isinstance(plugin, str) else type(plugin).__name__

    # --------------------------------------------------------------- scoring
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError("This TensorRec model is not fitted yet; call fit() first.")

    def _table(self, features: Any, kind: str) -> SparseRows:
        fitted = self.user_table_ if kind == "user" else self.item_table_
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

    def _users(self, table: SparseRows) -> tuple[np.ndarray, np.ndarray]:
        vectors, biases = [], []
        for block in user_blocks(table.n_rows, 4096):
            rows = tf.range(block.start, block.stop, dtype=tf.int64)
            features = table.rows(rows)
            vectors.append(self.network_.users(features).numpy())
            biases.append(self.network_.user_biases(features).numpy())
        return np.concatenate(vectors), np.concatenate(biases)

    def _items(self, table: SparseRows | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """Return item vectors and biases; those of the fitted items are cached until training."""
        fitted = table is None or table is self.item_table_
        if fitted and self._item_cache is not None:
            return self._item_cache
        features = (self.item_table_ if fitted else table).all()
        result = self.network_.items(features), self.network_.item_biases(features)
        if fitted:
            self._item_cache = result
        return result

    @reading
    def predict(self, user_features: Any = None, item_features: Any = None) -> np.ndarray:
        """Return dense ``[n_users, n_items]`` float32 scores (for small problems).

        None = the features used in ``fit`` (an explicit identity matrix means the same).
        """
        self._check_fitted()
        users, user_biases = self._users(self._table(user_features, "user"))
        items, item_biases = self._items(self._table(item_features, "item"))
        return np.concatenate(
            [
                block_scores(
                    self.network_,
                    tf.constant(users[b]),
                    tf.constant(user_biases[b]),
                    items,
                    item_biases,
                ).numpy()
                for b in user_blocks(users.shape[0], int(items.shape[0]))
            ]
        )

    @reading
    def score_users(self, users: Any) -> np.ndarray:
        """Return ``[len(users), n_items]`` float32 scores of fitted users (metrics' scorer)."""
        self._check_fitted()
        return self._score_tensor(
            *self._user_rows(check_ids(users, self.n_users_, "users"))
        ).numpy()

    def _user_rows(self, users: np.ndarray) -> tuple[Any, Any]:
        """Return the vectors ``[n, T, d]`` and biases of the fitted users ``users``."""
        if not self.user_table_.is_identity:
            return self._users(SparseRows(self.user_table_.matrix[users], len(users)))
        features = self.user_table_.rows(tf.constant(users))
        return self.network_.users(features), self.network_.user_biases(features)

    def _score_tensor(self, vectors: Any, biases: Any) -> tf.Tensor:
        """Scores of user ``vectors [b, T, d]`` and ``biases [b]`` (arrays or tensors)."""
        items, item_biases = self._items()
        return block_scores(
            self.network_,
            tf.convert_to_tensor(vectors),
            tf.convert_to_tensor(biases),
            items,
            item_biases,
        )

    @reading
    def predict_rank(
        self, user_features: Any = None, item_features: Any = None, exclude: Any = None
    ) -> np.ndarray:
        """Return ``[n_users, n_items]`` int32 ranks (1 = best); excluded items rank last.

        ``exclude`` must have the shape of the scores (InputError otherwise).
        """
        scores = self.predict(user_features, item_features)
        return rank_rows(
            scores, None if exclude is None else check_interactions_shape(exclude, scores.shape)
        )

    @reading
    def recommend(
        self, users: Any, k: int = 10, exclude: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the top-``k`` item indices ``[n, k]`` and scores for ``users``, in blocks.

        ``users``: fitted user indices, or the :class:`NewUsers` from :meth:`fold_in`.
        ``exclude``: a matrix whose non-zeros are never recommended, with one row per fitted
        user (or per new user); e.g. the training interactions. A user with fewer than ``k``
        eligible items gets them all, then ids ``-1`` with scores NaN.
        """
        self._check_fitted()
        k = check_k(k, self.n_items_)
        if isinstance(users, NewUsers):
            new = users
            rows, n_rows = np.arange(new.n_users), new.n_users

            def scores_of(block):
                return self._score_tensor(new.representations[block], new.biases[block])
        else:
            rows, n_rows = check_ids(users, self.n_users_, "users"), self.n_users_

            def scores_of(block):
                return self._score_tensor(*self._user_rows(block))

        if exclude is not None:
            exclude = check_interactions_shape(exclude, (n_rows, self.n_items_))
        return top_k_blocks(scores_of, rows, self.n_items_, k, exclude)

    @reading
    def fold_in(
        self, interactions: Any, user_features: Any = None, *, epochs: int = 100
    ) -> NewUsers:
        """Return representations for users not seen in training, without retraining.

        With identity user features, each new user's vector is fitted to their interactions
        (one row each, ``n_items`` columns) with item representations held fixed; with user
        features, pass ``user_features`` for the new users (they are simply new feature rows).
        """
        self._check_fitted()
        return fold_in_new_users(self, interactions, user_features, epochs)

    # --------------------------------------------------------- inspection
    @reading
    def user_representations(self, user_features: Any = None) -> np.ndarray:
        """Return ``[n_users, n_components]`` (``[n_users, n_tastes, n_components]`` if tastes > 1)."""
        self._check_fitted()
        vectors, _ = self._users(self._table(user_features, "user"))
        return vectors[:, 0, :] if vectors.shape[1] == 1 else vectors

    @reading
    def item_representations(self, item_features: Any = None) -> np.ndarray:
        """Return ``[n_items, n_components]`` item representations."""
        self._check_fitted()
        return self._items(self._table(item_features, "item"))[0].numpy()

    @reading
    def user_biases(self, user_features: Any = None) -> np.ndarray:
        """Return ``[n_users]`` user biases (zeros when ``biased=False``)."""
        self._check_fitted()
        return self._users(self._table(user_features, "user"))[1]

    @reading
    def item_biases(self, item_features: Any = None) -> np.ndarray:
        """Return ``[n_items]`` item biases (zeros when ``biased=False``)."""
        self._check_fitted()
        return self._items(self._table(item_features, "item"))[1].numpy()

    @reading
    def similar_items(self, item_ids: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` items most cosine-similar to each of ``item_ids`` (itself excluded)."""
        self._check_fitted()
        ids = check_ids(item_ids, self.n_items_, "item_ids")
        return most_similar(self._items()[0], ids, check_k(k, self.n_items_ - 1))

    # --------------------------------------------------------- persistence
    @reading
    def save(self, path: str | Path) -> Path:
        """Save to the folder ``path`` (new, empty or a previous model; never anything else).

        The path holds the old or the new model at every instant; see
        :mod:`~tensorrec_explore.persistence`. Returns the absolute path.
        """
        self._check_fitted()
        return persistence.save(self, Path(path))

    @classmethod
    def load(
        cls, path: str | Path, *, safe_mode: bool = True, allowed_modules: Sequence[str] = ()
    ) -> TensorRec:
        """Load a model saved by :meth:`save`, never running code named by the file.

        Classes resolve from the built-ins, the registries and ``allowed_modules`` only
        (``safe_mode=False`` trusts the file); see :mod:`~tensorrec_explore.safe_classes`.
        """
        return persistence.load(
            cls, Path(path), safe_mode=safe_mode, allowed_modules=tuple(allowed_modules)
        )
