"""One fused TensorFlow op per variable for a plain Keras Adam step inside compiled training.

Keras 3's ``apply_gradients`` builds ~20 graph ops per variable (and traces slowly); a compiled
epoch of sampled steps spent most of its first call tracing and optimising them (the gain is in
``benchmarks/README.md``, "Figures behind design choices").
``ResourceApplyAdam`` computes exactly Keras Adam's update (``m``, ``v``, bias-corrected rate)
on the optimizer's own slot variables, so the optimizer's state stays the one Keras would hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import tensorflow as tf


def can_fuse(optimizer: keras.optimizers.Optimizer) -> bool:
    """Return True when ``optimizer`` is a plain Adam (no AMSGrad, decay, clipping, EMA)."""
    return (
        type(optimizer) is keras.optimizers.Adam
        and not optimizer.amsgrad
        and not optimizer.weight_decay
        and optimizer.clipnorm is None
        and optimizer.global_clipnorm is None
        and optimizer.clipvalue is None
        and not optimizer.use_ema
        and optimizer.loss_scale_factor is None
        and optimizer.gradient_accumulation_steps is None
    )


#: Variables with more values than this take a row-wise ("lazy") Adam step when their gradient
#: holds only some rows (``tf.IndexedSlices``): Adam's update of a 250,000 x 64 table costs more
#: than a whole sampled step otherwise (and a 25,000 x 64 user table's, three quarters of a
#: sampled-softmax step of 256 likes).
LAZY_ADAM_VALUES = 1 << 20
#: Variables with more rows than this take the row-wise step too, whatever their width: the
#: biases of a 100,000-item catalogue (one value per row) took a tenth of a sampled-softmax
#: step of 256 likes through Adam's update of every row (``benchmarks/README.md``, "Figures
#: behind design choices (training defaults)"). ml-1m's 6,040 users stay below.
LAZY_ADAM_ROWS = 1 << 14


def updates_rows_only(table: tf.Variable | tf.Tensor) -> bool:
    """Return True when a row gradient (``tf.IndexedSlices``) of ``table`` takes a row-wise
    Adam step: more than :data:`LAZY_ADAM_VALUES` values or :data:`LAZY_ADAM_ROWS` rows (the
    shape's unknown dimensions count as 0)."""
    dims = [0 if d is None else int(d) for d in table.shape]
    return math.prod(dims) > LAZY_ADAM_VALUES or (bool(dims) and dims[0] > LAZY_ADAM_ROWS)


def apply_adam(
    optimizer: keras.optimizers.Adam, pairs: Sequence[tuple[tf.Tensor, tf.Variable]]
) -> None:
    """Apply one Adam step of ``(gradient, variable)`` pairs and count it in ``iterations``.

    The optimizer must be built on the variables and pass :func:`can_fuse`. A variable passing
    :func:`updates_rows_only` whose gradient is a ``tf.IndexedSlices`` is updated
    only in the rows the gradient holds (their moments and values exactly as Adam's; the other
    rows keep theirs instead of drifting on their momentum: "lazy" Adam, as for large
    embedding tables); every other variable takes Keras Adam's exact step.
    """
    step = tf.cast(optimizer.iterations + 1, tf.float32)
    beta_1 = tf.cast(optimizer.beta_1, tf.float32)
    beta_2 = tf.cast(optimizer.beta_2, tf.float32)
    rate = tf.cast(optimizer.learning_rate, tf.float32)
    updates = []
    for gradient, variable in pairs:
        index = optimizer._get_variable_index(variable)
        if isinstance(gradient, tf.IndexedSlices) and updates_rows_only(variable):
            moments = (optimizer._momentums[index], optimizer._velocities[index])
            rate_t = rate * tf.sqrt(1.0 - tf.pow(beta_2, step)) / (1.0 - tf.pow(beta_1, step))
            updates.append(
                _lazy_adam(gradient, variable, moments, rate_t, beta_1, beta_2, optimizer.epsilon)
            )
            continue
        updates.append(
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle,
                m=optimizer._momentums[index].handle,
                v=optimizer._velocities[index].handle,
                beta1_power=tf.pow(beta_1, step),
                beta2_power=tf.pow(beta_2, step),
                lr=rate,
                beta1=beta_1,
                beta2=beta_2,
                epsilon=tf.cast(optimizer.epsilon, tf.float32),
                grad=tf.convert_to_tensor(gradient),
            )
        )
    with tf.control_dependencies(updates):
        optimizer.iterations.assign_add(1)


def _lazy_adam(
    gradient: tf.IndexedSlices,
    variable: tf.Variable,
    moments: tuple[tf.Variable, tf.Variable],
    rate: tf.Tensor,
    beta_1: tf.Tensor,
    beta_2: tf.Tensor,
    epsilon: float,
) -> tf.Operation:
    """Adam's step on the rows of ``gradient`` only (repeated rows summed); return the op.

    Every size is the gradient's row count, known when compiling (XLA has no ``tf.unique``),
    and nothing is sorted: each occurrence of a row takes the first occurrence's position (a
    scatter-min into one integer per table row), the gradients are summed at those positions
    and gathered back, so every occurrence of a row computes the same new values and the
    scatters write equal values (their order does not matter).
    """
    indices = tf.cast(gradient.indices, tf.int32)
    n = tf.size(indices)
    first = tf.math.unsorted_segment_min(tf.range(n), indices, variable.shape[0])
    representative = tf.gather(first, indices)
    values = tf.gather(
        tf.math.unsorted_segment_sum(gradient.values, representative, n), representative
    )

    def read(target: tf.Variable) -> tf.Tensor:
        return tf.raw_ops.ResourceGather(resource=target.handle, indices=indices, dtype=tf.float32)

    m, v = (
        beta * read(slot_variable) + (1.0 - beta) * update
        for slot_variable, beta, update in zip(
            moments, (beta_1, beta_2), (values, tf.square(values)), strict=True
        )
    )
    new = read(variable) - rate * m / (tf.sqrt(v) + tf.cast(epsilon, tf.float32))
    return tf.group(
        *(
            tf.raw_ops.ResourceScatterUpdate(resource=target.handle, indices=indices, updates=x)
            for target, x in ((moments[0], m), (moments[1], v), (variable, new))
        )
    )
