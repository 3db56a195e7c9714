"""The TensorRec estimator: fit / fit_partial / predict / predict_rank / recommend and friends.

Hyperparameters are stored as given in ``__init__``; ``fit`` starts over, ``fit_partial``
continues, both return ``self``; learned state ends in ``_``. Plug-ins take a registry name or
an object (see :mod:`tensorrec_explore.registry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import distributed, fitting, persistence, settings
from .callbacks import Callback
from .fitted_state import FittedAttribute, FittedStateMixin, reading
from .fold_in import NewUsers, fold_in_new_users
from .inputs import check_ids, check_interactions_shape, check_k
from .scoring import most_similar, rank_rows, top_k_blocks


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

    # ------------------------------------------------------------ fitted state
    n_users_ = FittedAttribute("n_users")
    n_items_ = FittedAttribute("n_items")
    loss_ = FittedAttribute("loss")
    prediction_ = FittedAttribute("prediction")
    network_ = FittedAttribute("network")
    optimizer_ = FittedAttribute("optimizer")
    history_ = FittedAttribute("history")
    epochs_done_ = FittedAttribute("epochs_done")
    learning_rate_ = FittedAttribute("learning_rate")
    learning_rate_schedule_ = FittedAttribute("learning_rate_schedule")
    epochs_ = FittedAttribute("epochs")
    l2_ = FittedAttribute("l2")
    user_table_ = FittedAttribute("user_table")
    item_table_ = FittedAttribute("item_table")
    train_interactions_ = FittedAttribute("train_interactions")
    built_settings_ = FittedAttribute("built_settings")

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
        given = (interactions, user_features, item_features, sample_weight)
        return self._train(fitting.train, False, *given, epochs, callbacks, verbose, validation)

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
        given = (interactions, user_features, item_features, sample_weight)
        return self._train(fitting.train, True, *given, epochs, callbacks, verbose, validation)

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

        return self._train(
            fit_stream,
            partial,
            dataset,
            n_users,
            n_items,
            user_features,
            item_features,
            epochs,
            callbacks,
            verbose,
            validation,
            steps_per_epoch,
        )

    # --------------------------------------------------------------- scoring
    @reading
    def predict(self, user_features: Any = None, item_features: Any = None) -> np.ndarray:
        """Return dense ``[n_users, n_items]`` float32 scores (for small problems).

        None = the features used in ``fit`` (an explicit identity matrix means the same).
        """
        state = fitting.fitted(self)
        return state.scores(state.table(user_features, "user"), state.table(item_features, "item"))

    @reading
    def score_users(self, users: Any) -> np.ndarray:
        """Return ``[len(users), n_items]`` float32 scores of fitted users (metrics' scorer)."""
        state = fitting.fitted(self)
        rows = state.user_rows(check_ids(users, state.n_users, "users"))
        return state.score_tensor(*rows).numpy()

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
        state = fitting.fitted(self)
        k = check_k(k, state.n_items)
        if isinstance(users, NewUsers):
            new = users
            rows, n_rows = np.arange(new.n_users), new.n_users

            def scores_of(block):
                return state.score_tensor(new.representations[block], new.biases[block])
        else:
            rows, n_rows = check_ids(users, state.n_users, "users"), state.n_users

            def scores_of(block):
                return state.score_tensor(*state.user_rows(block))

        if exclude is not None:
            exclude = check_interactions_shape(exclude, (n_rows, state.n_items))
        return top_k_blocks(scores_of, rows, state.n_items, k, exclude)

    @reading
    def fold_in(
        self, interactions: Any, user_features: Any = None, *, epochs: int = 100
    ) -> NewUsers:
        """Return representations for users not seen in training, without retraining.

        With identity user features, each new user's vector is fitted to their interactions
        (one row each, ``n_items`` columns) with item representations held fixed; with user
        features, pass ``user_features`` for the new users (they are simply new feature rows).
        """
        state = fitting.fitted(self)
        return fold_in_new_users(state, interactions, user_features, epochs, self.random_state)

    # --------------------------------------------------------- inspection
    @reading
    def user_representations(self, user_features: Any = None) -> np.ndarray:
        """Return ``[n_users, n_components]`` user representations
        (``[n_users, n_tastes, n_components]`` when ``n_tastes > 1``)."""
        state = fitting.fitted(self)
        vectors, _ = state.users(state.table(user_features, "user"))
        return vectors[:, 0, :] if vectors.shape[1] == 1 else vectors

    @reading
    def item_representations(self, item_features: Any = None) -> np.ndarray:
        """Return ``[n_items, n_components]`` item representations."""
        state = fitting.fitted(self)
        return state.items(state.table(item_features, "item"))[0].numpy()

    @reading
    def user_biases(self, user_features: Any = None) -> np.ndarray:
        """Return ``[n_users]`` user biases (zeros when ``biased=False``)."""
        state = fitting.fitted(self)
        return state.users(state.table(user_features, "user"))[1]

    @reading
    def item_biases(self, item_features: Any = None) -> np.ndarray:
        """Return ``[n_items]`` item biases (zeros when ``biased=False``)."""
        state = fitting.fitted(self)
        return state.items(state.table(item_features, "item"))[1].numpy()

    @reading
    def similar_items(self, item_ids: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` items most cosine-similar to each of ``item_ids`` (itself excluded)."""
        state = fitting.fitted(self)
        ids = check_ids(item_ids, state.n_items, "item_ids")
        return most_similar(state.items()[0], ids, check_k(k, state.n_items - 1))

    # --------------------------------------------------------- persistence
    @reading
    def save(self, path: str | Path) -> Path:
        """Save to the folder ``path`` (new, empty or a previous model; never anything else).

        The path holds the old or the new model at every instant; see
        :mod:`~tensorrec_explore.persistence`. Returns the absolute path.
        """
        fitting.fitted(self)
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
