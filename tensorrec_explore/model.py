"""The TensorRec estimator: its settings, training (fit / fit_partial / fit_stream), save / load.

Hyperparameters are stored as given in ``__init__``; ``fit`` starts over, ``fit_partial``
continues, both return ``self``; learned state ends in ``_``. Plug-ins take a registry name or
an object (see :mod:`tensorrec_explore.registry`). What a fitted model answers (predict,
recommend, fold_in...) is in :mod:`tensorrec_explore.queries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import distributed, fitting, persistence, settings
from .callbacks import Callback
from .fitted_state import FittedAttribute, FittedStateMixin, reading
from .queries import Queries


class TensorRec(Queries, FittedStateMixin):
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
        """Set constructor arguments, checked like the constructor's.

        Structural settings (:data:`~tensorrec_explore.settings.STRUCTURAL`) take effect at the
        next ``fit`` (``fit_partial`` refuses them); the others at the next training call.

        Parameters
        ----------
        **params
            Setting name -> value.

        Returns
        -------
        TensorRec
            self.

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
    n_components_ = FittedAttribute("n_components")
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
        """Train from scratch; the previous fitted state answers until this fit succeeds.

        Parameters
        ----------
        interactions : matrix
            ``n_users x n_items``: > 0 liked, < 0 disliked, 0 unobserved.
        user_features, item_features : matrix, optional
            One row per user / item; None = identity (as in LightFM).
        epochs : int, optional
            Epochs of this call (None = the ``epochs`` setting or the recipe's).
        callbacks : sequence of Callback, optional
            Told of every epoch (``model.stop_training = True`` stops).
        verbose : bool, default False
            A progress bar.
        validation : matrix or ValidationMetrics, optional
            Held-out positives: metrics every epoch.
        sample_weight : matrix, optional
            As in LightFM: a weight > 0 exactly where ``interactions`` has an entry (None =
            all 1; e.g. ``dataset.weights`` or ``split.train_weights``). It scales its pair's
            term in the dense, sampled and observed losses (the dislike penalty ignores it);
            losses that cannot weight pairs (``rmse_dense``, ``separation``,
            ``separation_dense``: ``uses_weights = False``) raise InputError.

        Returns
        -------
        TensorRec
            self, fitted (swapped in one step; a failed fit leaves the old state intact).

        Raises
        ------
        InputError
            Bad interactions, features, weights or settings.
        TrainingError
            Training diverged or cannot learn from these interactions.
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
        """Continue training (or start, if unfitted) for ``epochs`` more epochs.

        Parameters
        ----------
        interactions, user_features, item_features, sample_weight
            As in :meth:`fit` (the shape and features of the fit being continued).
        epochs, callbacks, verbose, validation
            As in :meth:`fit`.

        Returns
        -------
        TensorRec
            self; a failed call puts the weights, Adam's state and the epoch counter back.

        Raises
        ------
        InputError
            As in :meth:`fit`, or after ``set_params`` of a structural setting (call ``fit``).
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
        """Train from a ``tf.data.Dataset`` of records, for interactions larger than memory.

        Each epoch is one pass over ``dataset`` (or ``steps_per_epoch`` batches of
        ``batch_size`` records), with sampled or observed losses only. Records carry no weight.
        Like ``fit``, starting over trains aside.

        Parameters
        ----------
        dataset : tf.data.Dataset
            ``(user, item[, value])`` records (scalars), e.g. from
            :func:`~tensorrec_explore.streaming.interaction_files_dataset`, or blocks of
            records (three 1-D tensors of one length each), e.g. from
            ``interaction_files_dataset(folder, blocks=True)``: read several times faster.
        n_users, n_items : int
            The ids' ranges.
        user_features, item_features, epochs, callbacks, verbose
            As in :meth:`fit`.
        validation : matrix or ValidationMetrics, optional
            As in :meth:`fit` (the streamed training pairs are not excluded: not kept).
        steps_per_epoch : int, optional
            Batches per epoch (None = one pass).
        partial : bool, default False
            Continue the fitted state instead of starting over.

        Returns
        -------
        TensorRec
            self, fitted.

        Raises
        ------
        InputError
            A dense loss (``softmax`` needs ``n_sampled_items``), ids out of range, bad sizes.
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

    # --------------------------------------------------------- persistence
    @reading
    def save(self, path: str | Path) -> Path:
        """Save to a folder: the path holds the old or the new model at every instant.

        Parameters
        ----------
        path : str or Path
            A new or empty folder, or a previous model (never anything else).

        Returns
        -------
        Path
            The absolute path.

        Raises
        ------
        ModelFileError
            ``path`` holds something else, or the write failed (the old model stays).
        """
        fitting.fitted(self)
        return persistence.save(self, Path(path))

    @classmethod
    def load(
        cls, path: str | Path, *, safe_mode: bool = True, allowed_modules: Sequence[str] = ()
    ) -> TensorRec:
        """Load a model saved by :meth:`save`, never running code named by the file.

        Parameters
        ----------
        path : str or Path
            The model's folder.
        safe_mode : bool, default True
            False trusts the file completely (Keras lambdas included).
        allowed_modules : sequence of str, default ()
            Modules whose classes the file may name, besides the built-ins and the registries
            (see :mod:`~tensorrec_explore.safe_classes`).

        Returns
        -------
        TensorRec
            The model, ready to answer and to continue with ``fit_partial``.

        Raises
        ------
        ModelFileError
            A missing, corrupt, foreign or newer-format folder, or a class not allowed.
        """
        return persistence.load(
            cls, Path(path), safe_mode=safe_mode, allowed_modules=tuple(allowed_modules)
        )
