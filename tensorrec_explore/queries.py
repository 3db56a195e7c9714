"""What a fitted TensorRec answers: scores, ranks, recommendations, new users, representations.

:class:`Queries` is the reading half of :class:`~tensorrec_explore.model.TensorRec` (the model
inherits it; ``model.py`` holds the settings and training). Every method reads the fitted state
under the state lock (see :mod:`.fitted_state`), so it sees the state before or after a
concurrent ``fit``, never a mix, and raises
:class:`~tensorrec_explore.errors.NotFittedError` on an unfitted model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import fitting
from .fitted_state import reading
from .fold_in import NewUsers, fold_in_new_users
from .inputs import check_ids, check_interactions_shape, check_k
from .scoring import most_similar, rank_rows, top_k_blocks


class Queries:
    """The methods of a fitted model that read it (mixed into ``TensorRec``)."""

    @reading
    def predict(self, user_features: Any = None, item_features: Any = None) -> np.ndarray:
        """Return every user's score for every item (for small problems).

        Parameters
        ----------
        user_features, item_features : matrix, optional
            One row per user / item, encoded like the features of ``fit``; None = those of
            ``fit`` (an explicit identity matrix means the same).

        Returns
        -------
        numpy.ndarray
            ``[n_users, n_items]`` float32 scores.
        """
        state = fitting.fitted(self)
        return state.scores(state.table(user_features, "user"), state.table(item_features, "item"))

    @reading
    def score_users(self, users: Any) -> np.ndarray:
        """Return the scores of some fitted users for every item (the metrics' scorer).

        Parameters
        ----------
        users : array of int
            Fitted user indices.

        Returns
        -------
        numpy.ndarray
            ``[len(users), n_items]`` float32 scores.
        """
        state = fitting.fitted(self)
        rows = state.user_rows(check_ids(users, state.n_users, "users"))
        return state.score_tensor(*rows).numpy()

    @reading
    def predict_rank(
        self, user_features: Any = None, item_features: Any = None, exclude: Any = None
    ) -> np.ndarray:
        """Return every item's rank for every user (1 = best).

        Parameters
        ----------
        user_features, item_features : matrix, optional
            As in :meth:`predict`.
        exclude : matrix, optional
            Non-zeros rank last; must have the shape of the scores.

        Returns
        -------
        numpy.ndarray
            ``[n_users, n_items]`` int32 ranks.

        Raises
        ------
        InputError
            ``exclude`` of another shape.
        """
        scores = self.predict(user_features, item_features)
        return rank_rows(
            scores, None if exclude is None else check_interactions_shape(exclude, scores.shape)
        )

    @reading
    def recommend(
        self, users: Any, k: int = 10, exclude: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the top-``k`` items of ``users``, scored in bounded-memory blocks.

        Parameters
        ----------
        users : array of int or NewUsers
            Fitted user indices, or the :class:`~tensorrec_explore.fold_in.NewUsers` of
            :meth:`fold_in`.
        k : int, default 10
            Items per user, at most the catalogue's size.
        exclude : matrix, optional
            Never recommend its non-zeros (e.g. the training interactions); one row per fitted
            user (or per new user).

        Returns
        -------
        ids : numpy.ndarray
            ``[len(users), k]`` item indices, best first; a user with fewer than ``k``
            eligible items gets them all, then ``-1``.
        scores : numpy.ndarray
            Their float32 scores (NaN after the eligible items).

        Raises
        ------
        InputError
            Ids out of range, a bad ``k``, ``exclude`` of the wrong shape.
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

        Parameters
        ----------
        interactions : matrix
            One row per new user, ``n_items`` columns.
        user_features : matrix, optional
            The new users' feature rows (then they are simply scored); None = identity
            features, where each new user's vector is fitted to their interactions with the
            item representations held fixed.
        epochs : int, default 100
            Steps of that fit.

        Returns
        -------
        NewUsers
            Representations and biases that :meth:`recommend` accepts.
        """
        state = fitting.fitted(self)
        return fold_in_new_users(state, interactions, user_features, epochs, self.random_state)

    @reading
    def user_representations(self, user_features: Any = None) -> np.ndarray:
        """Return the users' representations.

        Parameters
        ----------
        user_features : matrix, optional
            As in :meth:`predict`.

        Returns
        -------
        numpy.ndarray
            ``[n_users, n_components]``, or ``[n_users, n_tastes, n_components]`` when
            ``n_tastes > 1``.
        """
        state = fitting.fitted(self)
        vectors, _ = state.users(state.table(user_features, "user"))
        return vectors[:, 0, :] if vectors.shape[1] == 1 else vectors

    @reading
    def item_representations(self, item_features: Any = None) -> np.ndarray:
        """Return the items' representations.

        Parameters
        ----------
        item_features : matrix, optional
            As in :meth:`predict`.

        Returns
        -------
        numpy.ndarray
            ``[n_items, n_components]``.
        """
        state = fitting.fitted(self)
        return state.items(state.table(item_features, "item"))[0].numpy()

    @reading
    def user_biases(self, user_features: Any = None) -> np.ndarray:
        """Return the users' biases.

        Parameters
        ----------
        user_features : matrix, optional
            As in :meth:`predict`.

        Returns
        -------
        numpy.ndarray
            ``[n_users]`` (zeros when ``biased=False``).
        """
        state = fitting.fitted(self)
        return state.users(state.table(user_features, "user"))[1]

    @reading
    def item_biases(self, item_features: Any = None) -> np.ndarray:
        """Return the items' biases.

        Parameters
        ----------
        item_features : matrix, optional
            As in :meth:`predict`.

        Returns
        -------
        numpy.ndarray
            ``[n_items]`` (zeros when ``biased=False``).
        """
        state = fitting.fitted(self)
        return state.items(state.table(item_features, "item"))[1].numpy()

    @reading
    def similar_items(self, item_ids: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Return the items most cosine-similar to each of ``item_ids``.

        Parameters
        ----------
        item_ids : array of int
            Fitted item indices.
        k : int, default 10
            Neighbours per item (the item itself excluded).

        Returns
        -------
        ids : numpy.ndarray
            ``[len(item_ids), k]`` item indices, most similar first.
        similarities : numpy.ndarray
            Their cosine similarities.
        """
        state = fitting.fitted(self)
        ids = check_ids(item_ids, state.n_items, "item_ids")
        return most_similar(state.items()[0], ids, check_k(k, state.n_items - 1))
