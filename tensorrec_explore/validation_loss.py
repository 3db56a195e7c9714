"""The validation loss: a fitted model's data loss on held-out interactions.

What it is, exactly:

* **The same loss** the model's last training call minimised (a dense loss trained in its
  sampled form gives the sampled form's value), without the regularisation term, evaluated with
  the towers in inference mode (no dropout, no batch-statistics update) and no gradient step.
* **Users:** those with held-out interactions; **targets:** the held-out interactions, liked
  (> 0) and disliked (< 0), each of weight 1.
* **The training interactions are not masked out.** During training the held-out items are
  unobserved items of their users (a dense loss's zeros, a sampled loss's possible negatives);
  here the training items play that part for the held-out ones. The loss is then the same
  function on both sides, so a model that generalises (held-out items scored like training
  ones) has a validation loss close to its training loss, and one that memorises has a higher
  one. Masking the training items would remove the strongest competitors from the validation
  side only: e.g. for the softmax, ``log(held-out likes)`` instead of ``log(all likes)`` per
  user, below the training loss even for a model that generalises perfectly.
* **Layout:** the batches training uses (the trainer's ``batch_size``: users for dense losses,
  liked pairs for sampled losses with in-batch negatives, whose value depends on the batch,
  observed pairs for observed ones), so memory is bounded as in training (never ``users x
  items`` at once). Other sampled losses average over their positives, so their batches are
  larger (up to :data:`~tensorrec_explore.training.DENSE_BLOCK` sampled scores, never fewer
  pairs than training's batch): far fewer eager steps for the same estimate. The value is the
  mean of the batches' losses weighted by their held-out interactions: for losses that average
  over interactions (softmax, the sampled losses) it is the mean over all held-out
  interactions.
* **Sampled items** (sampled losses' negatives, the items dislikes are compared with) are drawn
  from a fixed seed: the same draws at every call, so values of successive epochs are
  comparable. For sampled losses a sampled item is invalid when it is one of the user's
  held-out likes (as training invalidates the user's training likes); ``in_batch_negatives``
  losses get the batch's held-out likes as candidates, their ``log_q`` from the held-out counts.

:func:`unavailable_reason` says when a loss cannot give it (no held-out interaction of the kind
its ``call`` reads); :class:`~tensorrec_explore.callbacks.ValidationMetrics` logs the value as
``"val_loss"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .errors import InputError, ValidationLossUnavailable
from .fitting import fitted, plugin_name
from .liked_pairs import LikedPairs
from .losses import LossInputs, disliked_sampled
from .objectives import Objective, candidates_valid
from .scoring import block_scores
from .training import DENSE_BLOCK, DISLIKE_SAMPLES, dense_dislike_inputs

#: The default seed of the validation loss's sampled items.
SEED = 0


def unavailable_reason(loss: Any, held_out: sp.csr_matrix) -> str | None:
    """Return why ``loss`` cannot be evaluated on ``held_out``, or None when it can.

    Parameters
    ----------
    loss : Loss or duck-typed loss
        Its declared ``inputs`` and ``needs_negatives`` are read.
    held_out : scipy.sparse.csr_matrix
        The held-out interactions.

    Returns
    -------
    str or None
        A sentence (no leading capital, no final stop) saying what is missing, or None.
    """
    likes, dislikes = int((held_out.data > 0).sum()), int((held_out.data < 0).sum())
    if getattr(loss, "needs_negatives", False) and not dislikes:
        return "it compares liked with disliked interactions and the held-out ones hold no dislike"
    if loss.inputs != "observed" and not likes:
        return "the held-out interactions hold no liked (positive) value"
    if not likes + dislikes:
        return "there are no held-out interactions"
    return None


def validation_loss(model: Any, held_out: Any, seed: int = SEED) -> float:
    """Return ``model``'s data loss on the held-out interactions (see the module's docstring).

    Parameters
    ----------
    model : TensorRec
        A fitted model; the loss, ``batch_size`` and ``n_sampled_items`` of its last training
        call are used (a model loaded from disk: those of training on its kept interactions).
    held_out : scipy.sparse matrix or numpy.ndarray
        ``(n_users, n_items)`` held-out interactions (> 0 liked, < 0 disliked).
    seed : int, default SEED
        Seed of the sampled items: equal seeds give equal values for equal weights.

    Returns
    -------
    float
        The loss, finite.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    InputError
        If ``held_out`` is not a matrix of the model's shape, or holds NaN.
    ValidationLossUnavailable
        If the loss cannot be evaluated on ``held_out`` (:func:`unavailable_reason`), its
        ``call`` fails on the held-out batches, or gives a non-finite value.
    """
    state = fitted(model)
    held_out = _checked(held_out, (state.n_users, state.n_items))
    trainer = state.trained_by or state.trainer_for(model, state.train_interactions)
    loss = trainer.loss
    name = plugin_name(model.loss)
    reason = unavailable_reason(loss, held_out)
    if reason is None:
        evaluate = {"dense": _dense, "sampled": _sampled, "observed": _observed}[loss.inputs]
        try:
            value = _weighted_mean(evaluate(state, trainer, held_out, int(seed)))
        except (tf.errors.OpError, ValueError, TypeError, AttributeError) as error:
            reason = f"its call failed on the held-out batches ({type(error).__name__}: {error})"
        else:
            if np.isfinite(value):
                return value
            reason = f"it is {value} on the held-out interactions"
    raise ValidationLossUnavailable(f"validation loss not available for {name}: {reason}")


def _checked(held_out: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    if not sp.issparse(held_out) and not isinstance(held_out, np.ndarray):
        raise InputError(
            f"held-out interactions must be a sparse or dense {shape} matrix, "
            f"got {type(held_out).__name__}."
        )
    csr = sp.csr_matrix(held_out, dtype=np.float32)
    if csr.shape != shape:
        raise InputError(f"held-out interactions have shape {csr.shape}, the model {shape}.")
    if not np.isfinite(csr.data).all():
        raise InputError("held-out interactions hold NaN or infinite values; drop them.")
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


def _weighted_mean(parts: Iterator[tuple[tf.Tensor, int]]) -> float:
    total = weight = 0.0
    for value, count in parts:
        total += float(value) * count
        weight += count
    return total / weight


def _draw(seed: int, index: int, size: int, n_items: int) -> tf.Tensor:
    """``size`` uniform item ids, the same for the same ``(seed, index)``."""
    return tf.random.stateless_uniform(
        [size], seed=tf.constant([seed, index], tf.int64), maxval=n_items, dtype=tf.int64
    )


def _dense(
    state: Any, trainer: Any, held_out: sp.csr_matrix, seed: int
) -> Iterator[tuple[tf.Tensor, int]]:
    """Each user block's loss over the whole catalogue, and its held-out count."""
    users = np.flatnonzero(np.diff(held_out.indptr))
    items, item_biases = state.items()
    size = int(trainer.batch_size)
    for index, start in enumerate(range(0, users.size, size)):
        ids = users[start : start + size]
        rows = held_out[ids]
        scores = block_scores(state.network, *_user_tensors(state, ids), items, item_biases)
        targets = tf.constant(rows.toarray())
        dislikes = {}
        if (rows.data < 0).any():
            sampled = _draw(seed, index, DISLIKE_SAMPLES, state.n_items)
            dislikes = dense_dislike_inputs(scores, targets, sampled)
        inputs = LossInputs(
            scores=scores, targets=targets, weights=tf.ones_like(targets), **dislikes
        )
        yield trainer.loss(inputs), rows.nnz


