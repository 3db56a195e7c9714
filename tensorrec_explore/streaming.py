"""Streamed training: interactions from a ``tf.data.Dataset`` or from files too large for memory.

A stream holds ``(user, item, value)`` records (value > 0 liked, < 0 disliked), one per
element or in blocks (1-D tensors), cut into ``batch_size`` records per step. No step needs the
whole catalogue or the whole interaction matrix: sampled losses (``wmrb``, ``bpr``, ``warp``,
``logistic``, ``balanced_wmrb``, and ``softmax`` with ``n_sampled_items``, i.e. the sampled
softmax) compare each liked record with ``n_sampled_items`` uniformly sampled items shared by
the batch; observed losses (``rmse``, ``separation``) see the batch's records. Dense losses need
each user's complete row and refuse.

Difference from in-memory training: a sampled item counts as "not liked" unless the (global)
batch itself holds that (user, item) like; the in-memory path checks every like. With catalogues
where a user likes a small share of the items, this changes almost nothing.

Files: :func:`write_interaction_shards` writes a matrix (or chunks of records) as ``n_shards``
TFRecord or CSV files plus ``interactions.json`` (sizes); :func:`interaction_files_dataset`
reads them back as a shuffled stream, in blocks of records (one ``parse_example`` per 16
Examples, one permutation per window of ``shuffle_buffer`` records: ``tf.data`` pays per
element: ~10 us per record read one by one), never holding more than a few windows.

Settings left as None resolve as in memory from a first pass that counts the likes (when the
loss reads item counts, or its default L2 the likes per user): the batch size, the L2 and, from
:data:`~tensorrec_explore.defaults.XLA_MIN_LIKES` likes on one device, XLA. A batch of likes
only (an implicit stream's usual batch) then takes a step compiled by XLA, compiled once per
batch length, in which the "liked in this batch" test is a scatter of the batch's likes
(:func:`_liked_by_rows`) instead of a search; a batch holding dislikes takes the general step.

Under a ``tf.distribute`` strategy every worker reads the same stream in the same seeded order
and each replica takes its shard of each global batch (see :mod:`.distributed`): compute is
split, reading is not.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .defaults import XLA_MIN_LIKES, l2_reads_density, sampled_batch
from .errors import InputError
from .losses import Loss, in_sampled_form, needs_item_counts, uses_autograph
from .objectives import Objective, candidates_valid, in_batch_candidates
from .training import failures_reported, xla_compiles_towers

#: Records per ``tf.train.Example`` in TFRecord shards (one Example per record reads far slower).
RECORDS_PER_EXAMPLE = 4096
INFO_FILE = "interactions.json"
#: Records per batch of the first pass that counts a stream's likes: its cost is per batch
#: (a count array per item and user): at 10^7 records in batches of 256 it took ~17 s, now <2 s.
COUNTING_BATCH = 1 << 16
_DENSE_HELP = (
    "Use loss='softmax' with n_sampled_items (e.g. 2048: the sampled softmax) or a sampled loss "
    "such as loss='wmrb' ('bpr', 'warp', 'logistic'); or fit() an in-memory matrix."
)


# ----------------------------------------------------------------------------- files
def _chunks(interactions: Any, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if sp.issparse(interactions):
        coo = sp.coo_matrix(interactions)
        for start in range(0, coo.nnz, chunk):
            yield (
                coo.row[start : start + chunk],
                coo.col[start : start + chunk],
                coo.data[start : start + chunk],
            )
        return
    for piece in interactions:
        users, items, values = (np.asarray(part) for part in piece)
        yield users, items, values


def write_interaction_shards(
    interactions: Any,
    folder: str | Path,
    n_shards: int,
    format: str = "tfrecord",
    *,
    n_users: int | None = None,
    n_items: int | None = None,
    seed: int | None = 0,
) -> list[Path]:
    """Write interactions as ``n_shards`` files in ``folder``; return their paths.

    ``interactions``: a scipy sparse ``(n_users, n_items)`` matrix, or an iterable of
    ``(users, items, values)`` array chunks (for data that never fits in memory; then pass
    ``n_users`` / ``n_items``). Records go to shards at random (``seed``), so each shard is a
    sample of the whole. ``format``: ``"tfrecord"`` (Examples holding ``user``/``item`` int64 and
    ``value`` float lists, :data:`RECORDS_PER_EXAMPLE` records each) or ``"csv"`` (header
    ``user,item,value``). ``interactions.json`` records the sizes.
    """
    if format not in ("tfrecord", "csv"):
        raise InputError(f"format must be 'tfrecord' or 'csv', got {format!r}.")
    if isinstance(n_shards, bool) or not isinstance(n_shards, (int, np.integer)) or n_shards < 1:
        raise InputError(f"n_shards must be a positive integer, got {n_shards!r}.")
    if sp.issparse(interactions):
        n_users, n_items = interactions.shape
    elif n_users is None or n_items is None:
        raise InputError("Pass n_users and n_items when interactions is an iterable of chunks.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"part-{i:05d}-of-{n_shards:05d}.{format}" for i in range(n_shards)]
    rng = np.random.default_rng(seed)
    count = 0
    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(
                tf.io.TFRecordWriter(str(p)) if format == "tfrecord" else open(p, "w")  # noqa: SIM115 (closed by the ExitStack)
            )
            for p in paths
        ]
        if format == "csv":
            for writer in writers:
                writer.write("user,item,value\n")
        for users, items, values in _chunks(interactions, 1 << 20):
            _check_chunk(users, items, values, n_users, n_items)
            shard_of = rng.integers(0, n_shards, users.size)
            for shard, writer in enumerate(writers):
                mask = shard_of == shard
                _write(writer, format, users[mask], items[mask], values[mask])
            count += int(users.size)
    info = {
        "n_users": int(n_users),
        "n_items": int(n_items),
        "n_interactions": count,
        "format": format,
        "n_shards": int(n_shards),
    }
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2))
    return paths


def _check_chunk(
    users: np.ndarray, items: np.ndarray, values: np.ndarray, n_users: int, n_items: int
) -> None:
    if not users.shape == items.shape == values.shape or users.ndim != 1:
        raise InputError(
            f"Each chunk must be three 1-D arrays of one length (users, items, values); got "
            f"shapes {users.shape}, {items.shape}, {values.shape}."
        )
    if users.size and (
        users.min() < 0 or users.max() >= n_users or items.min() < 0 or items.max() >= n_items
    ):
        raise InputError(
            f"User ids must be in [0, {n_users}) and item ids in [0, {n_items}); got users in "
            f"[{users.min()}, {users.max()}], items in [{items.min()}, {items.max()}]."
        )
    if not np.isfinite(values).all():
        raise InputError("interactions hold NaN or infinite values; drop or fill them first.")


def _write(
    writer: Any, format: str, users: np.ndarray, items: np.ndarray, values: np.ndarray
) -> None:
    if format == "csv":
        if users.size:
            lines = np.char.add(
                np.char.add(users.astype(np.int64).astype(str), ","),
                items.astype(np.int64).astype(str),
            )
            lines = np.char.add(np.char.add(lines, ","), np.char.mod("%.7g", values))
            writer.write("\n".join(lines.tolist()) + "\n")
        return
    for start in range(0, users.size, RECORDS_PER_EXAMPLE):
        stop = start + RECORDS_PER_EXAMPLE
        example = tf.train.Example(
            features=tf.train.Features(
                feature={
                    "user": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=users[start:stop])
                    ),
                    "item": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=items[start:stop])
                    ),
                    "value": tf.train.Feature(
                        float_list=tf.train.FloatList(value=values[start:stop])
                    ),
                }
            )
        )
        writer.write(example.SerializeToString())


def read_shard_info(folder: str | Path) -> dict[str, Any]:
    """Return the sizes written by :func:`write_interaction_shards` (``n_users``, ``n_items``,
    ``n_interactions``, ``format``, ``n_shards``)."""
    path = Path(folder) / INFO_FILE
    if not path.exists():
        raise InputError(
            f"No {INFO_FILE} in {folder}; write the shards with write_interaction_shards."
        )
    return json.loads(path.read_text())


_TFRECORD_SPEC = {
    "user": tf.io.RaggedFeature(tf.int64),
    "item": tf.io.RaggedFeature(tf.int64),
    "value": tf.io.RaggedFeature(tf.float32),
}
#: TFRecord Examples parsed together into one block of records (one ``parse_example`` call).
EXAMPLES_PER_BLOCK = 16


def _tfrecord_blocks(path: tf.Tensor) -> tf.data.Dataset:
    def parse(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        block = tf.io.parse_example(serialized, _TFRECORD_SPEC)
        return block["user"].flat_values, block["item"].flat_values, block["value"].flat_values

    return tf.data.TFRecordDataset(path).batch(EXAMPLES_PER_BLOCK).map(parse)


def _csv_blocks(path: tf.Tensor) -> tf.data.Dataset:
    records = tf.data.experimental.CsvDataset(path, [tf.int64, tf.int64, tf.float32], header=True)
    return records.batch(RECORDS_PER_EXAMPLE)


def interaction_files_dataset(
    pattern: str | list[str],
    *,
    shuffle_buffer: int = 100_000,
    seed: int | None = 0,
    cycle_length: int = 4,
    blocks: bool = False,
) -> tf.data.Dataset:
    """Return a ``tf.data.Dataset`` of ``(user int64, item int64, value float32)`` records.

    ``pattern``: a glob (``"shards/*.tfrecord"``), a folder written by
    :func:`write_interaction_shards`, or a list of files; ``.tfrecord`` and ``.csv`` files are
    recognised by their extension. Files are read ``cycle_length`` at a time, interleaved, in an
    order shuffled each epoch, and the records are shuffled within consecutive windows of
    ``shuffle_buffer`` records (0 = no shuffling), in a new order each epoch. The same ``seed``
    gives the same order (every worker of a cluster needs that).

    ``blocks=True``: each element is a block of records instead (three 1-D tensors of one
    length, a window of ``shuffle_buffer`` records when shuffling), the same records in the same
    order. :meth:`TensorRec.fit_stream <tensorrec_explore.model.TensorRec.fit_stream>` reads
    blocks several times faster than single records (``tf.data`` pays per element).
    """
    if isinstance(pattern, (str, Path)) and Path(pattern).is_dir():
        info = read_shard_info(pattern)
        pattern = str(Path(pattern) / f"part-*.{info['format']}")
    files = (
        sorted(str(p) for p in tf.io.gfile.glob(pattern))
        if isinstance(pattern, (str, Path))
        else [str(p) for p in pattern]
    )
    if not files:
        raise InputError(f"No interaction files match {pattern!r}.")
    kinds = {Path(f).suffix for f in files}
    if len(kinds) != 1 or not kinds <= {".tfrecord", ".csv"}:
        raise InputError(
            f"Files must all be .tfrecord or all .csv; got extensions {sorted(kinds)}."
        )
    if (
        isinstance(shuffle_buffer, bool)
        or not isinstance(shuffle_buffer, (int, np.integer))
        or shuffle_buffer < 0
    ):
        raise InputError(f"shuffle_buffer must be a non-negative integer, got {shuffle_buffer!r}.")
    reader = _tfrecord_blocks if kinds == {".tfrecord"} else _csv_blocks
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if len(files) > 1:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.interleave(
        reader,
        cycle_length=min(cycle_length, len(files)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if shuffle_buffer:
        windows = dataset.rebatch(int(shuffle_buffer))
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(windows, seeds.batch(2)).map(_shuffled_block)
    return dataset if blocks else dataset.unbatch()


def _shuffled_block(
    block: tuple[tf.Tensor, tf.Tensor, tf.Tensor], seed: tf.Tensor
) -> tuple[tf.Tensor, ...]:
    """Return the three columns of ``block`` in one random order drawn from ``seed``."""
    order = tf.random.experimental.stateless_shuffle(tf.range(tf.size(block[0])), seed)
    return tuple(tf.gather(column, order) for column in block)


# --------------------------------------------------------------------------- training
def _records(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Normalise elements to ``(user int64, item int64, value float32)``: scalar records, or
    blocks of records (three 1-D tensors of one length)."""
    if not isinstance(dataset, tf.data.Dataset):
        raise InputError(
            f"dataset must be a tf.data.Dataset of (user, item, value) records, got "
            f"{type(dataset).__name__}."
        )
    spec = dataset.element_spec
    if isinstance(spec, dict):
        missing = {"user", "item"} - set(spec)
        if missing:
            raise InputError(
                f"dataset dict elements need keys 'user', 'item' (and 'value'); "
                f"missing {sorted(missing)}."
            )
        dataset = dataset.map(
            lambda r: (
                r["user"],
                r["item"],
                r["value"] if "value" in r else tf.ones_like(r["user"], tf.float32),
            )
        )
        spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise InputError(
            f"dataset elements must be (user, item) or (user, item, value); got {spec}."
        )
    if len(spec) == 2:
        dataset = dataset.map(lambda u, i: (u, i, tf.ones_like(u, tf.float32)))
        spec = dataset.element_spec
    ranks = {s.shape.rank for s in spec}
    if not (ranks <= {0, None} or ranks == {1}):
        raise InputError(
            f"dataset elements must be scalar records or 1-D blocks of records (unbatch it "
            f"further); got {spec}."
        )
    if ranks == {1}:
        lengths = {s.shape[0] for s in spec} - {None}
        if len(lengths) > 1:
            raise InputError(
                f"a block's user, item and value tensors differ in length: {sorted(lengths)}."
            )
        dataset = dataset.map(_same_lengths)
    return dataset.map(
        lambda u, i, v: (tf.cast(u, tf.int64), tf.cast(i, tf.int64), tf.cast(v, tf.float32))
    )


