"""Training under a ``tf.distribute`` strategy: one global batch, one shard per replica.

TensorFlow's own distributed runtime does the work; this module only decides what each replica
sees. The model creates its variables and its Keras optimizer under ``strategy.scope()``; each
compiled step receives the *global* batch (the same on every worker, since every worker draws it
from the same seeded generator) and hands each replica its contiguous shard through
``strategy.experimental_distribute_values_from_function``. Keras 3 optimizers *sum* the
replicas' gradients inside ``strategy.run``, so each replica's loss (a mean over its shard, plus
the regularisation that every replica adds) counts ``1 / num_replicas_in_sync``
(:attr:`Trainer.replica_scale <tensorrec_explore.training.Trainer>`); the reported loss is the
mean of the replicas' losses, so it means what it means on one device.

Works with ``MirroredStrategy`` (several GPUs or logical CPUs of one machine) and
``MultiWorkerMirroredStrategy`` (several processes or machines described by ``TF_CONFIG``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from .errors import InputError


def check_strategy(distribute: Any) -> tf.distribute.Strategy | None:
    """Return ``distribute`` if it is None or a ``tf.distribute.Strategy``; raise otherwise."""
    if distribute is None or isinstance(distribute, tf.distribute.Strategy):
        return distribute
    raise InputError(
        f"distribute must be None or a tf.distribute.Strategy (e.g. "
        f"tf.distribute.MirroredStrategy()), got {distribute!r}."
    )


def n_workers(strategy: tf.distribute.Strategy | None) -> int:
    """Return the number of worker processes of ``strategy`` (1 for local strategies)."""
    if strategy is None:
        return 1
    return int(getattr(strategy.extended, "_num_workers", 1) or 1)


def scope(strategy: tf.distribute.Strategy | None) -> contextlib.AbstractContextManager:
    """Return ``strategy.scope()``, or a no-op context without a strategy."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


def shard(values: tf.Tensor, replica: int, n_replicas: int) -> tf.Tensor:
    """Return replica ``replica``'s contiguous share of ``values`` (sizes differ by at most 1)."""
    size = tf.shape(values, out_type=tf.int64)[0]
    return values[size * replica // n_replicas : size * (replica + 1) // n_replicas]


def replicated(
    step: Callable[..., tuple[tf.Tensor, tf.Tensor]],
    strategy: tf.distribute.Strategy,
    sharded: tuple[bool, ...],
) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
    """Wrap a one-device ``step(*batch) -> (data, reg)`` to run on every replica of ``strategy``.

    ``sharded[i]`` says whether argument ``i`` is split across replicas (the batch's rows) or
    given whole to each (e.g. the sampled items shared by the batch). Returns the replicas' mean
    data and regularisation losses. Trace the result inside ``tf.function``.
    """

    def distributed_step(*batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        def local(context: tf.distribute.experimental.ValueContext) -> tuple[tf.Tensor, ...]:
            replica, n_replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
            return tuple(
                shard(value, replica, n_replicas) if split else tf.identity(value)
                for value, split in zip(batch, sharded, strict=False)
            )

        per_replica = strategy.experimental_distribute_values_from_function(local)
        data, reg = strategy.run(step, args=tuple(per_replica))
        mean = tf.distribute.ReduceOp.MEAN
        return strategy.reduce(mean, data, axis=None), strategy.reduce(mean, reg, axis=None)

    return distributed_step


def require_seed(strategy: tf.distribute.Strategy | None, random_state: Any) -> None:
    """Several workers must draw the same batches: they need the same ``random_state``."""
    if n_workers(strategy) > 1 and random_state is None:
        raise InputError(
            f"distribute={type(strategy).__name__} runs {n_workers(strategy)} workers, which must "
            "draw the same global batches; random_state is None. Pass the same integer "
            "random_state to TensorRec on every worker (e.g. random_state=0)."
        )