def _observed(
    state: Any, trainer: Any, held_out: sp.csr_matrix, seed: int
) -> Iterator[tuple[tf.Tensor, int]]:
    """Each batch of held-out pairs' loss on their predictions, and its size.

    The predictions are computed for many batches at once (up to ``DENSE_BLOCK`` floats of user
    vectors), the loss per training batch.
    """
    coo = held_out.tocoo()
    items, item_biases = state.items()
    size = int(trainer.batch_size)
    chunk = max(size, DENSE_BLOCK // max(int(items.shape[1]), 1) // size * size)
    for start in range(0, coo.nnz, chunk):
        users, cols = coo.row[start : start + chunk], coo.col[start : start + chunk]
        vectors, biases = _user_tensors(state, users)
        predictions = _pair_scores(state.network, vectors, biases, items, item_biases, cols)
        values = tf.constant(coo.data[start : start + chunk])
        for offset in range(0, users.size, size):
            batch = slice(offset, offset + size)
            inputs = LossInputs(
                predictions=predictions[batch],
                values=values[batch],
                weights=tf.ones_like(values[batch]),
            )
            yield trainer.loss(inputs), int(values[batch].shape[0])


def _sampled(
    state: Any, trainer: Any, held_out: sp.csr_matrix, seed: int
) -> Iterator[tuple[tf.Tensor, int]]:
    """Each batch of held-out likes' loss against fixed sampled items, and its size."""
    loss, network = trainer.loss, state.network
    coo = held_out.tocoo()
    liked = coo.data > 0
    users, cols = coo.row[liked], coo.col[liked]
    disliked_users, disliked_cols = coo.row[~liked], coo.col[~liked]
    pairs = LikedPairs(users, cols, state.n_users, state.n_items)
    counts = np.bincount(cols, minlength=state.n_items).astype(np.float32)
    items, item_biases = state.items()
    size, n_sampled = int(trainer.batch_size), int(trainer.n_sampled)
    in_batch = None
    if getattr(loss, "in_batch_negatives", False):
        in_batch = Objective(state, loss, 0.0, n_sampled, size, tf.constant(counts), pairs)
    else:
        size = max(size, DENSE_BLOCK // max(n_sampled, 1))
    n_batches = -(-users.size // size)
    for index in range(n_batches):
        batch = slice(index * size, (index + 1) * size)
        sampled = _draw(seed, index, n_sampled, state.n_items)
        sampled_vectors, sampled_biases = tf.gather(items, sampled), tf.gather(item_biases, sampled)
        user_ids = tf.constant(users[batch].astype(np.int64))
        vectors, biases = _user_tensors(state, users[batch])
        fields = {
            "positive_scores": _pair_scores(
                network, vectors, biases, items, item_biases, cols[batch]
            ),
            "positive_weights": tf.ones([users[batch].size]),
            "sampled_scores": block_scores(
                network, vectors, biases, sampled_vectors, sampled_biases
            ),
            "sampled_valid": candidates_valid(
                loss,
                tf.constant(cols[batch].astype(np.int64)),
                sampled,
                partial(pairs.unliked, user_ids, sampled),
            ),
            "n_items": tf.constant(state.n_items, tf.float32),
            "item_counts": tf.constant(counts[cols[batch]]),
        }
        q = slice(
            index * disliked_users.size // n_batches, (index + 1) * disliked_users.size // n_batches
        )
        if disliked_users[q].size:
            d_vectors, d_biases = _user_tensors(state, disliked_users[q])
            valid = pairs.unliked(tf.constant(disliked_users[q].astype(np.int64)), sampled)
            fields["disliked_scores"] = _pair_scores(
                network, d_vectors, d_biases, items, item_biases, disliked_cols[q]
            )
            fields["disliked_sampled_scores"] = disliked_sampled(
                block_scores(network, d_vectors, d_biases, sampled_vectors, sampled_biases), valid
            )
        if in_batch is not None:
            fields |= in_batch.in_batch_negatives(
                user_ids,
                tf.constant(cols[batch].astype(np.int64)),
                sampled,
                vectors,
                biases,
                tf.gather(items, cols[batch]),
                tf.gather(item_biases, cols[batch]),
                None,
            )
        yield loss(LossInputs(**fields)), users[batch].size


def _user_tensors(state: Any, users: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
    vectors, biases = state.user_rows(users)
    return tf.convert_to_tensor(vectors), tf.convert_to_tensor(biases)


def _pair_scores(
    network: Any,
    vectors: tf.Tensor,
    biases: tf.Tensor,
    items: tf.Tensor,
    item_biases: tf.Tensor,
    cols: np.ndarray,
) -> tf.Tensor:
    """``[p]`` scores of user rows ``vectors [p, T, d]`` on their items ``cols [p]``."""
    return (
        network.elementwise(vectors, tf.gather(items, cols)) + biases + tf.gather(item_biases, cols)
    )