def _same_lengths(*block: tf.Tensor) -> tuple[tf.Tensor, ...]:
    """Return ``block``'s columns, checked to have one length."""
    sizes = tf.stack([tf.size(column) for column in block])
    check = tf.debugging.assert_equal(
        sizes,
        tf.fill([len(block)], sizes[0]),
        message="a block's user, item and value tensors differ in length",
    )
    with tf.control_dependencies([check]):
        return tuple(tf.identity(column) for column in block)


def _batches(records: tf.data.Dataset, batch_size: int) -> tf.data.Dataset:
    """Return ``records`` (from :func:`_records`) as batches of ``batch_size`` records; blocks
    are re-cut without visiting their records one by one."""
    if records.element_spec[0].shape.rank == 1:
        return records.rebatch(batch_size)
    return records.batch(batch_size)


def _id_counts(ids: np.ndarray, n: int) -> np.ndarray:
    """Return how often each id of ``range(n)`` occurs in ``ids`` (ids outside it are left to
    the training step's checks, which name them)."""
    return np.bincount(ids[(ids >= 0) & (ids < n)], minlength=n)


def _in_batch_like(
    keys: tf.Tensor, users: tf.Tensor, sampled: tf.Tensor, n_items: int
) -> tf.Tensor:
    """``[p, s]`` True where (user, sampled item) is among the sorted like ``keys``."""
    keys = tf.concat([keys, tf.constant([np.iinfo(np.int64).max], tf.int64)], axis=0)
    wanted = tf.reshape(users[:, None] * n_items + sampled[None, :], [-1])
    found = tf.minimum(tf.searchsorted(keys, wanted), tf.size(keys, out_type=tf.int32) - 1)
    hits = tf.equal(tf.gather(keys, found), wanted)
    return tf.reshape(hits, [tf.size(users), tf.size(sampled)])


