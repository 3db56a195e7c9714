"""One fused TensorFlow op per variable for a plain Keras Adam step inside compiled training.

Keras 3's ``apply_gradients`` builds ~20 graph ops per variable (and traces slowly); a compiled
epoch of sampled steps spent most of its first call tracing and optimising them (the gain is in
``benchmarks/README.md``, "Figures behind design choices").
``ResourceApplyAdam`` computes exactly Keras Adam's update (``m``, ``v``, bias-corrected rate)
on the optimizer's own slot variables, so the optimizer's state stays the one Keras would hold.
"""

from __future__ import annotations

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


def apply_adam(
    optimizer: keras.optimizers.Adam, pairs: Sequence[tuple[tf.Tensor, tf.Variable]]
) -> None:
    """Apply one Adam step of ``(gradient, variable)`` pairs and count it in ``iterations``.

    The optimizer must be built on the variables and pass :func:`can_fuse`.
    """
    step = tf.cast(optimizer.iterations + 1, tf.float32)
    beta_1 = tf.cast(optimizer.beta_1, tf.float32)
    beta_2 = tf.cast(optimizer.beta_2, tf.float32)
    rate = tf.cast(optimizer.learning_rate, tf.float32)
    updates = []
    for gradient, variable in pairs:
        index = optimizer._get_variable_index(variable)
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