def _liked_by_rows(
    users: tf.Tensor, items: tf.Tensor, candidates: tf.Tensor, n_users: int, n_items: int
) -> tf.Tensor:
    """``[p, c]`` True where row ``r``'s user likes ``candidates[c]`` among the batch's likes
    ``(users, items)`` [p]: what :func:`_in_batch_like` says of the batch's own rows, with no
    search (XLA compiles ``searchsorted`` as a comparison of every query with every key).

    Rows of one user share their first row's marks, candidates of one item their first
    column's: one scatter of the likes whose item is a candidate, two gathers.
    """
    p, c = tf.size(users), tf.size(candidates)
    first_row = tf.gather(tf.math.unsorted_segment_min(tf.range(p), users, n_users), users)
    first_column = tf.math.unsorted_segment_min(tf.range(c), candidates, n_items)
    column = tf.gather(first_column, items)  # >= c (int32's max) when not a candidate
    marks = tf.scatter_nd(
        tf.stack([first_row, tf.minimum(column, c)], axis=1), tf.ones([p], tf.int32), [p, c + 1]
    )
    liked = tf.gather(marks[:, :c] > 0, first_row)
    return tf.gather(liked, tf.gather(first_column, candidates), axis=1)


class StreamTrainer:
    """Runs epochs over a stream with the :class:`~tensorrec_explore.objectives.Objective`
    the in-memory :class:`~tensorrec_explore.training.Trainer` uses (losses, L2, step).

    Parameters
    ----------
    model
        The model whose settings (``batch_size``, ``l2``, ``distribute``) apply.
    state
        Its fitted state (:class:`~tensorrec_explore.fitting.FittedState`).
    dataset
        Normalised ``(user, item, value)`` records.
    loss, n_sampled
        The loss to stream with and the items it samples per step (:func:`stream_loss`).
    steps_per_epoch
        Batches per epoch (None = one pass over ``dataset``).
    """

    def __init__(
        self,
        model: Any,
        state: Any,
        dataset: tf.data.Dataset,
        loss: Loss,
        n_sampled: int,
        steps_per_epoch: int | None,
    ) -> None:
        self.loss, self.strategy = loss, model.distribute
        self.n_users, self.n_items = state.n_users, state.n_items
        self.n_sampled = int(min(n_sampled, self.n_items))
        self.steps_per_epoch = steps_per_epoch
        # One counting pass when the loss reads item counts (the sampled softmax's log-Q) or its
        # default L2 reads the likes per user (wmrb, warp, the sampled softmax), as in memory.
        # Likes counted over whole passes also size the batch as in memory (the sampled
        # softmax's grows with the data); a stream cut into steps_per_epoch counts its steps'
        # likes, at the base batch, and no density.
        whole_passes = steps_per_epoch is None
        base_batch = sampled_batch(loss, 0, model.batch_size)
        counts, likes, per_user = self._count(
            loss,
            _batches(dataset, COUNTING_BATCH if whole_passes else base_batch),
            whole_passes and model.l2 is None and l2_reads_density(loss),
        )
        self.batch_size = sampled_batch(loss, likes if whole_passes else 0, model.batch_size)
        self.batches = _batches(dataset, self.batch_size).prefetch(tf.data.AUTOTUNE)
        self.item_counts = tf.constant(counts, tf.float32)
        self.objective = Objective(
            state,
            loss,
            state.l2_for(model, loss, per_user),
            self.n_sampled,
            self.batch_size,
            self.item_counts,
            strategy=self.strategy,
        )
        # Batches of likes only take a step compiled by XLA where that pays, as in memory (one
        # compilation per batch length: the full batches and the last one).
        self.uses_xla = (
            loss.inputs == "sampled"
            and likes >= XLA_MIN_LIKES
            and xla_compiles_towers(
                loss, state.network, state.user_table, state.item_table, self.strategy
            )
        )
        ids = tf.TensorSpec([None], tf.int64)
        values = tf.TensorSpec([None], tf.float32)
        if loss.inputs == "sampled":
            step, signature, sharded = (
                self._stream_sampled_step,
                [ids, ids, values, ids],
                (True, True, True, False, False),
            )
        else:
            step, signature, sharded = (
                self._stream_observed_step,
                [ids, ids, values],
                (True, True, True),
            )
        if self.strategy is not None:
            from .distributed import replicated

            step = replicated(step, self.strategy, sharded)
        if loss.inputs == "sampled":
            step = self._with_like_keys(step)
        if self.uses_xla:
            step = self._liked_batches_compiled(step)
        self._step = tf.function(step, input_signature=signature, autograph=uses_autograph(loss))

    def _count(
        self, loss: Loss, batches: tf.data.Dataset, density: bool
    ) -> tuple[np.ndarray, int, float]:
        """Return the liked count per item (zeros unless the loss reads it), the likes counted
        and the mean likes per user with at least one (0 unless ``density``): one epoch of
        ``batches``, read only when the loss reads item counts or ``density`` is asked for
        (else zeros)."""
        counts = np.zeros(self.n_items, np.float64)
        wants_counts = needs_item_counts(loss)
        if not (wants_counts or density):
            return counts, 0, 0.0
        per_user = np.zeros(self.n_users, np.int64)
        with failures_reported("while counting the stream's likes"):
            for users, items, values in self._epoch_batches(batches):
                liked = values.numpy() > 0
                counts += _id_counts(items.numpy()[liked], self.n_items)
                if density:
                    per_user += _id_counts(users.numpy()[liked], self.n_users)
        likes_per_user = float(per_user.sum() / max(np.count_nonzero(per_user), 1))
        likes = int(counts.sum())
        return (counts if wants_counts else np.zeros_like(counts)), likes, likes_per_user

    def _epoch_batches(
        self, batches: tf.data.Dataset
    ) -> Iterable[tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
        batches = batches if self.steps_per_epoch is None else batches.take(self.steps_per_epoch)
        return iter(batches)

    def run_epoch(self, rng: np.random.Generator) -> tuple[float, float]:
        """Run one pass over the stream; return (mean data loss, mean regularisation loss)."""
        data_total, reg_total, n_steps = tf.constant(0.0), tf.constant(0.0), 0
        for users, items, values in self._epoch_batches(self.batches):
            if self.loss.inputs == "sampled":
                sampled = tf.constant(rng.integers(0, self.n_items, self.n_sampled), tf.int64)
                data, reg = self._step(users, items, values, sampled)
            else:
                data, reg = self._step(users, items, values)
            data_total += data
            reg_total += reg
            n_steps += 1
        if n_steps == 0:
            raise InputError("The dataset yielded no interactions; check the files or the pattern.")
        return float(data_total) / n_steps, float(reg_total) / n_steps

    def _check_ids(self, users: tf.Tensor, items: tf.Tensor, values: tf.Tensor) -> list[Any]:
        return [
            tf.debugging.assert_less(
                users,
                tf.constant(self.n_users, tf.int64),
                message=f"a user id is >= n_users={self.n_users}",
            ),
            tf.debugging.assert_less(
                items,
                tf.constant(self.n_items, tf.int64),
                message=f"an item id is >= n_items={self.n_items}",
            ),
            tf.debugging.assert_non_negative(
                tf.concat([users, items], 0), message="a user or item id is negative"
            ),
            tf.debugging.assert_all_finite(values, "an interaction value is NaN or infinite"),
        ]

    def _with_like_keys(self, step: Any) -> Any:
        """Give ``step`` the sorted (user, item) keys of the *global* batch's likes, so a
        sampled item's validity is the same on one device or split across replicas."""

        def with_keys(
            users: tf.Tensor, items: tf.Tensor, values: tf.Tensor, sampled: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor]:
            liked = values > 0
            keys = tf.sort(
                tf.boolean_mask(users, liked) * self.n_items + tf.boolean_mask(items, liked)
            )
            return step(users, items, values, sampled, keys)

        return with_keys

    def _liked_batches_compiled(self, step: Any) -> Any:
        """Return ``step`` with its batches of likes only (no dislike, the usual implicit
        stream) sent to :meth:`_likes_step` compiled by XLA instead: their shapes are the
        batch's, so the masks, dislike graph and per-op launches of ``step`` fall away."""
        compiled = tf.function(self._liked_only_step, jit_compile=True)

        def choose(
            users: tf.Tensor, items: tf.Tensor, values: tf.Tensor, sampled: tf.Tensor
        ) -> tuple[tf.Tensor, tf.Tensor]:
            def checked() -> tuple[tf.Tensor, tf.Tensor]:  # ``step`` checks its own batches
                with tf.control_dependencies(self._check_ids(users, items, values)):
                    return compiled(users, items, sampled)

            return tf.cond(
                tf.reduce_all(values > 0), checked, lambda: step(users, items, values, sampled)
            )

        return choose

    def _liked_only_step(
        self, users: tf.Tensor, items: tf.Tensor, sampled: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        def is_liked(query: tf.Tensor, candidates: tf.Tensor) -> tf.Tensor:
            # No dislikes here: every query is the batch's own rows (``query`` is ``users``).
            return _liked_by_rows(users, items, candidates, self.n_users, self.n_items)

        return self._likes_step(users, items, sampled, is_liked)

    def _stream_sampled_step(
        self,
        users: tf.Tensor,
        items: tf.Tensor,
        values: tf.Tensor,
        sampled: tf.Tensor,
        keys: tf.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.control_dependencies(self._check_ids(users, items, values)):
            liked, disliked = values > 0, values < 0
        return self._likes_step(
            tf.boolean_mask(users, liked),
            tf.boolean_mask(items, liked),
            sampled,
            lambda query, candidates: _in_batch_like(keys, query, candidates, self.n_items),
            tf.boolean_mask(users, disliked),
            tf.boolean_mask(items, disliked),
        )

    def _likes_step(
        self,
        users: tf.Tensor,
        items: tf.Tensor,
        sampled: tf.Tensor,
        is_liked: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
        disliked_users: tf.Tensor | None = None,
        disliked_items: tf.Tensor | None = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """One optimizer step on liked ``users`` / ``items``, the ``sampled`` items and the
        dislikes (None: no dislike graph). ``is_liked(query_users, candidates)``: bool
        ``[q, c]``, True where the batch likes (user, candidate)."""

        def unliked(users: tf.Tensor, candidates: tf.Tensor) -> tf.Tensor:
            return 1.0 - tf.cast(is_liked(users, candidates), tf.float32)

        valid = candidates_valid(self.loss, items, sampled, lambda: unliked(users, sampled))
        disliked_valid = None if disliked_users is None else unliked(disliked_users, sampled)
        batch_valid = None
        if getattr(self.loss, "in_batch_negatives", False):
            candidates = in_batch_candidates(self.loss, items)
            batch_valid = candidates_valid(
                self.loss, items, candidates, lambda: unliked(users, candidates)
            )
        with tf.GradientTape() as tape:
            data, reg = self.objective.sampled_objective(
                users,
                items,
                tf.ones([tf.size(items)]),
                sampled,
                disliked_users,
                disliked_items,
                valid,
                disliked_valid,
                tf.gather(self.item_counts, items),
                batch_valid,
            )
            total = data + reg
        self.objective.apply(tape, total)
        return data, reg

    def _stream_observed_step(
        self, users: tf.Tensor, items: tf.Tensor, values: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.control_dependencies(self._check_ids(users, items, values)):
            values = tf.identity(values)
        with tf.GradientTape() as tape:
            data, reg = self.objective.observed_objective(
                users, items, values, tf.ones_like(values)
            )
            total = data + reg
        self.objective.apply(tape, total)
        return data, reg


def stream_loss(model: Any, state: Any) -> tuple[Loss, int]:
    """Return the loss to stream with (a dense loss's ``sampled_variant``) and ``n_sampled``,
    for ``model``'s settings and its fitted ``state``."""
    from .defaults import FULL_SOFTMAX_LIMIT, sampled_items
    from .fitting import plugin_name

    wanted = model.n_sampled_items is not None or state.n_items > FULL_SOFTMAX_LIMIT
    loss = in_sampled_form(state.loss, wanted)
    if loss.inputs == "dense":
        raise InputError(
            f"loss={plugin_name(model.loss)!r} scores every item for each user of a batch and "
            f"needs each user's complete row of interactions, which a stream cannot give. "
            + _DENSE_HELP
        )
    embeddings = state.network.embedding_towers
    return loss, sampled_items(loss, state.n_items, model.n_sampled_items, embeddings)


def fit_stream(
    model: Any,
    dataset: tf.data.Dataset,
    n_users: int,
    n_items: int,
    user_features: Any,
    item_features: Any,
    epochs: int | None,
    callbacks: Any,
    verbose: bool,
    validation: Any,
    steps_per_epoch: int | None,
) -> None:
    """Implementation of :meth:`TensorRec.fit_stream <tensorrec_explore.model.TensorRec>` on
    ``model`` as it is (the model starts a fresh fit on an unfitted copy of itself)."""
    import time

    from .fitting import start

    started = time.perf_counter()
    model._check_params()
    for name, value in (("n_users", n_users), ("n_items", n_items)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}.")
    if steps_per_epoch is not None and (
        not isinstance(steps_per_epoch, (int, np.integer)) or steps_per_epoch < 1
    ):
        raise InputError(
            f"steps_per_epoch must be a positive integer or None, got {steps_per_epoch!r}."
        )
    records = _records(dataset)
    empty = sp.csr_matrix((int(n_users), int(n_items)), dtype=np.float32)
    state = start(
        model, empty, user_features, item_features, "fit_stream(partial=True)", "use partial=False"
    )
    key = (id(dataset), id(state.network), steps_per_epoch)
    if state.stream is None or state.stream[0] != key:  # a new trainer traces its step again
        loss, n_sampled = stream_loss(model, state)
        from .distributed import scope

        with scope(model.distribute):
            trainer = StreamTrainer(model, state, records, loss, n_sampled, steps_per_epoch)
        state.stream = (key, trainer, dataset)
    # Nothing of the stream is kept: save/load and fold_in see an empty training matrix.
    state.train_interactions, state.trainer = empty, None
    state.run(model, state.stream[1], started, epochs, callbacks, verbose, validation)
